"""Fuzzed daemon inputs: the settings file, webhook requests and inbox bundles. Whatever the
input: no traceback, no hang, a refusal that names the file (and line) or an HTTP status that
says what was wrong, and the daemon's parts keep working afterwards."""

from __future__ import annotations

import logging
import queue
import socket
import subprocess
from pathlib import Path

import pytest

from daemon.config import SettingsError, load_settings
from daemon.config.settings import WebhookSettings
from daemon.git import Mirror, import_bundle
from daemon.records import HostState
from daemon.triggers.webhook import WebhookServer
from tests.support.daemon_helpers import deployd_command, make_deploy_repo, push_content
from tests.support.fuzzing import cases, mutate_bytes, mutate_text, replay, time_limit
from tests.support.git_servers import free_port
from tests.support.helpers import git

SETTINGS = """\
repository = "https://deploy:token@git.example.com/ops/deploy.git"
branch = "main"
environment = "production"
host = "web1"
root = "/srv/deployd"
state_dir = "/var/lib/deployd"
poll_interval = 60
converge_interval = 1800
splay = 300
debug = false
debug_port = 4444
keep_runs = 200
metrics_listen = "127.0.0.1:9477"

[limits]
fetch = "2m"
run = 3600
component = "30m"

[webhook]
enabled = false
port = 8787
rate_limit = 10
"""
SETTINGS_WORDS = [
    "=", '"', "'", "[", "]", "[limits]", "[webhook]", "[[x]]", "1e308", "-1", "0", "nan", "inf",
    "true", '"/"', '"relative"', '"main:x"', '"ftp://x"', '"htp:/x"', "0.001", "99999999",
    "socket = 3", 'inbox = "/"', 'branch = ""', "fetch = 1e308", "{", "}", "\\u0000", "é",
    'secret_file = "/nonexistent"', "enabled = true", 'metrics_listen = "nope"',
]  # fmt: skip


def test_a_mutated_settings_file_is_refused_with_its_name_or_read(tmp_path: Path) -> None:
    config = tmp_path / "deployd.toml"
    refused = 0
    for number, rng in cases("settings", 80):
        text = mutate_text(rng, SETTINGS, SETTINGS_WORDS)
        data = text.encode()
        if rng.random() < 0.2:  # and some that are not UTF-8 text at all
            data = mutate_bytes(rng, data, rounds=2)
        config.write_bytes(data)
        shown = replay("settings", number, data)
        try:
            with time_limit(5):
                load_settings(config, environ={})
        except SettingsError as error:
            refused += 1
            assert str(error).startswith(f"{config}"), shown + str(error)
    assert refused, "the mutations never broke anything: the fuzzer tests nothing"


def test_deployd_run_exits_2_on_a_mutated_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "deployd.toml"
    tried = 0
    for number, rng in cases("settings-cli", 20):
        text = mutate_text(rng, SETTINGS, SETTINGS_WORDS)
        config.write_text(text)
        try:
            load_settings(config, environ={})
            continue  # a file that passes would start a daemon: only refused ones here
        except SettingsError:
            pass
        done = subprocess.run(
            [*deployd_command(), "run", "--config", str(config)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        shown = replay("settings-cli", number, text)
        assert done.returncode == 2, shown + done.stderr
        assert done.stderr.startswith(f"deployd: {config}"), shown + done.stderr
        assert "Traceback" not in done.stderr, shown + done.stderr
        tried += 1
        if tried == 3:
            break
    assert tried


REQUEST = (
    b"POST /hook HTTP/1.1\r\nHost: web1\r\nContent-Type: application/json\r\n"
    b"X-Hub-Signature-256: sha256=00\r\nContent-Length: 17\r\n\r\n"
    b'{"ref": "main"}\r\n'
)
WEBHOOK_ANSWERS = {
    b"202",
    b"400",
    b"401",
    b"405",
    b"408",
    b"413",
    b"414",
    b"429",
    b"431",
    b"501",
    b"505",
}


def test_mutated_webhook_requests_get_an_answer_never_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("k")
    port = free_port()
    settings = WebhookSettings(enabled=True, port=port, secret_file=str(secret), rate_limit=1e6)
    server = WebhookServer(settings, queue.Queue()).start()
    caplog.set_level(logging.DEBUG)
    try:
        for number, rng in cases("webhook", 80):
            data = mutate_bytes(rng, REQUEST, rounds=4)
            with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
                raw.sendall(data)
                raw.shutdown(socket.SHUT_WR)  # the whole request is sent: answer now
                answer = raw.recv(64)
            shown = replay("webhook", number, data)
            assert b"<" not in answer, shown + repr(answer)  # plain text, never an HTML page
            if answer.startswith(b"HTTP/"):
                assert answer[9:12] in WEBHOOK_ANSWERS, shown + repr(answer)
            elif answer:  # HTTP/0.9-looking garbage: an answer without a status line
                assert answer[:3] in WEBHOOK_ANSWERS, shown + repr(answer)
        with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
            raw.sendall(REQUEST)
            assert raw.recv(64).startswith(b"HTTP/1.0 401"), "still serving"
    finally:
        server.stop()
    assert "Traceback" not in caplog.text


def test_mutated_bundles_are_refused_and_filed_away(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    push_content(repo, "version 2")
    good = tmp_path / "good.bundle"
    git("bundle", "create", str(good), "main", cwd=repo)
    data = good.read_bytes()
    state_dir = tmp_path / "state"
    mirror = Mirror(state_dir / "repo.git", str(repo), "main", timeout=30)
    inbox = state_dir / "inbox"
    inbox.mkdir(parents=True)
    for number, rng in cases("bundle", 25):
        mutated = mutate_bytes(rng, data, rounds=2)
        bundle = inbox / f"{number}.bundle"
        bundle.write_bytes(mutated)
        with time_limit(30):
            state, error = import_bundle(HostState(), mirror, str(bundle), state_dir)
        shown = replay("bundle", number, mutated[:200])
        assert not bundle.exists(), shown + "not filed away"
        filed = "failed" if error else "processed"
        assert list((inbox / filed).glob(f"*-{bundle.name}")), shown + f"not in {filed}/"
        if error:
            assert bundle.name in error or "bundle" in error, shown + error
            error.encode("utf-8")  # strict: what git echoed of the bundle is escaped text
    bundle = inbox / "good.bundle"
    bundle.write_bytes(data)
    state, error = import_bundle(HostState(), mirror, str(bundle), state_dir)
    assert error is None and state.upstream is not None, "the mirror still takes a good one"
