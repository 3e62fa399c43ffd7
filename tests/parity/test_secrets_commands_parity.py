"""``deployd secrets`` and batou 2.7.1's ``batou secrets`` on the same repository, both ways:
what deployd writes batou reads (and deploys), what batou writes deployd edits."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.helpers import make_repo
from tests.support.parity_helpers import batou_venv, deployd_command
from tests.support.paths import REPO_ROOT
from tests.support.secrets_helpers import (
    COMPONENT,
    ENVIRONMENT,
    SshKey,
    batou_decrypt,
    batou_deploy,
    batou_secrets_edit,
    deployd_secrets,
    gpg_keyring,
    ssh_key,
    stop_gpg_agent,
)

pytestmark = pytest.mark.slow

TLS = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----\n"


@pytest.fixture(scope="module")
def venv() -> Path:
    return batou_venv()


@pytest.fixture
def operator(tmp_path: Path) -> SshKey:
    return ssh_key(tmp_path / "keys", "operator", "alice@laptop")


@pytest.fixture
def gnupg(tmp_path: Path) -> Iterator[Path]:
    home = gpg_keyring(tmp_path / "gnupg", "ops@example.com")
    yield home
    stop_gpg_agent(home)


def _repo(tmp_path: Path) -> Path:
    files = {
        "environments/prod/environment.cfg": ENVIRONMENT,
        "components/app/component.py": COMPONENT,
        ".batou.json": '{"migration": {"version": 2400}}\n',
    }
    return make_repo(tmp_path / "repo", files)


def _secrets(provider: str, members: str, password: str = "from-deployd") -> str:
    return (
        f"[batou]\nsecret_provider = {provider}\nmembers = {members}\n\n"
        f"[component:app]\npassword = {password}\nport = 8443\n\n"
        "[host:localhost]\ndata-token = tok-1\n"
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _apply(repo: Path, root: Path, identity: Path) -> subprocess.CompletedProcess[str]:
    command = deployd_command(repo, "prod", root) + ["--identity", str(identity)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("provider", ["age", "age-diffable"])
def test_what_deployd_writes_batou_deploys(
    tmp_path: Path, venv: Path, operator: SshKey, provider: str
) -> None:
    repo = _repo(tmp_path)
    me = ["--identity", str(operator.private)]
    text = _secrets(provider, operator.public)
    assert "wrote environments/prod/secrets.cfg." in _ok(
        deployd_secrets(repo, "edit", "prod", *me, content=text)
    )
    _ok(deployd_secrets(repo, "edit", "prod", "tls.key", *me, content=TLS))
    suffix = "age-diffable" if provider == "age-diffable" else "age"
    config = f"environments/prod/secrets.cfg.{suffix}"
    assert batou_decrypt(venv, repo, config, identity=operator.private) == text
    assert (
        batou_decrypt(venv, repo, "environments/prod/secret-tls.key.age", operator.private) == TLS
    )
    done = batou_deploy(venv, repo, "prod", identity=operator.private)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "work/app/out.txt").read_text() == (
        "password=from-deployd port=8443 plain=from-environment token=tok-1\n"
    )


def test_gpg_written_by_deployd_is_read_by_batou(tmp_path: Path, venv: Path, gnupg: Path) -> None:
    repo = _repo(tmp_path)
    home = ["--gnupg-home", str(gnupg)]
    text = _secrets("gpg", "ops@example.com")
    _ok(deployd_secrets(repo, "edit", "prod", *home, content=text))
    _ok(deployd_secrets(repo, "edit", "prod", "tls.key", *home, content=TLS))
    assert batou_decrypt(venv, repo, "environments/prod/secrets.cfg.gpg", gnupg=gnupg) == text
    done = batou_deploy(venv, repo, "prod", gnupg=gnupg)
    assert done.returncode == 0, done.stdout + done.stderr


def test_what_batou_writes_deployd_edits_value_by_value(
    tmp_path: Path, venv: Path, operator: SshKey
) -> None:
    repo = _repo(tmp_path)
    text = _secrets("age-diffable", operator.public, password="from-batou")
    batou_secrets_edit(venv, repo, "prod", text, identity=operator.private)
    path = repo / "environments/prod/secrets.cfg.age-diffable"
    before = path.read_text().splitlines()

    seen = tmp_path / "seen.txt"
    changed = text.replace("port = 8443", "port = 9000")
    me = ["--identity", str(operator.private)]
    _ok(deployd_secrets(repo, "edit", "prod", *me, content=changed, seen=seen))
    assert seen.read_text() == text  # deployd showed batou's cleartext
    after = path.read_text().splitlines()
    differing = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert [new.split(" = ")[0] for _old, new in differing] == ["port"]  # only that value
    assert batou_decrypt(venv, repo, "environments/prod/secrets.cfg.age-diffable",
                         identity=operator.private) == changed  # fmt: skip


def test_add_host_then_the_host_deploys_and_remove_host_refuses_it(
    tmp_path: Path, venv: Path, operator: SshKey
) -> None:
    repo = _repo(tmp_path)
    host = ssh_key(tmp_path / "keys", "hostkey", "root@web")
    batou_secrets_edit(venv, repo, "prod", _secrets("age", operator.public),
                       identity=operator.private)  # fmt: skip
    batou_secrets_edit(venv, repo, "prod", TLS, "tls.key", identity=operator.private)
    me = ["--identity", str(operator.private)]

    refused = _apply(repo, tmp_path / "root", host.private)
    assert refused.returncode == 2 and "apply: REFUSED" in refused.stdout

    _ok(deployd_secrets(repo, "add-host", "prod", "localhost", "--key", host.public, *me))
    listing = _ok(deployd_secrets(repo, "recipients", "prod"))
    assert "host localhost" in listing and "alice@laptop" in listing
    _ok(_apply(repo, tmp_path / "root", host.private))
    assert "password=from-deployd" in (tmp_path / "root/work/app/out.txt").read_text()
    # batou reads what deployd re-encrypted, with the new member's key too
    done = batou_deploy(venv, repo, "prod", identity=host.private)
    assert done.returncode == 0, done.stdout + done.stderr

    _ok(deployd_secrets(repo, "remove-host", "prod", "localhost", *me))
    again = _apply(repo, tmp_path / "root", host.private)
    assert again.returncode == 2 and "not a recipient" in again.stdout
    _ok(deployd_secrets(repo, "rekey", "prod", *me))
    assert batou_decrypt(venv, repo, "environments/prod/secrets.cfg.age",
                         identity=operator.private).startswith("[batou]")  # fmt: skip


def test_host_scoped_secrets_reach_only_their_host(
    tmp_path: Path, venv: Path, operator: SshKey
) -> None:
    repo = _repo(tmp_path)
    host = ssh_key(tmp_path / "keys", "hostkey")
    me = ["--identity", str(operator.private)]
    shared = _secrets("age", operator.public).replace("port = 8443\n", "")
    _ok(deployd_secrets(repo, "edit", "prod", *me, content=shared))
    _ok(deployd_secrets(repo, "edit", "prod", "tls.key", *me, content=TLS))
    _ok(deployd_secrets(repo, "add-host", "prod", "localhost", "--key", host.public, *me))

    seen = tmp_path / "seen.txt"
    scoped = (
        f"[batou]\nmembers = {host.public.rsplit(' ', 1)[0]} localhost,\n  {operator.public}\n\n"
        "[component:app]\nport = 7001\n"
    )
    out = _ok(deployd_secrets(repo, "edit", "prod", "--host", "localhost", *me,
                              content=scoped, seen=seen))  # fmt: skip
    assert "wrote environments/prod/secrets-localhost.cfg.age" in out
    assert "[host:localhost]" in seen.read_text()  # the template names the host
    listing = _ok(deployd_secrets(repo, "recipients", "prod"))
    assert "secrets-localhost.cfg.age (age, scoped to host localhost, 2 recipients)" in listing
    _ok(_apply(repo, tmp_path / "root", host.private))
    assert "port=7001" in (tmp_path / "root/work/app/out.txt").read_text()
    # batou does not know host-scoped files and deploys the shared secrets unchanged
    done = batou_deploy(venv, repo, "prod", identity=operator.private)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "port=1" in (repo / "work/app/out.txt").read_text()


def test_a_failed_edit_writes_nothing_and_leaves_nothing(tmp_path: Path, operator: SshKey) -> None:
    repo = _repo(tmp_path)
    me = ["--identity", str(operator.private)]
    _ok(deployd_secrets(repo, "edit", "prod", *me, content=_secrets("age", operator.public)))
    path = repo / "environments/prod/secrets.cfg.age"
    before = path.read_bytes()
    broken = _secrets("age", operator.public) + "this line is not ini\n"
    shown_at = tmp_path / "shown-at"
    done = deployd_secrets(repo, "edit", "prod", *me, content=broken, shown_at=shown_at)
    assert done.returncode == 2
    assert "secrets.cfg.age:" in done.stderr and "not ini" not in done.stderr
    assert path.read_bytes() == before
    # the cleartext the editor was given is gone with its private folder (this edit's own: other
    # edits on the machine may have theirs in /dev/shm at the same time)
    cleartext = Path(shown_at.read_text())
    assert cleartext.parent.name.startswith("deployd-secrets-")
    assert not cleartext.exists() and not cleartext.parent.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "age_keys.txt", "environment.cfg", "secrets.cfg.age",
    ]  # fmt: skip


def test_a_failure_half_way_writes_no_file_at_all(tmp_path: Path, operator: SshKey) -> None:
    """Switching to gpg with SSH members fails at the first file: none was rewritten."""
    repo = _repo(tmp_path)
    me = ["--identity", str(operator.private)]
    _ok(deployd_secrets(repo, "edit", "prod", *me, content=_secrets("age", operator.public)))
    _ok(deployd_secrets(repo, "edit", "prod", "tls.key", *me, content=TLS))
    folder = repo / "environments/prod"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    keyring = tmp_path / "empty-gnupg"  # never the user's own ~/.gnupg
    keyring.mkdir(mode=0o700)
    gpg = ["--gnupg-home", str(keyring)]
    try:
        done = deployd_secrets(
            repo, "edit", "prod", *me, *gpg, content=_secrets("gpg", operator.public)
        )
    finally:
        stop_gpg_agent(keyring)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "gpg cannot encrypt" in done.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
