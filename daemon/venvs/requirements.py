"""Read a repository's ``requirements.txt`` / ``requirements.lock`` into what pip will install.

Pure reading, no pip: the result says which lines pip gets (flattened, ``-r`` includes inlined,
local paths made absolute), whether the lock is used (``--no-deps``), which local packages'
build files decide the venv, and notices for the operator. ``daemon.venvs.cache`` hashes it into the
venv key and hands the lines to pip.

Rules (see docs/third-party-libraries.md):

* ``requirements.lock`` is used, with ``--no-deps``, when its first line is
  ``# appenv-requirements-hash: <sha256 of requirements.txt>`` (as appenv writes it);
  a stale lock is ignored with a notice and ``requirements.txt`` is installed instead.
* Lines naming ``batou`` itself are installed like any other: the worker loads the
  ``batou.lib`` modules deployd does not implement from that distribution, while the component
  API still comes from the runtime (see :attr:`Requirements.pins_batou`).
* ``-e ./path`` and ``./path`` resolve against the repository checkout; the path must exist.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

LOCK_HASH_PREFIX = "# appenv-requirements-hash:"
BUILD_FILES = ("pyproject.toml", "setup.py", "setup.cfg")

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)(.+)$")
_EDITABLE = re.compile(r"^(-e|--editable)(?:\s+|=)(.+)$")


class RequirementsError(ValueError):
    """A requirement file is wrong; ``file`` and ``line`` locate it."""

    def __init__(self, message: str, *, file: Path, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line


@dataclass(frozen=True)
class Requirements:
    lines: tuple[str, ...]  # what pip gets, one requirement or option per line
    no_deps: bool  # True when the lock is installed
    local_packages: tuple[Path, ...]  # absolute directories of local (-e) packages
    files: tuple[Path, ...]  # every requirement file read
    notices: tuple[str, ...] = ()
    copied_packages: tuple[Path, ...] = ()  # local packages installed as a copy (not -e)

    @property
    def pins_batou(self) -> bool:
        """A line names batou itself: the venv gets batou's real distribution (not the stub)."""
        return any(requirement_name(line) == "batou" for line in self.lines)

    @property
    def empty(self) -> bool:
        """Nothing to install: only options (or nothing) are left."""
        return not any(not line.startswith("-") or _is_local(line) for line in self.lines)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(checkout: Path) -> Requirements:
    """Decide what to install for the repository at ``checkout`` (see the module docstring)."""
    source = checkout / "requirements.txt"
    lock = checkout / "requirements.lock"
    notices: list[str] = []
    if not source.is_file():
        return Requirements(lines=(), no_deps=False, local_packages=(), files=())
    chosen, no_deps = source, False
    if lock.is_file():
        if lock_matches(source, lock):
            chosen, no_deps = lock, True
        else:
            notices.append(
                "requirements.lock does not match requirements.txt (its "
                f"'{LOCK_HASH_PREFIX}' line is missing or stale): installing requirements.txt; "
                "run ./appenv update-lockfile and commit the lock"
            )
    reader = _Reader(checkout, notices)
    reader.read(chosen)
    return Requirements(
        lines=tuple(reader.lines),
        no_deps=no_deps,
        local_packages=tuple(reader.local_packages),
        files=tuple(reader.files),
        notices=tuple(notices),
        copied_packages=tuple(reader.copied_packages),
    )


def lock_matches(source: Path, lock: Path) -> bool:
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    with lock.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip()
    return first.startswith(LOCK_HASH_PREFIX) and first[len(LOCK_HASH_PREFIX) :].strip() == expected


def requirement_name(line: str) -> str | None:
    """The distribution a requirement line names, normalised, or None (options, paths)."""
    egg = _EGG.search(line)
    if egg:
        return normalise(egg.group(1))
    if line.startswith("-") or _is_local(line) or "://" in line.split("@")[0]:
        return None
    match = _NAME.match(line)
    return normalise(match.group(1)) if match else None


def find_requirement(requirements: Requirements, name: str) -> tuple[Path, int] | None:
    """The file and line that name distribution ``name`` (any spelling) or local package
    ``./path``, or None: a dependency pulled in by another package is in no file."""
    if not requirements.files:
        return None
    checkout = requirements.files[0].parent.resolve()  # local paths resolve against it
    local = (checkout / name).resolve() if _is_local(name) else None
    for path in requirements.files:
        try:
            lines = _logical_lines(path)
        except (OSError, RequirementsError):
            continue
        for number, line in lines:
            if local is not None and _is_local(line):
                if (checkout / _local_target(line)).resolve() == local:
                    return path, number
            elif local is None and requirement_name(line) == normalise(name):
                return path, number
    return None


def _local_target(line: str) -> str:
    editable = _EDITABLE.match(line)
    return (editable.group(2).strip() if editable else line).removeprefix("file:")


def _is_local(line: str) -> bool:
    target = line
    editable = _EDITABLE.match(line)
    if editable:
        target = editable.group(2).strip()
    return target.startswith((".", "/")) or target.startswith("file:")


class _Reader:
    """Flattens requirement files; collects local packages and notices."""

    def __init__(self, checkout: Path, notices: list[str]) -> None:
        self.checkout = checkout.resolve()
        self.notices = notices
        self.lines: list[str] = []
        self.local_packages: list[Path] = []
        self.copied_packages: list[Path] = []
        self.files: list[Path] = []

    def read(self, path: Path) -> None:
        if path in self.files:
            return
        self.files.append(path)
        for number, line in _logical_lines(path):
            self._take(path, number, line)

    def _take(self, path: Path, number: int, line: str) -> None:
        include = _INCLUDE.match(line)
        if include:
            target = (path.parent / include.group(2).strip()).resolve()
            if not target.is_file():
                raise RequirementsError(
                    f"{include.group(1)} {include.group(2).strip()}: no such file",
                    file=path,
                    line=number,
                )
            if include.group(1) in ("-c", "--constraint"):
                self.files.append(target)
                self.lines.append(f"--constraint {target}")
            else:
                self.read(target)
            return
        if _is_local(line):
            self.lines.append(self._local(path, number, line))
            return
        self.lines.append(line)

    def _local(self, path: Path, number: int, line: str) -> str:
        editable = _EDITABLE.match(line)
        target = _local_target(line)
        directory = (self.checkout / target).resolve()
        if not directory.is_dir():
            raise RequirementsError(
                f"'{line}': {target} is not a directory in the repository "
                "(local paths resolve against the repository checkout)",
                file=path,
                line=number,
            )
        if not any((directory / name).is_file() for name in BUILD_FILES):
            raise RequirementsError(
                f"'{line}': {target} has no pyproject.toml, setup.py or setup.cfg",
                file=path,
                line=number,
            )
        self.local_packages.append(directory)
        if not editable:
            self.copied_packages.append(directory)
        return f"-e {directory}" if editable else str(directory)


def _read_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequirementsError(
            f"{path.name} is not valid UTF-8 (byte 0x{data[error.start]:02x}); save it as UTF-8",
            file=path,
            line=data[: error.start].count(b"\n") + 1,
        ) from None


def _logical_lines(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) with comments stripped and ``\\`` continuations joined."""
    result: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(_read_utf8(path).splitlines(), 1):
        text = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if pending:
            text = text.lstrip()
        else:
            start = number
        if text.endswith("\\"):
            pending += text[:-1]
            continue
        text = (pending + text).strip()
        pending = ""
        if text:
            result.append((start, text))
    if pending.strip():
        result.append((start, pending.strip()))
    return result


__all__ = [
    "Requirements",
    "RequirementsError",
    "find_requirement",
    "lock_matches",
    "normalise",
    "read_requirements",
    "requirement_name",
]
