"""Where a settings file is wrong: :class:`SettingsError` with file, line and key, the line a
key stands on, and the checks of values that name files, URLs and addresses.

Split from ``settings`` (the table of options and the parser); these raise for it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from daemon.config.addresses import parse_listen
from daemon.config.checks import url_problem

# ssh reads ``${NAME}`` in a file name as an environment variable and has no escape for it:
# a path that holds it is refused.
SSH_UNQUOTABLE = "${"


class SettingsError(Exception):
    """A bad configuration file: ``str()`` names the file, line and key."""

    def __init__(self, path: Path, message: str, key: str | None = None, line: int | None = None):
        self.path, self.key, self.line = path, key, line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {f'{key}: ' if key else ''}{message}")


def check_path_list(path: Path, value: list[Any], name: str, line: int | None) -> None:
    for item in value:
        if not isinstance(item, str) or not os.path.isabs(item):
            message = f"every entry must be an absolute path (a string), not {item!r}"
            raise SettingsError(path, message, name, line)


def check_url(path: Path, url: str, name: str, line: int | None) -> None:
    """A URL that Python's parser refuses would break every git call (the URL is not echoed:
    it may hold a token)."""
    problem = url_problem(url)
    if problem:
        raise SettingsError(path, problem, name, line)
    if "://" not in url:
        return
    try:
        parts = urlsplit(url)
        _ = parts.port  # reading the port checks it too
    except ValueError as error:
        raise SettingsError(path, f"not a valid URL: {error}", name, line) from None
    if parts.password is not None and parts.scheme.lower() not in ("http", "https"):
        # ssh takes no password from a URL, and git would put it on ssh's command line (`ps`)
        message = f"a password in a {parts.scheme}:// URL is not used (for ssh: ssh_key)"
        raise SettingsError(path, message, name, line)


def check_wheelhouse(path: Path, text: str, value: str) -> Path:
    wheelhouse = Path(value)  # absolute: checked with the other paths (_PATHS)
    line = line_of(text, "wheelhouse", "")
    if not wheelhouse.is_dir():
        message = f"{value} is not a directory (create it, or leave wheelhouse empty)"
        raise SettingsError(path, message, "wheelhouse", line)
    return wheelhouse


def check_ssh_file(path: Path, text: str, key: str, value: str) -> Path:
    """An ssh file (an absolute path: see _PATHS) must be a readable file; a key others can
    read is refused up front (ssh would ignore it and every fetch would fail)."""
    line = line_of(text, key, "")
    file = Path(value)
    if SSH_UNQUOTABLE in value:
        message = (
            f"ssh would read {SSH_UNQUOTABLE!r} in {value} as a variable: move or link the file"
        )
        raise SettingsError(path, message, key, line)
    try:
        info = file.stat()
        if not file.is_file():
            raise SettingsError(path, f"{value} is not a file", key, line)
        with file.open("rb"):
            pass
    except OSError as error:
        message = f"cannot read {value}: {error.strerror} (create it, or leave {key} empty)"
        raise SettingsError(path, message, key, line) from None
    if key == "ssh_key" and info.st_uid == os.getuid() and info.st_mode & 0o077:
        message = f"{value} is readable by others, so ssh would ignore it: chmod 600 {value}"
        raise SettingsError(path, message, key, line)
    return file


def check_listen(path: Path, text: str, value: str) -> None:
    try:
        parse_listen(value)
    except ValueError as error:
        line = line_of(text, "metrics_listen", "")
        raise SettingsError(path, str(error), "metrics_listen", line) from None


def line_of(text: str, key: str, table: str) -> int | None:
    """The line where ``key`` is set inside ``[table]``, or as ``table.key`` at the top
    (tomllib keeps no positions)."""
    current = ""
    name = rf"(\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})"
    pattern = re.compile(rf"^\s*{name}\s*=")
    dotted = re.compile(rf"^\s*{re.escape(table)}\s*\.\s*{name}\s*=") if table else None
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    for number, line in enumerate(text.splitlines(), start=1):
        match = header.match(line)
        if match:
            current = match.group(1).strip("\"'")
            if not table and current == key:
                return number
            continue
        if current == table and pattern.match(line):
            return number
        if current == "" and dotted and dotted.match(line):
            return number
    return None
