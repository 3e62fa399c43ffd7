"""``deployd apply`` and ``deployd check``: run a batou repository on this machine, now.

    deployd apply PATH -e ENV [--host NAME] [--root DIR] [--predict] [--debug]
    deployd check PATH -e ENV [--host NAME | --all-hosts] [--debug]

Both run the converge in a worker subprocess (``daemon.runner.run_worker``), print its events
as they arrive, then the error report and a summary. Exit status: 0 converged (or the check
passed), 1 the run failed while converging, 2 bad usage or bad configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from components_runtime.protocol import WorkerRequest
from daemon import render

DEFAULT_ROOT = "/srv/deployd"
# Errors that mean "the runtime itself broke", not "your configuration is wrong".
RUN_FAILURE_KINDS = {"WorkerCrashed", "InternalError", "ProtocolError", "Timeout"}


def register(subparsers: Any) -> None:
    apply = subparsers.add_parser(
        "apply", help="converge this host from a batou repository now",
        description="Configure the whole environment, then converge this host's components.",
    )  # fmt: skip
    _common(apply)
    apply.add_argument("--host", help="the [host:NAME] to converge (default: this machine)")
    apply.add_argument(
        "--root", default=DEFAULT_ROOT,
        help=f"deployment root; work dirs are ROOT/work/<component> (default {DEFAULT_ROOT})",
    )  # fmt: skip
    apply.add_argument("--predict", action="store_true",
                       help="verify only: say what would change, change nothing")  # fmt: skip
    apply.set_defaults(func=run_apply)

    check = subparsers.add_parser(
        "check", help="load and configure an environment; report every error",
        description="Everything up to and including configure; changes nothing.",
    )  # fmt: skip
    _common(check)
    which = check.add_mutually_exclusive_group()
    which.add_argument("--host", help="check as this host (default: this machine)")
    which.add_argument("--all-hosts", action="store_true", help="check every host")
    check.set_defaults(func=run_check)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the deployment repository (batou layout)")
    parser.add_argument("-e", "--environment", required=True, help="environment name")
    parser.add_argument("--debug", action="store_true",
                        help="show debug output; breakpoint() opens remote-pdb")  # fmt: skip


def run_apply(args: argparse.Namespace) -> int:
    request = _request(args, mode="predict" if args.predict else "apply",
                       root=os.path.abspath(args.root))  # fmt: skip
    return _run(request, args)


def run_check(args: argparse.Namespace) -> int:
    request = _request(args, mode="check", all_hosts=args.all_hosts)
    return _run(request, args)


def _request(args: argparse.Namespace, **kw: Any) -> WorkerRequest:
    return WorkerRequest(
        repository=os.path.abspath(args.path),
        environment=args.environment,
        host=args.host,
        debug=args.debug,
        **kw,
    )


def _run(request: WorkerRequest, args: argparse.Namespace) -> int:
    if not os.path.isdir(request.repository):
        print(f"deployd: {args.path}: no such directory", file=sys.stderr)
        return 2
    from daemon.runner import run_worker

    def on_event(event: dict[str, Any]) -> None:
        line = render.event_line(event, debug=request.debug)
        if line is not None:
            print(line, flush=True)

    run = run_worker(request, on_event)
    errors = run.errors
    if errors:
        print()
        print("\n".join(render.error_report(errors)))
    components = run.result.components if run.result else ()
    if request.mode == "check":
        hosts = "all hosts" if request.all_hosts else (run.result and run.result.host) or "?"
        verdict = "passed" if run.outcome == "succeeded" else "FAILED"
        print(f"check {verdict}: environment {request.environment}, {hosts} "
              f"({run.duration:.2f}s)")  # fmt: skip
    else:
        print(render.summary_line(request.mode, run.outcome, components, run.duration))
    if run.outcome == "succeeded":
        return 0
    converged_something = any(c.outcome != "skipped" for c in components)
    if not converged_something and errors and not any(e.kind in RUN_FAILURE_KINDS for e in errors):
        return 2
    return 1


__all__ = ["register", "run_apply", "run_check"]
