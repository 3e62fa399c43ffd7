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


def read_key(path: Path, key: str) -> tuple[object, str | None]:
    """``(value, None)``; ``(None, None)`` when the file or the key is absent;
    ``(None, why)`` when the file cannot be read or parsed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as error:  # TOMLDecodeError and UnicodeDecodeError are both
        return None, str(error)
    return data.get(key), None
