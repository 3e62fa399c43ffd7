"""The CLI's one place for the unexpected: a located line instead of a traceback (a reader that
goes away, `deployd history | head`, is checked against a real daemon in e2e/)."""

from __future__ import annotations

from daemon.cli.main import internal_error


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ itself fails")


def _raise(error: Exception) -> BaseException:
    try:
        raise error
    except Exception as caught:
        return caught


def test_an_unexpected_error_is_one_located_line() -> None:
    text = internal_error(_raise(KeyError("x")))
    assert text.startswith("deployd: internal error at ")
    assert "KeyError: 'x'" in text and "tests/daemon/cli/test_cli_errors.py" not in text
    assert "Unprintable: (no message)" in internal_error(_raise(Unprintable()))
