"""Run the health checks a repository declares, after a converge: commands and HTTP URLs.

A check passes when its command exits 0 (or its URL answers 2xx) within its timeout, at one of
``1 + retries`` attempts, ``interval`` apart. The output of the last attempt is kept (its tail)
for the run record, status and the journal. Checks run one after another and stop at the first
that fails: its output is the reason of a rollback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from daemon.records import CheckResult
from daemon.rollout.policy import HealthCheck

OUTPUT_TAIL = 2000  # characters of a check's output kept in the record


def run_checks(
    checks: tuple[HealthCheck, ...],
    cwd: Path,
    commit: str,
    env: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
) -> tuple[CheckResult, ...]:
    """Every check in turn; stops after the first that fails. Commands run in ``cwd`` (the
    commit's checkout) with ``env`` added to the daemon's environment."""
    results = []
    for check in checks:
        result = run_check(check, cwd, commit, env, stop)
        results.append(result)
        if not result.passed:
            break
    return tuple(results)


def run_check(
    check: HealthCheck,
    cwd: Path,
    commit: str,
    env: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
) -> CheckResult:
    """One check, with its retries; ``stop`` (the daemon shutting down) ends the waiting."""
    started = time.monotonic()
    attempts, passed, output = 0, False, ""
    stop = stop or threading.Event()
    for attempt in range(check.retries + 1):
        if attempt and stop.wait(check.interval):
            output += "\n(stopped: the daemon is shutting down)"
            break
        attempts += 1
        if check.url:
            passed, output = _http(check.url, check.timeout)
        else:
            passed, output = _command(check.command, check.timeout, cwd, env or {})
        if passed:
            break
    duration = time.monotonic() - started
    return CheckResult(check.name, passed, attempts, duration, output[-OUTPUT_TAIL:], commit)


def _command(command: str, timeout: float, cwd: Path, env: Mapping[str, str]) -> tuple[bool, str]:
    try:
        process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a timeout kills the whole group, children included
        )
    except OSError as error:
        return False, f"cannot run {command!r}: {error}"
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, _ = process.communicate()
        text = out.decode(errors="replace").rstrip()
        return False, f"{text}\ntimed out after {timeout:g}s".lstrip()
    text = out.decode(errors="replace").rstrip()
    if process.returncode != 0:
        return False, f"{text}\nexit status {process.returncode}".lstrip()
    return True, text


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _http(url: str, timeout: float) -> tuple[bool, str]:
    try:
        with httpx.Client(timeout=timeout, verify=True, follow_redirects=False) as client:
            response = client.get(url)
    except httpx.HTTPError as error:
        return False, f"GET {url}: {type(error).__name__}: {error}"
    body = response.text[:500].rstrip()
    line = f"GET {url}: {response.status_code} {response.reason_phrase}"
    return response.is_success, f"{line}\n{body}".rstrip()
