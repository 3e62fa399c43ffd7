"""Health checks: real commands and a real HTTP server; retries, timeouts, output."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from daemon.rollout.health import run_check, run_checks
from daemon.rollout.policy import HealthCheck


def test_a_command_passes_fails_and_keeps_its_output(tmp_path: Path) -> None:
    ok = run_check(HealthCheck("ok", command="echo fine; pwd"), tmp_path, "c1")
    assert ok.passed and ok.attempts == 1 and ok.output == f"fine\n{tmp_path}"
    bad = HealthCheck("bad", command="echo broken >&2; exit 3", retries=2, interval=0.01)
    result = run_check(bad, tmp_path, "c1", env={"X": "1"})
    assert not result.passed and result.attempts == 3 and result.commit == "c1"
    assert result.output == "broken\nexit status 3"


def test_a_retry_can_pass(tmp_path: Path) -> None:
    flaky = HealthCheck(
        "flaky", command="test -e seen && exit 0; touch seen; exit 1", retries=1, interval=0.01
    )
    result = run_check(flaky, tmp_path, "c1")
    assert result.passed and result.attempts == 2


def test_a_command_that_hangs_is_killed_with_its_children(tmp_path: Path) -> None:
    check = HealthCheck("slow", command="sleep 30 & sleep 30; echo late", timeout=0.3, retries=0)
    started = time.monotonic()
    result = run_check(check, tmp_path, "c1")
    assert not result.passed and "timed out after 0.3s" in result.output
    assert time.monotonic() - started < 10


def test_the_environment_reaches_the_command(tmp_path: Path) -> None:
    check = HealthCheck("env", command='test "$DEPLOYD_HOST" = web01')
    assert run_check(check, tmp_path, "c1", env={"DEPLOYD_HOST": "web01"}).passed


def test_checks_stop_at_the_first_failure(tmp_path: Path) -> None:
    checks = (
        HealthCheck("a", command="true"),
        HealthCheck("b", command="false", retries=0),
        HealthCheck("c", command="true"),
    )
    assert [(r.name, r.passed) for r in run_checks(checks, tmp_path, "c1")] == [
        ("a", True),
        ("b", False),
    ]


@pytest.fixture
def server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status = 200 if self.path == "/ok" else 503
            body = b"all good" if status == 200 else b"database down"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_url_must_answer_2xx(server: str, tmp_path: Path) -> None:
    ok = run_check(HealthCheck("web", url=f"{server}/ok"), tmp_path, "c1")
    assert ok.passed and ok.output.startswith(f"GET {server}/ok: 200 OK")
    down = run_check(HealthCheck("web", url=f"{server}/", retries=0), tmp_path, "c1")
    assert not down.passed and "503 Service Unavailable\ndatabase down" in down.output


def test_a_url_nobody_answers(tmp_path: Path) -> None:
    result = run_check(HealthCheck("web", url="http://127.0.0.1:9/", retries=0), tmp_path, "c1")
    assert not result.passed and "ConnectError" in result.output
