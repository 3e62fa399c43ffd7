"""docs/trust.md: its settings parse, its git set-up signs commits that deployd accepts, its
component compiles, and every refusal reason is explained."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

from daemon.config.settings import parse_settings
from daemon.git import check_commits
from daemon.records import SIGNATURE_REASONS
from tests.support.helpers import GIT_ENV, make_repo
from tests.support.paths import REPO_ROOT
from tests.support.signing import ssh_key

DOC = REPO_ROOT / "docs" / "trust.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def test_every_refusal_reason_is_explained() -> None:
    text = DOC.read_text()
    for reason in SIGNATURE_REASONS:
        assert f"| `{reason}` |" in text, reason


def test_the_settings_example_parses(tmp_path: Path) -> None:
    example = next(b for b in blocks("toml") if "[trust]" in b)
    signers = tmp_path / "allowed_signers"
    signers.write_text("")
    text = 'repository = "/srv/repo"\nenvironment = "production"\n' + example.replace(
        "/etc/deployd/allowed_signers", str(signers)
    )
    policy = parse_settings(text, DOC).trust
    assert policy.enabled and policy.verify == "every-commit"
    assert policy.rules_for(".deployd/allowed_signers")[0].groups == ("ops",)
    assert [r.groups for r in policy.rules_for("components/app/x.py")] == [("ops", "app")]


def test_the_component_example_compiles() -> None:
    ast.parse(next(b for b in blocks("python") if "allowed_signers" in b))


def test_the_team_set_up_signs_commits_deployd_accepts(tmp_path: Path) -> None:
    """The documented git configuration, the documented allowed-signers line: accepted."""
    home = tmp_path / "home"
    key = ssh_key(home / ".ssh", "deploy_signing")
    env = {**os.environ, **GIT_ENV, "HOME": str(home)}
    set_up = blocks("sh")[0]
    for line in set_up.splitlines():
        command = line.split("#")[0].strip()
        if command.startswith("git config"):
            subprocess.run(command, shell=True, env=env, check=True)
    repo = make_repo(tmp_path / "repo", {"README": "x\n"})
    (repo / "a").write_text("1\n")
    commands = (["git", "add", "a"], ["git", "commit", "-q", "-m", "signed by config"])
    for command in commands:  # no -S: commit.gpgsign does it
        subprocess.run(command, cwd=repo, env=env, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, env=env, capture_output=True, text=True
    ).stdout.strip()
    line = next(x for x in blocks("text")[0].splitlines() if x.startswith("olga@"))
    signers = tmp_path / "allowed_signers"
    signers.write_text(line.rsplit(" ssh-ed25519 ", 1)[0] + " " + key.line + "\n")
    text = f'repository = "/r"\nenvironment = "e"\n[trust]\nallowed_signers = "{signers}"\n'
    policy = parse_settings(text, DOC).trust
    assert check_commits(policy, repo / ".git", tmp_path, None, head) is None
