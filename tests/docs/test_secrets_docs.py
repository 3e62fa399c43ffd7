"""docs/secrets.md: the commands of its `deployd secrets` section run, in order, on a new
repository (an operator key in ``~/.ssh``, an editor that writes what a person would), and
leave what the page says."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import make_repo
from tests.support.paths import REPO_ROOT
from tests.support.secrets_helpers import ssh_key

pytestmark = pytest.mark.slow

PAGE = REPO_ROOT / "docs" / "secrets.md"
EDITOR = """#!/bin/sh
case "$(basename "$1")" in
  secrets.cfg)
    printf '[batou]\\nsecret_provider = age\\nmembers = %s\\n\\n' \\
      "$(cat "$HOME/.ssh/id_ed25519.pub")" > "$1"
    printf '[component:app]\\npassword = p4ss\\n' >> "$1" ;;
  tls.key) printf 'KEY MATERIAL\\n' > "$1" ;;
  secrets-web01.cfg) printf '[component:app]\\nport = 8443\\n' >> "$1" ;;
esac
"""
COMPONENT = """\
from batou.component import Attribute, Component


class App(Component):
    password = Attribute(str, None)
    port = Attribute(int, 80)
"""


def _commands() -> list[str]:
    section = PAGE.read_text().split("## Set-up in a repository", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_every_secrets_command_of_the_page_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ssh_key(home / ".ssh", "id_ed25519", "alice@laptop")
    web01 = ssh_key(tmp_path / "hostkeys", "web01")
    web02 = ssh_key(tmp_path / "hostkeys", "web02")
    repo = make_repo(
        tmp_path / "repo",
        {
            "environments/production/environment.cfg": "[hosts]\nweb01 = app\nweb02 = app\n",
            "components/app/component.py": COMPONENT,
        },
    )
    (repo / "web01.pub").write_text(web01.public + "\n")
    (repo / "web02.keys").write_text(f"# web02 SSH-2.0\nweb02 {web02.public.rsplit(' ', 1)[0]}\n")
    editor = tmp_path / "editor.sh"
    editor.write_text(EDITOR)
    editor.chmod(0o755)
    env = {
        **os.environ,
        "HOME": str(home),
        "EDITOR": str(editor),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    env.pop("BATOU_AGE_IDENTITIES", None)
    env.pop("VISUAL", None)
    outputs = {}
    for command in _commands():
        assert shlex.split(command)[0] == "deployd"
        done = subprocess.run(
            ["bash", "-c", command + " --state-dir ../state" * command.startswith("deployd check")],
            cwd=repo, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}:\n{done.stdout}{done.stderr}"
        outputs[command] = done.stdout
    folder = repo / "environments/production"
    assert sorted(p.name for p in folder.iterdir()) == [
        "age_keys.txt", "environment.cfg", "secret-tls.key.age", "secrets-web01.cfg.age",
        "secrets.cfg.age",
    ]  # fmt: skip
    listing = outputs["deployd secrets recipients production"]
    assert "host web01" in listing and "host web02" in listing and "alice@laptop" in listing
    check = outputs["deployd check . -e production --all-hosts"]
    assert "hosts that cannot decrypt it: web02" in check  # removed, after the rekey
    assert "check passed" in check
