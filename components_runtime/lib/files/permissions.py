"""Unix permissions of a path: ``Mode`` (with ``convert_mode``), ``Owner`` and ``Group``."""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from typing import Any

from components_runtime.errors import ConfigurationError, OverrideError, UpdateNeeded
from components_runtime.lib.files.presence import FileComponent
from components_runtime.model import Attribute

_RWX = re.compile(r"^([r-])([w-])([x-])([r-])([w-])([x-])([r-])([w-])([x-])$")
# The permission bit of each of the nine positions, from owner-read down to other-execute.
_BITS = (0o400, 0o200, 0o100, 0o040, 0o020, 0o010, 0o004, 0o002, 0o001)


def convert_mode(string: str) -> int:
    """``"rwxr-x---"`` -> ``0o750``. Anything but nine ``r``/``w``/``x``/``-`` is a SyntaxError."""
    match = _RWX.match(string)
    if match is None:
        raise SyntaxError("Mode-string should be between `---------` and `rwxrwxrwx`.")
    return sum(bit for bit, flag in zip(_BITS, match.groups(), strict=True) if flag != "-")


def parse_mode(component: Any, value: Any) -> int:
    """An int stays; a string is octal (``"644"``, ``"0644"``) or ``rwx`` letters."""
    if not isinstance(value, int | str):
        raise ConfigurationError.from_context(
            f"`mode` is required and `{value!r}` is not a valid value.`", component
        )
    if isinstance(value, int):
        return value
    try:
        return int(value, 8)
    except ValueError:
        pass
    try:
        return convert_mode(value)
    except SyntaxError as error:
        raise OverrideError(
            f"{error.msg} (attribute `mode`, value {value!r}, conversion convert_mode)",
            component=type(component).__name__,
            hint='use an octal number such as 0o644 or "0644", or nine letters like rw-r--r--',
        ) from error


class Mode(FileComponent):
    """The permission bits of ``path`` equal ``mode``. Symlinks are left alone (Linux has no
    ``lchmod``), exactly like batou."""

    mode = Attribute(default=None)

    def configure(self) -> None:
        super().configure()
        self.mode = parse_mode(self, self.mode)

    def verify(self) -> None:
        if os.path.islink(self.path):
            if not hasattr(os, "lchmod"):
                return  # a link's own mode cannot be changed here, so it cannot be wrong
            current = os.lstat(self.path).st_mode
        elif not os.path.lexists(self.path):
            raise UpdateNeeded(f"{self.path} is missing")
        else:
            current = os.stat(self.path).st_mode
        if stat.S_IMODE(current) != self.mode:
            raise UpdateNeeded(f"mode {stat.S_IMODE(current):o}, want {self.mode:o}")

    def why_unchanged(self) -> str:
        if os.path.islink(self.path):
            return f"{self.path} is a symlink: its own mode cannot be set on Linux"
        return f"mode already {self.mode:04o}"

    def update(self) -> None:
        if os.path.islink(self.path):
            os.lchmod(self.path, self.mode)  # type: ignore[attr-defined]
        else:
            os.chmod(self.path, self.mode)


class Owner(FileComponent):
    """``path`` belongs to the user ``owner`` (a name or uid; names resolve at verify time,
    so the user may be created earlier in the same run)."""

    owner: str | int | None = None

    def verify(self) -> None:
        if not os.path.exists(self.path):
            raise UpdateNeeded(f"{self.path} is missing")
        if isinstance(self.owner, str):
            self.owner = pwd.getpwnam(self.owner).pw_uid
        current = os.stat(self.path).st_uid
        if current != self.owner:
            raise UpdateNeeded(f"owner uid {current}, want {self.owner}")

    def why_unchanged(self) -> str:
        return f"owner already uid {self.owner}"

    def update(self) -> None:
        assert isinstance(self.owner, int)
        os.chown(self.path, self.owner, os.stat(self.path).st_gid)


class Group(FileComponent):
    """``path`` belongs to the group ``group`` (a name or gid; resolved at verify time)."""

    group: str | int | None = None

    def verify(self) -> None:
        if not os.path.exists(self.path):
            raise UpdateNeeded(f"{self.path} is missing")
        if isinstance(self.group, str):
            self.group = grp.getgrnam(self.group).gr_gid
        current = os.stat(self.path).st_gid
        if current != self.group:
            raise UpdateNeeded(f"group gid {current}, want {self.group}")

    def why_unchanged(self) -> str:
        return f"group already gid {self.group}"

    def update(self) -> None:
        assert isinstance(self.group, int)
        os.chown(self.path, os.stat(self.path).st_uid, self.group)
