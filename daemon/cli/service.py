"""The daemon's commands: ``run`` starts it; the others talk to it over its unix socket.

``status``, ``history``, ``converge``, ``suspend``, ``resume`` and ``trust`` are API clients:
they import httpx and nothing heavy, so ``deployd status`` answers fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from daemon.config import SETTINGS_FILE, SOCKET, read_key, settings_path


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="run the daemon in the foreground (systemd does this)")
    _config(run)
    run.set_defaults(func=_run)

    status = subparsers.add_parser("status", help="what is deployed, what runs, what comes next")
    _client_options(status)
    form = status.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="the status snapshot as JSON")
    form.add_argument("--oneline", action="store_true", help="one line, for scripts and prompts")
    status.set_defaults(func=_status)

    history = subparsers.add_parser("history", help="recent runs, or one run in detail")
    _client_options(history)
    history.add_argument("run_id", nargs="?", metavar="ID", help="show this run in detail")
    history.add_argument("-n", "--limit", type=_count, default=20, help="how many runs (20)")
    history.add_argument("--json", action="store_true", help="the run records as JSON")
    history.set_defaults(func=_history)

    converge = subparsers.add_parser("converge", help="converge now (poll first)")
    _client_options(converge)
    converge.add_argument("--wait", action="store_true", help="wait for the run and show it")
    converge.add_argument("--json", action="store_true", help="with --wait: the record as JSON")
    converge.add_argument(
        "--now",
        action="store_true",
        help="override: converge the upstream head now, past change windows, freezes, waves "
        "and a rolled-back mark (recorded as trigger 'override')",
    )
    converge.set_defaults(func=_converge)

    suspend = subparsers.add_parser("suspend", help="keep polling but stop converging")
    _client_options(suspend)
    suspend.add_argument("--reason", required=True, help="shown in status until resumed")
    suspend.set_defaults(func=lambda a: _simple(a, "suspend", a.reason))

    resume = subparsers.add_parser("resume", help="converge again after `deployd suspend`")
    _client_options(resume)
    resume.set_defaults(func=lambda a: _simple(a, "resume", None))

    trust = subparsers.add_parser("trust", help="accept a rewritten branch: move the ratchet")
    _client_options(trust)
    trust.add_argument("sha", metavar="SHA", help="the commit to accept as deployed history")
    trust.set_defaults(func=lambda a: _simple(a, "trust", a.sha))


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of runs (1 or more), not {text!r}")
    return int(text)


def _config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        default=None,
        help=f"settings file (default $DEPLOYD_CONFIG or {SETTINGS_FILE})",
    )


def _client_options(parser: argparse.ArgumentParser) -> None:
    _config(parser)
    parser.add_argument("--socket", type=Path, default=None, help="the daemon's API socket")


def _config_path(args: argparse.Namespace) -> Path:
    return settings_path(args.config)


def _socket(args: argparse.Namespace) -> Path:
    if args.socket:
        return Path(args.socket)
    if os.environ.get("DEPLOYD_SOCKET"):
        return Path(os.environ["DEPLOYD_SOCKET"])
    config = _config_path(args)
    if config.exists():
        return _socket_from(config)
    return SOCKET


def _socket_from(config: Path) -> Path:
    """Only the ``socket`` key of the settings file: a client need not validate the rest (the
    daemon did at start-up), and the full check imports the exporter and the worker runner."""
    value, unreadable = read_key(config, "socket")
    if unreadable:  # a guess could reach another daemon: say so, and let the operator choose
        print(f"deployd: {unreadable}; fix it, or pass --socket", file=sys.stderr)
        raise SystemExit(2)
    if value is None:
        return SOCKET
    if not isinstance(value, str) or not value:
        print(f"deployd: {config}: socket: not a path (using the default)", file=sys.stderr)
        return SOCKET
    return Path(value)


def _run(args: argparse.Namespace) -> int:
    from daemon.app import main

    return main(_config_path(args))


def _call(args: argparse.Namespace, action: Any) -> Any:
    from daemon.api import Client, ClientError, RequestRefused

    try:
        with Client(_socket(args)) as client:
            return action(client)
    except RequestRefused as error:  # the daemon answered: the request itself is wrong
        print(f"deployd: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except ClientError as error:
        print(f"deployd: {error}", file=sys.stderr)
        raise SystemExit(3) from None


def _status(args: argparse.Namespace) -> int:
    from daemon.records import render_oneline, render_status

    status = _call(args, lambda c: c.status())
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
    else:
        print(render_oneline(status) if args.oneline else render_status(status))
    last = status.get("last_run")
    if status["live"].get("loop_error"):
        return 1
    return 0 if not last or last["outcome"] in ("succeeded", "skipped") else 1


def _history(args: argparse.Namespace) -> int:
    from daemon.records import render_run, render_runs

    if args.run_id:
        run = _call(args, lambda c: c.run(args.run_id))
        print(json.dumps(run, indent=2, sort_keys=True) if args.json else render_run(run))
        return 0
    runs = _call(args, lambda c: c.runs(limit=args.limit))
    if args.json:
        print(json.dumps({"schema": 1, "runs": runs}, indent=2, sort_keys=True))
    else:
        print(render_runs(runs) if runs else "no runs recorded yet")
    return 0


def _converge(args: argparse.Namespace) -> int:
    from daemon.records import render_run

    if not args.wait:
        answer = _call(args, lambda c: c.converge(now=args.now))
        if not answer.get("queued"):
            print(f"deployd: no run started: {answer.get('message')}", file=sys.stderr)
            return 1
        print("converge queued; `deployd status` shows it")
        return 0
    answer = _call(args, lambda c: c.converge(wait=True, now=args.now))
    run_id = answer.get("run_id")
    if not run_id:
        print(f"deployd: no run started: {answer.get('message')}", file=sys.stderr)
        return 1
    print(f"run {run_id} started", file=sys.stderr)
    run = _call(args, lambda c: _wait_for_record(c, run_id))
    print(json.dumps(run, indent=2, sort_keys=True) if args.json else render_run(run))
    return 0 if run["outcome"] == "succeeded" else 1


def _wait_for_record(client: Any, run_id: str) -> dict[str, Any]:
    from daemon.api import ClientError

    delay = 0.05
    while True:
        try:
            return dict(client.run(run_id))
        except ClientError as error:
            if "no run" not in str(error):
                raise
        time.sleep(delay)  # the record appears when the run ends
        delay = min(1.0, delay * 1.5)


def _simple(args: argparse.Namespace, action: str, argument: str | None) -> int:
    answer = _call(args, lambda c: getattr(c, action)(*([argument] if argument else [])))
    print(answer.get("message", answer))
    return 0
