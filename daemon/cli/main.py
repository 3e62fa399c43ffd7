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
import sys

COMMAND_GROUPS = ("daemon.cli.local", "daemon.cli.service", "daemon.cli.enroll")


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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("deployd: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
