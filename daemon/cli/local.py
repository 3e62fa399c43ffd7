"""``deployd apply`` and ``deployd check``: run a batou repository on this machine, now.

    deployd apply PATH -e ENV [--host NAME] [--root DIR] [--predict] [--debug]
    deployd check PATH -e ENV [--host NAME | --all-hosts] [--debug]
    both: [--identity FILE ...] [--gnupg-home DIR]  (keys for the secrets: local_secrets)

Both run the worker in the repository's own venv (``STATE_DIR/venvs``, built from its
requirements.txt; ``daemon.runs.one_shot.run_isolated``), with the environment's ``[deployd]`` time
limits, print its events as they arrive, then the error report and a summary. ``apply`` holds
the host's run lock (``STATE_DIR/lock``), so it never runs next to the daemon.

Exit status: 0 converged (or the check passed), 1 the run failed while converging, 2 bad usage
or bad configuration, 130 interrupted (the first Ctrl-C stops the worker's process group and
waits for it; a second one quits at once).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.cli import local_secrets
from daemon.cli.progress import StatusLine
from daemon.config import ROOT, SETTINGS_FILE, STATE_DIR, read_key, settings_path

if TYPE_CHECKING:  # imported where used: `deployd status` builds this parser too
    from components_runtime.protocol import ErrorInfo, WorkerRequest

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
        "--root", default=str(ROOT),
        help=f"deployment root; work dirs are ROOT/work/<component> (default {ROOT})",
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
    parser.add_argument("--debug-allow-remote", action="store_true",
                        help="let REMOTE_PDB_HOST be a non-loopback address")  # fmt: skip
    parser.add_argument(
        "--state-dir",
        help="the repository's venvs live in STATE_DIR/venvs; apply takes STATE_DIR/lock "
        f"(default: the daemon's state_dir from $DEPLOYD_CONFIG or {SETTINGS_FILE}, "
        f"else {STATE_DIR})",
    )  # fmt: skip
    local_secrets.add_arguments(parser)


def _resolve_state_dir(args: argparse.Namespace) -> None:
    """Without --state-dir, use the daemon's own state dir, so apply takes the same lock as a
    daemon on this host whatever its settings say (a daemon elsewhere would converge at once)."""
    if args.state_dir:
        return
    path = settings_path()
    args.state_dir = str(STATE_DIR)
    value, unreadable = read_key(path, "state_dir")
    if unreadable:  # a guessed state dir would miss the daemon's run lock
        print(f"deployd: {unreadable}; fix it, or pass --state-dir", file=sys.stderr)
        raise SystemExit(2)
    if isinstance(value, str) and value:
        args.state_dir = value


def run_apply(args: argparse.Namespace) -> int:
    _resolve_state_dir(args)
    mode = "predict" if args.predict else "apply"
    request = _request(args, mode=mode, root=os.path.abspath(args.root))
    if request is None:
        return 2
    from daemon.state import LockBusy, host_lock

    try:
        with host_lock(args.state_dir, who=f"deployd apply {args.path} -e {args.environment}"):
            return _run(request, args)
    except LockBusy as busy:
        print(f"deployd: {busy}", file=sys.stderr)
        return 2
    except OSError as error:
        return _state_dir_unusable(args, error)


def run_check(args: argparse.Namespace) -> int:
    _resolve_state_dir(args)
    request = _request(args, mode="check", all_hosts=args.all_hosts)
    if request is None:
        return 2
    try:
        return _run(request, args)
    except OSError as error:
        return _state_dir_unusable(args, error)


def _state_dir_unusable(args: argparse.Namespace, error: OSError) -> int:
    print(
        f"deployd: cannot use the state directory {args.state_dir}: {error}\n"
        "  (it holds the repository's venv and the run lock; pick one you may write to "
        "with --state-dir DIR)",
        file=sys.stderr,
    )
    return 2


def _request(args: argparse.Namespace, **kw: Any) -> WorkerRequest | None:
    """The worker request, or None (after saying why) for bad usage."""
    if not os.path.isdir(args.path):
        what = "not a directory" if os.path.exists(args.path) else "no such directory"
        print(
            f"deployd: {args.path}: {what} (the deployment repository: a directory with "
            "components/ and environments/)",
            file=sys.stderr,
        )
        return None
    from daemon.config import DEBUG_HOST, DEBUG_PORT, debug_endpoint

    debug_host, debug_port = DEBUG_HOST, DEBUG_PORT
    if args.debug:  # REMOTE_PDB_* matter only in debug mode
        try:
            debug_host, debug_port = debug_endpoint()
        except ValueError as error:
            print(f"deployd: {error}", file=sys.stderr)
            return None
        if not args.debug_allow_remote and _refuse_remote_debugger(debug_host, debug_port):
            return None
    from components_runtime.protocol import WorkerRequest

    return WorkerRequest(
        repository=os.path.abspath(args.path),
        environment=args.environment,
        host=args.host,
        debug=args.debug,
        debug_host=debug_host,
        debug_port=debug_port,
        debug_allow_remote=args.debug_allow_remote,
        **kw,
    )


def _refuse_remote_debugger(host: str, port: int) -> bool:
    """A debugger on a non-loopback address gives anyone who reaches it a Python prompt as
    root: refuse before anything runs, rather than converge past every breakpoint."""
    from components_runtime.protocol import is_loopback
    from daemon.config import DEBUG_PORT

    if is_loopback(host):
        return False
    port = port or DEBUG_PORT
    print(
        f"deployd: REMOTE_PDB_HOST={host} is not a loopback address: refused (anyone who "
        "reaches the port gets a Python prompt as root)\n"
        f"  unset REMOTE_PDB_HOST and attach through `ssh -L {port}:localhost:{port} HOST`, "
        "or pass --debug-allow-remote to listen there anyway",
        file=sys.stderr,
    )
    return True


def _limits(request: WorkerRequest) -> tuple[Any, list[ErrorInfo]]:
    """The default limits with the environment's [deployd] section, and an error for each of
    its keys that is wrong (that key keeps its default)."""
    from daemon.config import Limits, LimitsError
    from daemon.runs import environment_section

    section = environment_section(Path(request.repository), request.environment)
    limits, problems = Limits(), []
    for key, value in section.items():
        try:
            limits = limits.overlay_environment({key: value})
        except LimitsError as error:
            problems.append(_limits_error(error, getattr(value, "origin", None)))
    return limits, problems + _rollout_errors(section)


def _rollout_errors(section: Any) -> list[ErrorInfo]:
    """Every mistake in the rollout keys of ``[deployd]`` (checks, windows, waves)."""
    from daemon.rollout import read_policy

    _, problems = read_policy(section)
    return [_policy_finding("RolloutPolicyError", problem) for problem in problems]


def _wave_warnings(request: WorkerRequest) -> list[ErrorInfo]:
    """Wave members that name no host (``deployd check`` passes, but says so)."""
    from daemon.rollout import wave_warnings_of_checkout

    warnings = wave_warnings_of_checkout(Path(request.repository), request.environment)
    return [_policy_finding("RolloutPolicyWarning", warning) for warning in warnings]


def _policy_finding(kind: str, problem: Any) -> ErrorInfo:
    from components_runtime.protocol import ErrorInfo

    # the origin reads "environments/ENV/environment.cfg:LINE [deployd]"
    where = re.match(r"^(.*?):(\d+)(?: \[.*\])?$", problem.origin)
    return ErrorInfo(
        kind=kind,
        message=f"{problem.key}: {problem.message}",
        file=where.group(1) if where else None,
        line=int(where.group(2)) if where else None,
        section="deployd",
        hint=f"the rollout policy: {problem.hint}",
    )


def _limits_error(error: Any, origin: Any) -> ErrorInfo:
    from components_runtime.protocol import ErrorInfo

    return ErrorInfo(
        kind="LimitsError",
        message=str(error).removeprefix(f"{error.source}: "),
        file=getattr(origin, "file", None),
        line=getattr(origin, "line", None),
        section="deployd",
        hint="deployd's time limits for this environment; see docs/timeouts.md",
    )


_STATUS = StatusLine()  # progress on a terminal, cleared before every other line


def _say(line: str) -> None:
    """Print a line; a reader that went away (``| head``) must not disturb the run."""
    _STATUS.clear()
    try:
        print(line, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # later prints (and the exit flush) go nowhere
        os.close(devnull)


@contextlib.contextmanager
def _first_ctrl_c_stops_the_worker(interrupted: Any) -> Iterator[None]:
    """Ctrl-C sets ``interrupted``: the runner stops the worker's process group (SIGTERM, then
    SIGKILL after the grace time) and the run ends as data. A second Ctrl-C leaves at once."""

    def stop(signum: int, frame: Any) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        print("\ndeployd: interrupted: stopping the worker (Ctrl-C again to quit at once)",
              file=sys.stderr, flush=True)  # fmt: skip

    import signal

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted(request: WorkerRequest, isolated: Any) -> int:
    run = isolated.run
    if request.mode != "apply":  # check and predict change nothing
        _say(f"{request.mode}: INTERRUPTED (Ctrl-C); nothing was changed.")
        return 130
    if run is None:  # during the venv build (pip got the Ctrl-C too)
        where = "while preparing the repository's venv; nothing was converged"
    else:
        component = next((e.component for e in run.errors if e.component), None)
        where = (
            f"while converging {component} (it may be half done); the components after it "
            "were not touched"
            if component
            else "before converging anything"
        )
    _say(f"{request.mode}: INTERRUPTED (Ctrl-C) {where}. Run it again to converge the rest.")
    return 130


def _say_building(target: Path, requirements: Any) -> None:
    files = requirements.files
    what = "nothing to install" if requirements.empty else f"pip install -r {files[0].name}"
    _say(f"note: building the repository's venv in {target} ({what}); later runs reuse it")


def _pass_on_stderr(line: str) -> None:
    """The worker's stderr (``print()`` in component code, warnings, output of commands that
    were not captured) reaches the terminal as it does with batou."""
    _STATUS.clear()
    try:
        sys.stderr.write(line if line.endswith("\n") else line + "\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass  # the reader went away; the run goes on


def _quiet_library_logs(debug: bool) -> None:
    """The venv and runner modules log for the daemon's journal; here the same facts are in the
    report already, so without ``--debug`` their warnings must not reach stderr a second time
    (through logging's last-resort handler)."""
    import logging

    if debug:
        logging.basicConfig(level=logging.DEBUG, format="deployd: %(name)s: %(message)s")
    else:
        logging.getLogger("daemon").addHandler(logging.NullHandler())


def _run(request: WorkerRequest, args: argparse.Namespace) -> int:
    from daemon.cli import render
    from daemon.runs import attach_instructions, run_isolated

    limits, limit_errors = _limits(request)
    if limit_errors and request.mode != "check":  # never converge with limits nobody meant
        _say("\n" + "\n".join(render.error_report(limit_errors)))
        _say(f"{request.mode}: nothing was converged: fix [deployd] first - FAILED")
        return 2

    options = local_secrets.secrets_options(args, settings_path())
    with_secrets, refusal = local_secrets.with_secrets(request, options, _say)
    if with_secrets is None:  # never converge without the values the repository holds
        _say("\n" + "\n".join(render.error_report(refusal)))
        _say(f"{request.mode}: REFUSED: the secrets cannot be decrypted on this host")
        return 2
    request = with_secrets
    # found before the worker, and check goes on past them: bad limits, damaged secrets files
    early_errors = [*limit_errors, *refusal]
    secret_guard = local_secrets.guard(request)

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "debugger-waiting":
            _say(attach_instructions(event))
            return
        line = render.event_line(event, debug=request.debug)
        if line is not None:
            _say(line)
        elif event.get("event") == "component-started":
            _STATUS.component(str(event.get("host")), str(event.get("component")))

    _quiet_library_logs(request.debug)
    import threading

    interrupted = threading.Event()
    with _first_ctrl_c_stops_the_worker(interrupted):
        isolated = run_isolated(
            request,
            Path(args.state_dir),
            on_event,
            limits=limits,
            abort=interrupted,
            on_stderr=local_secrets.redacted_stderr(secret_guard, _pass_on_stderr),
            on_build=_say_building,
            on_venv_progress=_STATUS.venv,
        )
    _STATUS.clear()
    if interrupted.is_set() and isolated.outcome != "succeeded":
        return _interrupted(request, isolated)
    for notice in isolated.venv.notices:
        _say(f"note: {notice}")
    # check goes on with the default limits
    errors = [*early_errors, *local_secrets.redacted_errors(secret_guard, list(isolated.errors))]
    if errors:
        _say("\n" + "\n".join(render.error_report(errors)))
    run = isolated.run
    if run is None:  # the venv could not be built
        _say(f"{request.mode}: FAILED: the repository's venv could not be prepared")
        # A broken requirements.txt is bad configuration; pip or disk trouble a failed run.
        return 2 if any(e.kind == "RequirementsError" for e in errors) else 1
    components = run.components
    if request.mode == "check":
        warnings = _wave_warnings(request)
        if warnings:
            _say("\n" + "\n".join(render.warning_report(warnings)))
        host = (run.result and run.result.host) or request.host or "this machine"
        hosts = "all hosts" if request.all_hosts else host
        verdict = "passed" if run.outcome == "succeeded" and not early_errors else "FAILED"
        name = request.environment.removesuffix(".cfg")
        _say(f"check {verdict}: environment {name}, {hosts} ({run.duration:.2f}s)")
    else:
        _say(render.summary_line(request.mode, run.outcome, components, run.duration))
    if run.outcome == "succeeded":
        return 2 if early_errors else 0
    converged_something = any(c.outcome != "skipped" for c in components)
    if not converged_something and errors and not any(e.kind in RUN_FAILURE_KINDS for e in errors):
        return 2
    return 1


__all__ = ["register", "run_apply", "run_check"]
