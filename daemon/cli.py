"""The ``deployd`` command line (filled in by the runtime and daemon work)."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("deployd: not implemented yet", file=sys.stderr)
    return 2
