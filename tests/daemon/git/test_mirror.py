"""The git side against real servers on 127.0.0.1: file://, git://, smart HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.git.mirror import FetchError, Mirror, decide
from daemon.git.urls import redact, split_credentials
from daemon.loop.polling import poll
from daemon.records.model import HostState
from tests.support.daemon_helpers import make_deploy_repo, push_content, run_daemon
from tests.support.git_servers import GitDaemon, SmartHttp
from tests.support.helpers import git, wait_for


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    base = tmp_path_factory.mktemp("served")
    repo = make_deploy_repo(base / "deploy")
    daemon = GitDaemon(base).start()
    http = SmartHttp(base).start()
    secret_http = SmartHttp(base, auth=("deploy", "s3cr3t-token")).start()
    yield {"base": base, "repo": repo, "git": daemon, "http": http, "auth": secret_http}
    daemon.stop()
    http.stop()
    secret_http.stop()


def _urls(served: dict[str, object]) -> dict[str, str]:
    repo = served["repo"]
    return {
        "file": f"file://{repo}",
        "path": str(repo),
        "git": served["git"].url("deploy"),  # type: ignore[attr-defined]
        "http": served["http"].url("deploy"),  # type: ignore[attr-defined]
        "http-auth": served["auth"].url("deploy", "deploy:s3cr3t-token"),  # type: ignore[attr-defined]
    }


@pytest.mark.parametrize("kind", ["file", "path", "git", "http", "http-auth"])
def test_poll_fetches_only_when_the_head_moved(
    tmp_path: Path, served: dict[str, object], kind: str
) -> None:
    repo = served["repo"]
    assert isinstance(repo, Path)
    mirror = Mirror(tmp_path / "repo.git", _urls(served)[kind], "main")
    state, moved, error = poll(HostState(), mirror)
    assert error is None and moved
    assert state.upstream and state.upstream.sha == git("rev-parse", "HEAD", cwd=repo)
    state, moved, error = poll(state, mirror)
    assert error is None and not moved
    assert state.counters["fetch_total"] == {"outcome=fetched": 1, "outcome=unchanged": 1}
    assert mirror.repo.git.config("core.hooksPath") == "/dev/null"


def test_the_ratchet_takes_fast_forwards_only(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "src")
    mirror = Mirror(tmp_path / "repo.git", str(repo), "main")
    first = mirror.fetch()
    assert decide(mirror, None, first).target == first
    push_content(repo, "v2")
    second = mirror.fetch()
    assert decide(mirror, first, second).advanced
    assert decide(mirror, second, first).target == second, "a remote behind: keep the ratchet"
    mirror.set_ratchet(second)
    git("reset", "-q", "--hard", "HEAD~1", cwd=repo)
    rewritten = push_content(repo, "other")
    assert mirror.fetch() == rewritten
    assert decide(mirror, second, rewritten).reason == "not-fast-forward"


def test_credentials_never_appear_in_errors(tmp_path: Path, served: dict[str, object]) -> None:
    wrong = served["auth"].url("deploy", "deploy:wr0ng-s3cret")  # type: ignore[attr-defined]
    mirror = Mirror(tmp_path / "repo.git", wrong, "main")
    with pytest.raises(FetchError) as caught:
        mirror.remote_head()
    assert "wr0ng-s3cret" not in str(caught.value)
    assert "wr0ng-s3cret" not in (tmp_path / "repo.git" / "config").read_text()
    assert "http://***@127.0.0.1" in str(caught.value) or "Authentication" in str(caught.value)
    missing = Mirror(tmp_path / "repo2.git", wrong.replace("/deploy", "/nothere"), "main")
    with pytest.raises(FetchError) as caught:
        missing.fetch()
    assert "wr0ng-s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:tok@h/x", "https://***@h/x"),
        ("fatal: 'https://ghp_abc@github.com/o/r' x", "fatal: 'https://***@github.com/o/r' x"),
        ("ssh://git:pw@host/r", "ssh://git:***@host/r"),
        ("ssh://git@host/r", "ssh://git@host/r"),
        ("git@host:r.git", "git@host:r.git"),
        ("http://u:p@ss@h:8/x", "http://***@h:8/x"),  # a raw @ in the password
        ("ssh://git:p@ss@host/r", "ssh://git:***@host/r"),
        ("'https://tok@h/x' by a@b.c", "'https://***@h/x' by a@b.c"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_server_away_is_transient(tmp_path: Path) -> None:
    port_daemon = GitDaemon(tmp_path)
    mirror = Mirror(tmp_path / "repo.git", port_daemon.url("x"), "main")
    with pytest.raises(FetchError) as caught:
        mirror.remote_head()
    assert caught.value.transient


def test_daemon_survives_the_git_server_going_away(tmp_path: Path) -> None:
    base = tmp_path / "served"
    repo = make_deploy_repo(base / "deploy")
    server = GitDaemon(base).start()
    try:
        with run_daemon(tmp_path, server.url("deploy"), poll_interval=0.3, retry_max=1) as daemon:
            daemon.wait_run(trigger="startup", outcome="succeeded")
            server.stop()
            wait_for(lambda: daemon.status()["state"]["last_fetch_error"])
            status = daemon.status()
            assert "Connection refused" in status["state"]["last_fetch_error"]
            assert status["state"]["counters"]["fetch_total"]["outcome=failed"] >= 1
            assert "fetch error" in daemon.cli("status").stdout
            sha = push_content(repo, "while away")
            server.start()
            run = daemon.wait_run(trigger="poll", commit__sha=sha)
            assert run["outcome"] == "succeeded"
            assert daemon.status()["state"]["last_fetch_error"] is None
            assert daemon.alive()
    finally:
        server.stop()


def test_the_daemon_never_shows_credentials(tmp_path: Path, served: dict[str, object]) -> None:
    auth = served["auth"]
    wrong = auth.url("deploy", "deploy:wr0ng-s3cret")  # type: ignore[attr-defined]
    with run_daemon(tmp_path / "a", wrong, poll_interval=0.2) as daemon:
        wait_for(lambda: daemon.status()["state"]["last_fetch_error"])
        status = daemon.cli("status", "--json").stdout + daemon.cli("status").stdout
        assert status.count("http://***@127.0.0.1") >= 2
        assert "wr0ng-s3cret" not in status + daemon.output()
    right = auth.url("deploy", "deploy:s3cr3t-token")  # type: ignore[attr-defined]
    with run_daemon(tmp_path / "b", right) as daemon:
        run = daemon.wait_run(trigger="startup")
        assert run["outcome"] == "succeeded"
        text = daemon.cli("status", "--json").stdout + daemon.output()
        text += "".join(p.read_text() for p in daemon.state_dir.glob("**/*.json"))
        assert "s3cr3t-token" not in text


def test_http_5xx_is_transient_and_404_is_not(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Failing(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(503 if "busy" in self.path else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        for name, transient in (("busy", True), ("gone", False)):
            mirror = Mirror(tmp_path / f"{name}.git", f"http://127.0.0.1:{port}/{name}", "main")
            with pytest.raises(FetchError) as caught:
                mirror.remote_head()
            assert caught.value.transient is transient, str(caught.value)
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_never_reach_a_command_line(
    tmp_path: Path, served: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """git passes the remote URL to its helper as an argument (`git remote-http origin URL`),
    which every user sees in `ps`: the token must travel through the environment instead."""
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    right = served["auth"].url("deploy", "deploy:s3cr3t-token")  # type: ignore[attr-defined]
    mirror = Mirror(tmp_path / "repo.git", right, "main")
    assert mirror.fetch() == mirror.remote_head()
    commands = [line for line in trace.read_text().splitlines() if "run_command" in line]
    assert any("remote-http origin http://127.0.0.1" in line for line in commands), commands
    assert "s3cr3t-token" not in trace.read_text()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p%40ss@h:8/x", ("https://h:8/x", "u", "p@ss")),
        ("https://ghp_tok@github.com/o/r", ("https://github.com/o/r", "ghp_tok", None)),
        ("https://h/x", ("https://h/x", None, None)),
        ("ssh://git@host/r", ("ssh://git@host/r", None, None)),
        ("git@host:r.git", ("git@host:r.git", None, None)),
    ],
)
def test_split_credentials(url: str, expected: tuple[str, str | None, str | None]) -> None:
    assert split_credentials(url) == expected


def test_a_commit_without_files_checks_out_empty_and_fails_the_run_clearly(
    tmp_path: Path,
) -> None:
    """git archive of an empty tree is only end-of-archive blocks: a checkout, not a crash."""
    repo = tmp_path / "src"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "nothing yet", cwd=repo)
    mirror = Mirror(tmp_path / "repo.git", str(repo), "main")
    sha = mirror.fetch()
    checkout = mirror.checkout(sha, tmp_path / "checkouts")
    assert sorted(p.name for p in checkout.iterdir()) == [".deployd-commit", ".deployd-manifest"]
    assert not list((tmp_path / "checkouts").glob(".*.tmp")), "no half-made checkout left"

    with run_daemon(tmp_path / "daemon", repo, watch_repository=False) as daemon:
        run = daemon.wait_run(trigger="startup")
        assert run["outcome"] == "failed", run
        assert "environment" in run["errors"][0]["message"].lower(), run["errors"]
        assert "Traceback" not in daemon.output()


def test_an_unknown_commit_is_a_fetch_error_not_a_crash(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path / "repo.git", str(make_deploy_repo(tmp_path / "src")), "main")
    mirror.fetch()
    with pytest.raises(FetchError, match="git archive 000000000000: "):
        mirror.checkout("0" * 40, tmp_path / "checkouts")
    assert not list((tmp_path / "checkouts").glob(".*.tmp"))


def test_a_name_that_does_not_resolve_is_transient(tmp_path: Path) -> None:
    """DNS is away as often as the server: retried with backoff, on every transport."""
    for url in ("git://nonexistent.invalid/x", "http://nonexistent.invalid/x"):
        mirror = Mirror(tmp_path / f"m{len(url)}.git", url, "main", timeout=20)
        with pytest.raises(FetchError) as caught:
            mirror.remote_head()
        assert caught.value.transient, str(caught.value)


def test_a_checkout_edited_by_hand_or_with_a_damaged_marker_is_exported_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repo = make_deploy_repo(tmp_path / "src")
    mirror = Mirror(tmp_path / "repo.git", str(repo), "main")
    sha = mirror.fetch()
    checkouts = tmp_path / "checkouts"
    content = mirror.checkout(sha, checkouts) / "components/hello/content.txt"
    original = content.read_text()
    (content.parent / "__pycache__").mkdir()  # byproducts of a run do not count
    (content.parent / "__pycache__" / "x.pyc").write_bytes(b"")
    assert mirror.checkout(sha, checkouts) == content.parents[2] and not caplog.records
    content.write_text("edited on the host\n")
    mirror.checkout(sha, checkouts)
    assert content.read_text() == original
    assert "components/hello/content.txt changed): exported again" in caplog.text
    (content.parents[2] / "components/extra.py").write_text("added\n")
    mirror.checkout(sha, checkouts)
    assert not (content.parents[2] / "components/extra.py").exists()
    (content.parents[2] / ".deployd-commit").write_bytes(b"\xff\xfe not a sha")
    assert mirror.checkout(sha, checkouts) == content.parents[2]
    assert (content.parents[2] / ".deployd-commit").read_text().strip() == sha


def test_a_symlink_to_a_host_file_is_never_checked_out(tmp_path: Path) -> None:
    """A link in the commit to a private file of the host (0600) fails the checkout with the
    link's name; a link inside the repository is kept."""
    private = tmp_path / "private.key"
    private.write_text("secret\n")
    private.chmod(0o600)
    repo = make_deploy_repo(tmp_path / "src")
    (repo / "components/hello/inside.txt").symlink_to("content.txt")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "a link inside", cwd=repo)
    mirror = Mirror(tmp_path / "repo.git", str(repo), "main")
    checkout = mirror.checkout(mirror.fetch(), tmp_path / "checkouts")
    assert (checkout / "components/hello/inside.txt").read_text().startswith("hello ")
    (repo / "components/hello/key").symlink_to(private)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "a link to the host", cwd=repo)
    with pytest.raises(FetchError, match=r"components/hello/key is a symbolic link to /"):
        mirror.checkout(mirror.fetch(), tmp_path / "checkouts")
    assert not list((tmp_path / "checkouts").glob(".*.tmp")), "no half-made checkout left"


def test_a_git_message_with_bytes_that_are_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    """git echoes a damaged bundle's header byte for byte; the error must still be text every
    log handler, the state file and the API can encode (a lone surrogate is not)."""
    repo = make_deploy_repo(tmp_path / "repo")
    git("bundle", "create", str(tmp_path / "good.bundle"), "main", cwd=repo)
    data = (tmp_path / "good.bundle").read_bytes()
    sha_end = data.index(b" refs/heads/main")
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(data[:sha_end] + b"\xff" + data[sha_end:])
    mirror = Mirror(tmp_path / "mirror.git", str(repo), "main", timeout=30)
    with pytest.raises(FetchError) as raised:
        mirror.fetch_bundle(bad)
    message = str(raised.value)
    message.encode("utf-8")  # strict: no surrogates left
    assert message.startswith("bundle bad.bundle is not valid: git bundle: ")
    assert "\\xff refs/heads/main" in message
