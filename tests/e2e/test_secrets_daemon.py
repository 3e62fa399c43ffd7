"""The daemon with batou's encrypted secrets: decrypted with the host's own key, refused when the
host is not a recipient, and never leaked.

The secrets are encrypted with pyrage (what age and batou write: the parity tests show batou's
own files decrypt the same). The leak test converges a component that logs, prints, diffs and
finally raises with the secret values, then searches everything the daemon keeps or serves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyrage
import pytest
from pyrage import ssh

from tests.support.daemon_helpers import HOST, Daemon, run_daemon
from tests.support.git_servers import free_port
from tests.support.helpers import commit, make_repo
from tests.support.metrics_store import parse, value
from tests.support.secrets_helpers import SshKey, ssh_key

pytestmark = pytest.mark.slow

PASSWORD = "pw-7Hq2x9LkVv"
TOKEN = "tok-Zr81QmWq"
KEY_LINE = "filesecret-K2v8Jd0p"
SECRET_VALUES = (PASSWORD, TOKEN, KEY_LINE)

COMPONENT = """\
from batou.component import Attribute, Component
from batou.lib.file import File


class App(Component):
    password = Attribute(str, None)

    def configure(self):
        token = self.host.data["token"]
        self += File("app.conf", content="password={}\\ntoken={}\\nrevision={}\\n".format(
            self.password, token, REVISION))
        self += File("key.pem", content=self.environment.secret_files["key.pem"])
        self.log("configured with %s and %s", self.password, token)

    def verify(self):
        print("verify sees", self.password, self.host.data["token"])
        if FAIL:
            raise ValueError("cannot log in with " + self.password)
"""


def _component(revision: int, fail: bool = False) -> str:
    return f"REVISION = {revision}\nFAIL = {fail}\n" + COMPONENT


def _encrypt(text: str, *keys: SshKey) -> bytes:
    return bytes(pyrage.encrypt(text.encode(), [ssh.Recipient.from_str(k.public) for k in keys]))


def _repo(path: Path, owner: SshKey) -> Path:
    secrets = (
        f"[batou]\nsecret_provider = age\nmembers = {owner.public}\n\n"
        f"[component:app]\npassword = {PASSWORD}\n\n[host:{HOST}]\ndata-token = {TOKEN}\n"
    )
    repo = make_repo(
        path,
        {
            "environments/test/environment.cfg": f"[host:{HOST}]\ncomponents = app\n",
            "components/app/component.py": _component(1),
        },
    )
    (repo / "environments/test/secrets.cfg.age").write_bytes(_encrypt(secrets, owner))
    (repo / "environments/test/secret-key.pem.age").write_bytes(
        _encrypt(f"-----BEGIN-----\n{KEY_LINE}\n-----END-----\n", owner)
    )
    commit(repo, {}, message="secrets")
    return repo


@pytest.fixture
def keys(tmp_path: Path) -> tuple[SshKey, SshKey]:
    return ssh_key(tmp_path / "keys", "host", HOST), ssh_key(tmp_path / "keys", "stranger")


def test_a_host_that_is_not_a_recipient_is_refused(
    tmp_path: Path, keys: tuple[SshKey, SshKey]
) -> None:
    host_key, stranger = keys
    repo = _repo(tmp_path / "repo", host_key)
    listen = f"127.0.0.1:{free_port()}"
    with run_daemon(
        tmp_path / "daemon",
        repo,
        metrics_listen=listen,
        secrets_identities=[str(stranger.private)],
    ) as daemon:
        run = daemon.wait_run(outcome="refused", timeout=60)
        assert run["reason"] == "secrets"
        (error,) = [e for e in run["errors"] if e["file"].endswith("secrets.cfg.age")]
        assert error["kind"] == "NotARecipient"
        assert str(stranger.private) in error["message"]
        assert (
            f'deployd secrets add-host test {HOST} --key "{stranger.public.rsplit(" ", 1)[0]}"'
            in (error["hint"])
        )
        assert not (daemon.root / "work").exists()  # nothing converged
        status = daemon.status()
        assert status["last_run"]["outcome"] == "refused"
        assert status["last_run"]["reason"] == "secrets"
        assert "secrets" in daemon.cli("history").stdout
        samples = parse(httpx.get(f"http://{listen}/metrics", timeout=10).text)
        assert value(samples, "deployd_refused_total", reason="secrets") >= 1


@pytest.fixture
def leaky_daemon(tmp_path: Path, keys: tuple[SshKey, SshKey]) -> Iterator[tuple[Daemon, str]]:
    host_key, _ = keys
    repo = _repo(tmp_path / "repo", host_key)
    listen = f"127.0.0.1:{free_port()}"
    with run_daemon(
        tmp_path / "daemon",
        repo,
        metrics_listen=listen,
        poll_interval=0.3,
        secrets_identities=[str(host_key.private)],
    ) as daemon:
        daemon.wait_run(outcome="succeeded", timeout=60)
        # a diff with the secrets in the old and the new content, then a failure quoting one
        commit(repo, {"components/app/component.py": _component(2)})
        daemon.wait_run(outcome="succeeded", timeout=60, commit__sha=_head(repo))
        commit(repo, {"components/app/component.py": _component(3, fail=True)})
        daemon.wait_run(outcome="failed", timeout=60, commit__sha=_head(repo))
        yield daemon, listen


def _head(repo: Path) -> str:
    from tests.support.helpers import git

    return git("rev-parse", "HEAD", cwd=repo).strip()


def test_no_secret_value_is_kept_or_served(leaky_daemon: tuple[Daemon, str]) -> None:
    daemon, listen = leaky_daemon
    converged = (daemon.root / "work" / "app" / "app.conf").read_text()
    assert PASSWORD in converged and TOKEN in converged  # what components write on purpose
    assert KEY_LINE in (daemon.root / "work" / "app" / "key.pem").read_text()

    places: dict[str, str] = {"daemon log": daemon.output()}
    for path in sorted(daemon.state_dir.rglob("*")):
        if path.is_file() and not path.is_symlink():
            places[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    for path in sorted((daemon.root / "work").rglob("*")):
        if ".batou-diffs" in path.parts and path.is_file():
            places[str(path)] = path.read_text(errors="replace")
    places["status"] = daemon.cli("status", "--json").stdout + daemon.cli("status").stdout
    history = json.loads(daemon.cli("history", "--json", "-n", "100").stdout)["runs"]
    places["history"] = json.dumps(history) + daemon.cli("history").stdout
    for run in history:
        places[f"run {run['id']}"] = daemon.cli("history", run["id"]).stdout
    places["metrics"] = httpx.get(f"http://{listen}/metrics", timeout=10).text

    failed = [run for run in history if run["outcome"] == "failed"]
    assert failed and "cannot log in with <secret>" in json.dumps(failed[0]["errors"])
    assert "verify sees <secret> <secret>" in daemon.output()  # stderr is logged, redacted
    assert len(places) > 10
    leaks = [
        f"{secret} in {where}"
        for where, text in places.items()
        for secret in SECRET_VALUES
        if secret in text
    ]
    assert leaks == []
