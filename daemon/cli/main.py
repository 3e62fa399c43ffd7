"""The ``deployd`` command line: one parser, command groups registered from ``daemon.commands``.

Each group module exposes ``register(subparsers)``; every sub-command sets ``func`` (a callable
taking the parsed namespace and returning the exit status). Exit codes: 0 success, 1 the run
failed, 2 bad usage or bad configuration.

Heavy modules (GitPython, prometheus-client) are imported inside the commands that need them,
so ``deployd status`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

COMMAND_GROUPS = (
    "daemon.cli.local",
    "daemon.cli.service",
    "daemon.cli.enroll",
    "daemon.cli.secrets",
)


class _Version(argparse.Action):
    """``--version``: worked out only when asked for (in a checkout it asks git)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from daemon.cli.version import version_text

        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deployd", description="Pull-based GitOps for batou deployment repositories."
    )
    parser.add_argument(
        "--version", action=_Version, help="print the version and the commit it was built from"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_GROUPS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return 2
        status = int(args.func(args))
        sys.stdout.flush()  # here, not at exit: a closed pipe is then caught below
        return status
    except KeyboardInterrupt:
        print("deployd: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`deployd history | head -3`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a process killed by SIGPIPE, like git
    except Exception as error:  # a bug: one located line, the traceback only when asked for
        print(internal_error(error), file=sys.stderr)
        return 1


def internal_error(error: BaseException) -> str:
    """The one text for an exception nobody expected: what, and where in deployd's code (the
    innermost frame of ours), so a report is useful without the full traceback, which
    ``DEPLOYD_TRACEBACK=1`` prints."""
    if os.environ.get("DEPLOYD_TRACEBACK"):
        traceback.print_exception(error)
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if f"{os.sep}daemon{os.sep}" in f.filename] or frames
    where = ""
    if ours:
        frame = ours[-1]
        path = frame.filename.split(f"{os.sep}daemon{os.sep}", 1)[-1]
        where = f" at daemon/{path}:{frame.lineno}" if path != frame.filename else ""
    try:
        what = str(error)
    except Exception:  # an exception whose __str__ fails
        what = "(no message)"
    return (
        f"deployd: internal error{where}: {type(error).__name__}: {what}. This is a bug in "
        "deployd: please report it with this line and `deployd --version` "
        "(DEPLOYD_TRACEBACK=1 shows the traceback)"
    )


if __name__ == "__main__":
    sys.exit(main())
