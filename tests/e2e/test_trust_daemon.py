"""The signature policy and the ratchet on a real daemon: real ssh-keygen keys, commits signed
by git, a force-push, a git server reset to an old commit, a state dir deleted between runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon_helpers import Daemon, make_deploy_repo, run_daemon
from tests.support.helpers import git
from tests.support.signing import (
    GpgKey,
    SshKey,
    allowed_signers,
    gpg_key,
    signed_commit,
    ssh_key,
    stop_agents,
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SshKey]:
    base = tmp_path_factory.mktemp("keys")
    return {name: ssh_key(base, name) for name in ("olga", "anton", "mallory")}


def trust_settings(tmp: Path, keys: dict[str, SshKey]) -> dict[str, Any]:
    signers = allowed_signers(
        tmp / "allowed_signers",
        {"olga@example.com": keys["olga"], "anton@example.com": keys["anton"]},
    )
    return {
        "allowed_signers": str(signers),
        "groups": {"ops": ["olga@example.com"], "app": ["anton@example.com"]},
        "paths": {"environments/**": ["ops"]},
    }


def content(daemon: Daemon) -> str:
    return (daemon.root / "work" / "hello" / "hello.txt").read_text()


def converge(daemon: Daemon) -> dict[str, Any]:
    """``deployd converge --wait --json``: the record of the run it started."""
    done = daemon.cli("converge", "--wait", "--json")
    assert done.stdout, done.stderr
    return dict(json.loads(done.stdout))


def metric_lines(daemon: Daemon, name: str) -> list[str]:
    body = daemon.cli("status", "--json")  # keeps the API warm; metrics come from the socket
    assert body.returncode in (0, 1)
    import httpx

    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(transport=transport, base_url="http://deployd") as http:
        text = http.get("/metrics").text
    return [line for line in text.splitlines() if line.startswith(name)]


def test_only_signed_commits_converge(tmp_path: Path, keys: dict[str, SshKey]) -> None:
    repo = make_deploy_repo(tmp_path / "repo")  # an unsigned first commit
    good = signed_commit(repo, keys["olga"], {"components/hello/content.txt": "hello v2\n"})
    settings = {"trust": trust_settings(tmp_path, keys), "watch_repository": False}
    with run_daemon(tmp_path, repo, **settings) as daemon:
        first = daemon.wait_run(outcome="succeeded")  # a fresh host: the signed head alone
        assert first["commit"]["sha"] == good and content(daemon) == "hello v2\n"

        sneaked = signed_commit(repo, None, {"components/hello/content.txt": "hello evil\n"})
        signed_commit(repo, keys["olga"], {"components/hello/content.txt": "hello v3\n"})
        refused = converge(daemon)
        assert (refused["outcome"], refused["reason"]) == ("refused", "unsigned")
        assert refused["refusal"]["commit"] == sneaked  # inside the range, not the head
        assert content(daemon) == "hello v2\n"  # nothing of it ran

        git("reset", "-q", "--hard", good, cwd=repo)  # a force-push of a re-signed history
        change = {"environments/test/environment.cfg": "[environment]\n\n[host:testhost]\n"}
        by_app = signed_commit(repo, keys["anton"], change, "app team edits the environment")
        refused = converge(daemon)
        assert (refused["reason"], refused["refusal"]["commit"]) == ("path-not-allowed", by_app)
        assert refused["refusal"]["path"] == "environments/test/environment.cfg"
        assert refused["refusal"]["signer"] == "anton@example.com"
        assert refused["refusal"]["key"] == keys["anton"].fingerprint
        status = daemon.status()
        assert status["state"]["refusal"]["reason"] == "path-not-allowed"
        text = daemon.cli("status").stdout
        assert "path-not-allowed" in text and "anton@example.com" in text, text
        info = metric_lines(daemon, "deployd_trust_refusal_info")
        assert len(info) == 1 and 'reason="path-not-allowed"' in info[0]
        assert 'signer="anton@example.com"' in info[0] and by_app in info[0]
        counted = metric_lines(daemon, 'deployd_refused_total{reason="path-not-allowed"}')
        assert counted == ['deployd_refused_total{reason="path-not-allowed"} 1.0']
        log = daemon.output()
        assert "signer=anton@example.com" in log and "path=environments/test/environment.cfg" in log

        git("reset", "-q", "--hard", good, cwd=repo)
        forged = signed_commit(repo, keys["mallory"], {"components/hello/content.txt": "m\n"})
        refused = converge(daemon)
        assert (refused["reason"], refused["refusal"]["commit"]) == ("signer-not-allowed", forged)
        assert refused["refusal"]["key"] == keys["mallory"].fingerprint

        trusted = daemon.cli("trust", forged)
        assert trusted.returncode == 0 and "by root (uid 0" in trusted.stdout, trusted.stdout
        run = daemon.wait_run(outcome="succeeded", commit__sha=forged)
        assert run["trusted"]["commit"] == forged and run["trusted"]["uid"] == 0
        assert content(daemon) == "m\n"
        assert "trusted" in daemon.cli("history", run["id"]).stdout
        assert "moved the ratchet to" in daemon.output()
        assert metric_lines(daemon, "deployd_trust_refusal_info") == []


def test_a_fresh_host_takes_only_a_signed_head(tmp_path: Path, keys: dict[str, SshKey]) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    settings = {"trust": trust_settings(tmp_path, keys), "watch_repository": False}
    with run_daemon(tmp_path, repo, **settings) as daemon:
        refused = daemon.wait_run(outcome="refused")
        assert refused["reason"] == "unsigned"
        assert not (daemon.root / "work").exists()


def test_the_ratchet_survives_a_lost_state_dir(tmp_path: Path, keys: dict[str, SshKey]) -> None:
    """The git server is reset to an old commit and the state dir is gone: the copy of the
    ratchet in the deployment root still refuses the old commit."""
    repo = make_deploy_repo(tmp_path / "repo")
    old = git("rev-parse", "HEAD", cwd=repo)
    new = signed_commit(repo, None, {"components/hello/content.txt": "hello v2\n"})
    state = tmp_path / "state"
    with run_daemon(tmp_path, repo, state_dir=state, watch_repository=False) as daemon:
        daemon.wait_run(outcome="succeeded", commit__sha=new)
        copy = json.loads((daemon.root / ".deployd-ratchet.json").read_text())
        assert copy["commit"] == new

        git("reset", "-q", "--hard", old, cwd=repo)  # a force-push back in time
        git("commit", "-q", "--allow-empty", "-m", "rewritten", cwd=repo)
        refused = converge(daemon)
        assert refused["reason"] == "not-fast-forward"

    git("reset", "-q", "--hard", old, cwd=repo)  # the server, reset to the old commit
    git("reflog", "expire", "--expire=now", "--all", cwd=repo)
    git("gc", "-q", "--prune=now", cwd=repo)  # ... which no longer has the newer one
    shutil.rmtree(state)
    with run_daemon(tmp_path, repo, state_dir=state, watch_repository=False) as daemon:
        refused = daemon.wait_run(outcome="refused")
        assert refused["reason"] == "not-fast-forward" and refused["commit"]["sha"] == old
        assert content(daemon) == "hello v2\n"  # the newer deployment stays
        assert "kept in" in daemon.output()
        assert daemon.cli("trust", old).returncode == 0  # the operator's explicit way back
        daemon.wait_run(outcome="succeeded", commit__sha=old)
        copy = json.loads((daemon.root / ".deployd-ratchet.json").read_text())
        assert copy["commit"] == old


@pytest.fixture
def gpg_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GpgKey, GpgKey]]:
    base = tmp_path_factory.mktemp("gpg")  # short: the agent's socket path is limited
    olga = gpg_key(base, "Olga Ops <olga@example.com>")
    eve = gpg_key(base, "Eve <eve@example.com>")
    yield olga, eve
    stop_agents(olga, eve)


def test_openpgp_keys_on_a_real_daemon(tmp_path: Path, gpg_keys: tuple[GpgKey, GpgKey]) -> None:
    """A keyring of real gpg keys: a commit by a key in it converges, one by another is refused
    with that key's id; the daemon's own gpg home starts no agent that outlives it."""
    olga, eve = gpg_keys
    repo = make_deploy_repo(tmp_path / "repo")
    good = signed_commit(repo, olga, {"components/hello/content.txt": "hello gpg\n"})
    trust = {"gpg_keyring": str(olga.public), "groups": {"ops": ["olga@example.com"]}}
    with run_daemon(tmp_path, repo, trust=trust, watch_repository=False) as daemon:
        daemon.wait_run(outcome="succeeded", commit__sha=good)
        bad = signed_commit(repo, eve, {"components/hello/content.txt": "hello eve\n"})
        refused = converge(daemon)
        assert (refused["reason"], refused["refusal"]["commit"]) == ("signer-not-allowed", bad)
        assert eve.fingerprint.endswith(refused["refusal"]["key"])
        assert content(daemon) == "hello gpg\n"
    agents = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(daemon.state_dir) not in agents  # STATE/gnupg: no gpg-agent left behind
