"""batou 2.7.1 writes the secrets (``batou secrets edit``), then batou and deployd deploy them:
the files each leaves in the work tree must be the same, for every format batou writes.

deployd decrypts with the same key batou used (``--identity`` / ``--gnupg-home``), as a host
would with its SSH host key or keyring.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import make_repo
from tests.support.parity_helpers import batou_venv, deployd_command, differences, snapshot
from tests.support.paths import REPO_ROOT
from tests.support.secrets_helpers import (
    COMPONENT,
    ENVIRONMENT,
    batou_deploy,
    batou_secrets_edit,
    gpg_keyring,
    ssh_key,
    stop_gpg_agent,
)

pytestmark = pytest.mark.slow

SECRETS = """\
[batou]
secret_provider = {provider}
members = {members}

[component:app]
PassWord = s3cret-Value with spaces
port = 8443

[host:localhost]
data-token = tok-4f1a9c
"""
TLS_KEY = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAAS\n-----END KEY-----\n"


@pytest.fixture(scope="module")
def venv() -> Path:
    return batou_venv()


@pytest.fixture
def gnupg(tmp_path: Path) -> Iterator[Path]:
    home = gpg_keyring(tmp_path / "gnupg", "web@hosts.example")
    yield home
    stop_gpg_agent(home)


def _repo(tmp_path: Path) -> Path:
    repo = make_repo(
        tmp_path / "repo",
        {
            "environments/prod/environment.cfg": ENVIRONMENT,
            "components/app/component.py": COMPONENT,
            ".batou.json": '{"migration": {"version": 2400}}\n',
        },
    )
    return repo


def _without_diffs(tree: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    diffs = tree.pop(".batou-diffs/*")
    tree.pop(".batou-diffs", None)
    return tree, diffs


def _deployd(
    repo: Path, root: Path, *extra: str, mode: str = "apply"
) -> subprocess.CompletedProcess[str]:
    command = deployd_command(repo, "prod", root)
    if mode == "check":  # check has no deployment root
        where = command.index("--root")
        command[command.index("apply")] = "check"
        del command[where : where + 2]
    return subprocess.run(
        command + list(extra), cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("provider", ["age", "age-diffable"])
def test_age_secrets_batou_wrote_deploy_the_same(tmp_path: Path, venv: Path, provider: str) -> None:
    key = ssh_key(tmp_path / "keys", "host", "localhost")
    repo = _repo(tmp_path)
    text = SECRETS.format(provider=provider, members=key.public)
    batou_secrets_edit(venv, repo, "prod", text, identity=key.private)
    batou_secrets_edit(venv, repo, "prod", TLS_KEY, "tls.key", identity=key.private)
    suffix = "age-diffable" if provider == "age-diffable" else "age"
    assert (repo / f"environments/prod/secrets.cfg.{suffix}").is_file()
    assert (repo / "environments/prod/secret-tls.key.age").is_file()

    batou = batou_deploy(venv, repo, "prod", identity=key.private)
    assert batou.returncode == 0, batou.stdout + batou.stderr
    done = _deployd(repo, tmp_path / "root", "--identity", str(key.private))
    assert done.returncode == 0, done.stdout + done.stderr
    expected, batou_diffs = _without_diffs(snapshot(repo / "work"))
    actual, our_diffs = _without_diffs(snapshot(tmp_path / "root" / "work"))
    assert differences(expected, actual) == []
    # batou keeps the diffs it hides in .batou-diffs, the secret in clear; deployd keeps none
    assert any(b"s3cret-Value" in diff for _mode, diff in batou_diffs)
    assert our_diffs == []
    assert actual["app/out.txt"][3] == (
        b"password=s3cret-Value with spaces port=8443 plain=from-environment token=tok-4f1a9c\n"
    )
    assert "s3cret-Value" not in done.stdout + done.stderr


def test_gpg_secrets_batou_wrote_deploy_the_same(tmp_path: Path, venv: Path, gnupg: Path) -> None:
    repo = _repo(tmp_path)
    text = SECRETS.format(provider="gpg", members="web@hosts.example")
    batou_secrets_edit(venv, repo, "prod", text, gnupg=gnupg)
    batou_secrets_edit(venv, repo, "prod", TLS_KEY, "tls.key", gnupg=gnupg)
    assert (repo / "environments/prod/secrets.cfg.gpg").is_file()

    batou = batou_deploy(venv, repo, "prod", gnupg=gnupg)
    assert batou.returncode == 0, batou.stdout + batou.stderr
    done = _deployd(repo, tmp_path / "root", "--gnupg-home", str(gnupg))
    assert done.returncode == 0, done.stdout + done.stderr
    expected, _ = _without_diffs(snapshot(repo / "work"))
    actual, our_diffs = _without_diffs(snapshot(tmp_path / "root" / "work"))
    assert differences(expected, actual) == []
    assert our_diffs == []


def test_a_key_in_both_places_is_an_error_in_both(tmp_path: Path, venv: Path) -> None:
    key = ssh_key(tmp_path / "keys", "host", "localhost")
    repo = _repo(tmp_path)
    text = "[batou]\nsecret_provider = age\nmembers = {}\n\n[component:app]\nplain = twice\n"
    batou_secrets_edit(venv, repo, "prod", text.format(key.public), identity=key.private)
    batou_secrets_edit(venv, repo, "prod", TLS_KEY, "tls.key", identity=key.private)

    batou = batou_deploy(venv, repo, "prod", identity=key.private)
    assert batou.returncode != 0
    assert "Attribute override found both in environment and secrets" in batou.stdout
    done = _deployd(repo, tmp_path / "root", "--identity", str(key.private))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "DuplicateOverride: Attribute override found both in environment and secrets" in (
        done.stdout
    )
    assert "location:  environments/prod/secrets.cfg.age:6" in done.stdout
    assert not (tmp_path / "root" / "work" / "app" / "out.txt").exists()


def test_a_host_that_is_not_a_recipient_converges_nothing(tmp_path: Path, venv: Path) -> None:
    key = ssh_key(tmp_path / "keys", "operator")
    other = ssh_key(tmp_path / "keys", "otherhost")
    repo = _repo(tmp_path)
    text = SECRETS.format(provider="age", members=key.public)
    batou_secrets_edit(venv, repo, "prod", text, identity=key.private)
    batou_secrets_edit(venv, repo, "prod", TLS_KEY, "tls.key", identity=key.private)

    done = _deployd(repo, tmp_path / "root", "--identity", str(other.private))
    assert done.returncode == 2, done.stdout + done.stderr
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(other.private) + ".pub"], capture_output=True, text=True
    ).stdout.split()[1]
    assert f"this host is not a recipient of environments/prod/secrets.cfg.age: its key " \
        f"{fingerprint}" in done.stdout  # fmt: skip
    assert "deployd secrets add-host prod localhost --key" in done.stdout
    assert "apply: REFUSED" in done.stdout
    assert not (tmp_path / "root" / "work").exists()

    check = _deployd(repo, tmp_path / "root", "--identity", str(other.private), mode="check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "environments/prod/secrets.cfg.age (age, 1 recipients)" in check.stdout
    assert "hosts that cannot decrypt it: localhost" in check.stdout


def test_the_old_layouts_are_refused_with_what_to_do(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "secrets").mkdir()
    (repo / "secrets" / "prod.cfg").write_bytes(b"\x85\x02gpg")
    done = _deployd(repo, tmp_path / "root")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Secrets in batou's layout before 2.4 (secrets/prod.cfg)" in done.stdout
    assert "batou migrate" in done.stdout
    assert not (tmp_path / "root" / "work" / "app" / "out.txt").exists()


def test_apply_prints_no_secret_value_whatever_the_component_does(
    tmp_path: Path, venv: Path
) -> None:
    key = ssh_key(tmp_path / "keys", "host", "localhost")
    repo = _repo(tmp_path)
    batou_secrets_edit(venv, repo, "prod", SECRETS.format(provider="age", members=key.public),
                       identity=key.private)  # fmt: skip
    batou_secrets_edit(venv, repo, "prod", TLS_KEY, "tls.key", identity=key.private)
    leaky = COMPONENT.replace(
        "    def configure(self):",
        "    def verify(self):\n"
        "        import sys\n"
        "        print('stdout', self.password, self.host.data['token'])\n"
        "        print('stderr', self.environment.secret_files['tls.key'], file=sys.stderr)\n"
        "        raise RuntimeError('failed with ' + self.password)\n\n"
        "    def configure(self):",
    )
    (repo / "components/app/component.py").write_text(leaky)
    done = _deployd(repo, tmp_path / "root", "--identity", str(key.private))
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "RuntimeError: failed with <secret>" in output
    assert "stdout <secret> <secret>" in output
    for secret in ("s3cret-Value", "tok-4f1a9c", "MIIEvQIBADANBgkqhkiG9w0BAQEFAAS"):
        assert secret not in output


def test_check_without_keys_fails_on_a_damaged_secrets_file(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "environments/prod/secrets.cfg.age").write_text("[component:app]\npassword = x\n")
    (repo / "environments/prod/secret-tls.key.age").write_bytes(b"")  # empty: batou reads ""
    no_key = ["--identity", str(tmp_path / "no-such-key")]  # a CI job: no key at all
    done = _deployd(repo, tmp_path / "root", *no_key, mode="check")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "environments/prod/secrets.cfg.age is not an age file" in done.stdout
    assert "check FAILED" in done.stdout


def test_apply_takes_the_keys_from_the_daemons_settings(tmp_path: Path, venv: Path) -> None:
    key = ssh_key(tmp_path / "keys", "host", "localhost")
    repo = _repo(tmp_path)
    batou_secrets_edit(venv, repo, "prod", SECRETS.format(provider="age", members=key.public),
                       identity=key.private)  # fmt: skip
    batou_secrets_edit(venv, repo, "prod", TLS_KEY, "tls.key", identity=key.private)
    settings = tmp_path / "deployd.toml"
    settings.write_text(f'secrets_identities = ["{key.private}"]\n')
    command = deployd_command(repo, "prod", tmp_path / "root")
    env = {**os.environ, "DEPLOYD_CONFIG": str(settings)}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tok-4f1a9c" in (tmp_path / "root/work/app/out.txt").read_text()
