"""Immediate triggers against a real daemon: webhook, bundle inbox, collapsing, the run lock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from pathlib import Path

import httpx
import pytest

from daemon.state.locks import host_lock
from daemon.triggers.webhook import RateLimiter, verify_signature
from tests.support.daemon_helpers import make_deploy_repo, push_content, run_daemon
from tests.support.git_servers import free_port
from tests.support.helpers import git, wait_for


def _sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("headers", "valid"),
    [
        ({"X-Hub-Signature-256": "sha256=" + _sign(b"k", b"{}")}, True),
        ({"X-Hub-Signature-256": "sha256=" + _sign(b"other", b"{}")}, False),
        ({"X-Gitea-Signature": _sign(b"k", b"{}")}, True),
        ({"X-Gitea-Signature": _sign(b"k", b"{ }")}, False),
        ({"X-Gitlab-Token": "k"}, True),
        ({"X-Gitlab-Token": "kk"}, False),
        ({}, False),
        # whatever bytes a client sends: refused, never a TypeError from compare_digest
        ({"X-Hub-Signature-256": "sha256=\xe9"}, False),
        ({"X-Gitea-Signature": "\xe9\udcff"}, False),
        ({"X-Gitlab-Token": "\u20ac"}, False),
    ],
)
def test_webhook_signature_forms(headers: dict[str, str], valid: bool) -> None:
    assert verify_signature(b"k", b"{}", headers) is valid


def _standard(key: bytes, msg_id: str, stamp: int, body: bytes) -> dict[str, str]:
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": f"v0,xx v1,{signature}",
    }


def test_gitlab_signing_token_standard_webhooks() -> None:
    key = b"0123456789abcdef0123456789abcdef"
    secret = b"whsec_" + base64.b64encode(key)
    now = int(time.time())
    assert verify_signature(secret, b"{}", _standard(key, "msg_1", now, b"{}"))
    assert verify_signature(b"plain", b"{}", _standard(b"plain", "msg_1", now, b"{}"))
    assert not verify_signature(secret, b"{ }", _standard(key, "msg_1", now, b"{}"))
    odd = {**_standard(key, "msg_1", now, b"{}"), "webhook-signature": "v1,\xe9"}
    assert not verify_signature(secret, b"{}", odd)
    assert not verify_signature(secret, b"{}", _standard(key, "msg_1", now - 3600, b"{}"))
    assert not verify_signature(secret, b"{}", _standard(b"other", "msg_1", now, b"{}"))


def test_rate_limiter_allows_a_burst_then_refuses() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]


def test_webhook_means_poll_now(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    secret = tmp_path / "hook.secret"
    secret.write_text("hook-secret\n")
    port = free_port()
    hook = {"enabled": True, "port": port, "secret_file": str(secret), "rate_limit": 3}
    with run_daemon(tmp_path, repo, watch_repository=False, webhook=hook) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        sha = push_content(repo, "version 2")
        url = f"http://127.0.0.1:{port}/hook"
        body = b'{"ref": "refs/heads/evil", "after": "0000"}'
        bad = httpx.post(url, content=body, headers={"X-Hub-Signature-256": "sha256=00"})
        assert bad.status_code == 401
        good_headers = {"X-Hub-Signature-256": "sha256=" + _sign(b"hook-secret", body)}
        assert httpx.post(url, content=body, headers=good_headers).status_code == 202
        run = daemon.wait_run(trigger="webhook")
        assert run["outcome"] == "succeeded" and run["commit"]["sha"] == sha
        junk = {"X-Hub-Signature-256": "sha256=00"}
        codes = [httpx.post(url, content=body, headers=junk).status_code for _ in range(3)]
        assert codes == [401, 401, 429], "bad signatures are limited per address"
        valid = [httpx.post(url, content=body, headers=good_headers).status_code for _ in range(3)]
        assert valid == [202, 202, 202], "junk never locks out a valid webhook"
        chunked = httpx.post(url, content=iter([body]), headers=good_headers)
        assert chunked.status_code == 400 and "Content-Length" in chunked.text
        get = httpx.get(url)
        assert get.status_code == 405 and get.headers["allow"] == "POST"
        assert get.text == "only POST is served here\n"


def test_bundles_from_the_inbox(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    unreachable = f"git://127.0.0.1:{free_port()}/deploy"
    with run_daemon(tmp_path, unreachable, poll_interval=5) as daemon:
        inbox = daemon.state_dir / "inbox"
        wait_for(lambda: daemon.status()["state"]["last_fetch_error"])
        nothing = daemon.cli("converge", "--wait")
        assert nothing.returncode == 1 and "no upstream yet" in nothing.stderr
        assert "Connection refused" in nothing.stderr
        staged = tmp_path / "first.bundle"
        git("bundle", "create", str(staged), "main", cwd=repo)
        os.replace(staged, inbox / "first.bundle")  # drop it atomically
        run = daemon.wait_run(trigger="inbox")
        assert run["outcome"] == "succeeded", run
        assert run["commit"]["sha"] == git("rev-parse", "HEAD", cwd=repo)
        assert list((inbox / "processed").glob("*first.bundle"))
        assert not (inbox / "first.bundle").exists()

        (tmp_path / "junk.bundle").write_bytes(b"not a bundle at all")
        os.replace(tmp_path / "junk.bundle", inbox / "junk.bundle")
        refused = daemon.wait_run(reason="bad-bundle")
        assert refused["outcome"] == "refused"
        assert list((inbox / "failed").glob("*junk.bundle"))

        git("reset", "-q", "--hard", "HEAD", cwd=repo)
        git("commit", "-q", "--amend", "-m", "rewritten", cwd=repo)
        git("bundle", "create", str(staged), "main", cwd=repo)
        os.replace(staged, inbox / "second.bundle")
        again = daemon.wait_run(reason="not-fast-forward")
        assert again["trigger"] == "inbox", "the same ratchet applies to bundles"


def test_triggers_collapse_into_one_run_for_the_newest_commit(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    block = tmp_path / "block"
    env = {"DEPLOYD_TEST_BLOCK": str(block)}
    with run_daemon(tmp_path, repo, env=env, watch_repository=False, poll_interval=0.2) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        block.touch()
        daemon.cli("converge", check=True)
        wait_for(lambda: daemon.status()["live"]["running_component"] == "hello", timeout=60)
        for number in range(3):
            newest = push_content(repo, f"v{number}")
            daemon.cli("converge", check=True)
        wait_for(lambda: daemon.status()["state"]["upstream"]["sha"] == newest)
        assert daemon.status()["live"]["pending_trigger"]
        block.unlink()
        last = daemon.wait_run(commit__sha=newest, outcome="succeeded")
        runs = daemon.runs()
        assert len(runs) == 3, [(r["trigger"], r["outcome"]) for r in runs]
        assert runs[0]["id"] == last["id"]
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hello v2\n"


def test_a_manual_apply_holding_the_lock_is_named(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    state_dir = tmp_path / "state"
    with host_lock(state_dir, who="deployd apply (by test)"):
        with run_daemon(tmp_path, repo, state_dir=state_dir) as daemon:
            skipped = daemon.wait_run(trigger="startup")
            assert skipped["outcome"] == "skipped" and skipped["reason"] == "locked"
            assert "deployd apply (by test)" in skipped["errors"][0]["message"]
            assert f"pid {os.getpid()}" in skipped["errors"][0]["message"]
    with run_daemon(tmp_path, repo, state_dir=state_dir) as daemon:
        done = daemon.cli("converge", "--wait")
        assert done.returncode == 0, done.stderr


def test_a_newer_commit_cancels_between_components(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo", components=("first", "second"))
    block = tmp_path / "block"
    env = {"DEPLOYD_TEST_BLOCK": str(block)}
    with run_daemon(tmp_path, repo, env=env, watch_repository=False, poll_interval=0.2) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        block.touch()
        old = push_content(repo, "v2", components=("first", "second"))
        wait_for(lambda: daemon.status()["live"]["running_component"] == "first", timeout=60)
        newer = push_content(repo, "v3", components=("first", "second"))
        wait_for(lambda: "stopping after the current component" in daemon.output())
        block.unlink()  # the log line comes after the worker was signalled
        cancelled = daemon.wait_run(commit__sha=old)
        assert cancelled["outcome"] == "cancelled", cancelled
        done = [c["component"] for c in cancelled["components"] if c["outcome"] != "skipped"]
        assert done == ["first"], "the running component finished, the next did not start"
        daemon.wait_run(commit__sha=newer, outcome="succeeded")
        assert (daemon.root / "work/second/second.txt").read_text() == "second v3\n"


def test_a_push_into_a_local_bare_repository(tmp_path: Path) -> None:
    work = make_deploy_repo(tmp_path / "work")
    bare = tmp_path / "deploy.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=work)
    with run_daemon(tmp_path, bare, poll_interval=300) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        sha = push_content(work, "pushed")
        git("push", "-q", "origin", "main", cwd=work)
        run = daemon.wait_run(trigger="push", commit__sha=sha)
        assert run["outcome"] == "succeeded"
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hello pushed\n"


def test_a_push_seen_by_the_watcher_and_a_poll_converges_once(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    block = tmp_path / "block"
    env = {"DEPLOYD_TEST_BLOCK": str(block)}
    with run_daemon(tmp_path, repo, env=env, poll_interval=0.2) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        block.touch()  # hold the run, so the watcher's trigger arrives while it is in flight
        sha = push_content(repo, "once")
        wait_for(lambda: daemon.status()["live"]["running_component"] == "hello", timeout=60)
        wait_for(lambda: "triggers: push to" in daemon.output())
        block.unlink()
        first = daemon.wait_run(commit__sha=sha, outcome="succeeded")
        # two more polls after the run, and nothing pending or running
        wait_for(lambda: daemon.status()["state"]["last_fetch_at"] > first["finished_at"] + 0.3)
        status = daemon.status()
        assert status["live"]["pending_trigger"] is None and not status["live"]["running_run_id"]
        assert [r["commit"]["sha"] for r in daemon.runs()].count(sha) == 1
        daemon.cli("converge", "--wait", check=True)  # an explicit converge still runs
        assert [r["commit"]["sha"] for r in daemon.runs()].count(sha) == 2


def test_a_bad_bundle_during_a_run_leaves_the_run_alone(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    block = tmp_path / "block"
    block.touch()
    with run_daemon(tmp_path, repo, env={"DEPLOYD_TEST_BLOCK": str(block)}) as daemon:
        running = wait_for(lambda: daemon.status()["live"]["running_run_id"])
        (tmp_path / "junk.bundle").write_bytes(b"junk")
        os.replace(tmp_path / "junk.bundle", daemon.state_dir / "inbox" / "junk.bundle")
        daemon.wait_run(reason="bad-bundle")
        status = daemon.status()
        assert status["live"]["running_run_id"] == running
        assert status["live"]["pending_trigger"] is None, "a bad bundle triggers nothing"
        block.unlink()
        assert daemon.wait_run(id=running)["outcome"] == "succeeded"
        assert len(daemon.runs()) == 2


def test_malformed_webhook_requests_get_clear_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad or missing Content-Length is a 400 (never a traceback in the log, never a thread
    stuck reading), a stalled client is dropped after the handler's timeout."""
    import queue
    import socket

    from daemon.config.settings import WebhookSettings
    from daemon.triggers.webhook import WebhookServer, _Handler

    secret = tmp_path / "secret"
    secret.write_text("k")
    port = free_port()
    settings = WebhookSettings(enabled=True, port=port, secret_file=str(secret))
    triggers: queue.Queue[object] = queue.Queue()
    server = WebhookServer(settings, triggers).start()
    try:
        for length in ("abc", "-5"):
            with socket.create_connection(("127.0.0.1", port)) as raw:
                raw.sendall(f"POST /hook HTTP/1.1\r\nContent-Length: {length}\r\n\r\n".encode())
                assert raw.recv(100).startswith(b"HTTP/1.0 400"), length
        body = b"{}"
        signed = {"X-Hub-Signature-256": "sha256=" + _sign(b"k", body)}
        answer = httpx.post(f"http://127.0.0.1:{port}/hook", content=body, headers=signed)
        assert answer.status_code == 202 and triggers.get_nowait()
    finally:
        server.stop()
    assert "Traceback" not in caplog.text
    assert 0 < _Handler.timeout <= 30


def test_a_bundle_ahead_of_a_reachable_remote_converges(tmp_path: Path) -> None:
    """The remote is reachable but behind the bundle: its older head must not take the bundle's
    newer one away (it did: the inbox run saw "nothing to do")."""
    repo = make_deploy_repo(tmp_path / "repo")
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
    git("config", "user.email", "t@example.org", cwd=clone)
    git("config", "user.name", "t", cwd=clone)
    ahead = push_content(clone, "from the bundle")
    with run_daemon(tmp_path, repo, poll_interval=0.3, watch_repository=False) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        staged = tmp_path / "ahead.bundle"
        git("bundle", "create", str(staged), "main", cwd=clone)
        os.replace(staged, daemon.state_dir / "inbox" / "ahead.bundle")
        run = daemon.wait_run(commit__sha=ahead)
        assert run["outcome"] == "succeeded" and run["trigger"] == "inbox", run
        before = daemon.status()["state"]["last_fetch_at"]
        wait_for(lambda: daemon.status()["state"]["last_fetch_at"] > before)
        assert daemon.status()["state"]["last_good"]["sha"] == ahead
        assert len(daemon.runs()) == 2, "the behind remote does not start another run"
