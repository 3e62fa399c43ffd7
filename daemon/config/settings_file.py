"""Finding the settings file, and reading one key of it without checking the rest.

The client commands (``status``, ``apply``'s state dir) need one value of the daemon's settings
file and must stay fast and usable when another key is wrong: the daemon checks the whole file
at start-up (``settings.load_settings``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from daemon.config.defaults import SETTINGS_FILE


def settings_path(explicit: Path | None = None, environ: Mapping[str, str] = os.environ) -> Path:
    """``--config``, else ``$DEPLOYD_CONFIG``, else the packaged default."""
    return explicit or Path(environ.get("DEPLOYD_CONFIG") or SETTINGS_FILE)


class UnreadableSettings(Exception):
    """The settings file cannot be read or decoded; ``line`` is set when one is to blame."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def read_settings_text(path: Path) -> str:
    """The settings file as text: the one reader of it (the daemon and the clients). Not
    UTF-8, or unreadable, raises :class:`UnreadableSettings` saying where and why;
    FileNotFoundError is left to the caller (a client may do without the file)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UnreadableSettings(f"cannot read the settings file: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte {data[error.start]:#04x}): save the file as UTF-8"
        raise UnreadableSettings(message, line) from None


def read_key(path: Path, key: str) -> tuple[object, str | None]:
    """``(value, None)``; ``(None, None)`` when the file or the key is absent;
    ``(None, why)`` when the file cannot be read or parsed (``why`` names the file, and the
    line where one is to blame)."""
    try:
        data = tomllib.loads(read_settings_text(path))
    except FileNotFoundError:
        return None, None
    except UnreadableSettings as error:
        return None, f"{path}{f':{error.line}' if error.line else ''}: {error}"
    except tomllib.TOMLDecodeError as error:
        return None, f"{path}: not valid TOML: {error}"
    return data.get(key), None
