"""The ``deployd`` command line: the command table and its commands."""

from daemon.cli.main import main

__all__ = ["main"]
