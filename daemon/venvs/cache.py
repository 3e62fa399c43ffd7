"""Content-addressed venvs for a repository's ``requirements.txt``.

``ensure_venv(checkout, venvs_dir, ...)`` returns a :class:`VenvResult` whose ``python`` runs
the worker. ``venvs_dir/<key>/`` is keyed by a hash of everything that decides its content: the
flattened requirement lines (``venvs.requirements``), the build files of local ``-e`` packages
(their code is read at run time from the checkout, which the daemon keeps at one stable path),
every file of local packages installed as a copy (without ``-e``), the wheelhouses' listings
and pip options, the Python interpreter, and where the runtime's modules are
(``daemon.venvs.runtime_overlay``). The same inputs reuse the venv after a few ``stat`` and
``read`` calls, with no pip at all.

How a venv is made (docs/third-party-libraries.md):

1. ``python -m venv --without-pip`` (milliseconds; pip is not needed inside).
2. ``daemon.venvs.runtime_overlay`` links the runtime's modules into ``VENV/deployd-runtime/`` and a
   ``.pth`` appends that directory *after* the venv's own site-packages, so the user's
   requirements win, as in batou, and nothing of the runtime is installed twice.
3. Unless ``requirements.txt`` names batou itself: a ``batou`` distribution stub (metadata only,
   no modules), so a ``batou`` dependency of e.g. ``batou_ext`` counts as satisfied by the
   runtime and is never downloaded. A repository that pins batou gets the real distribution:
   the worker loads the ``batou.lib`` modules deployd does not implement from it
   (``components_runtime.support.batou_library``).
4. The host's pip installs into it: ``python -m pip --python VENV/bin/python install -r ...``,
   run in the checkout so relative paths resolve there.
5. ``deployd-ready.json`` is written last, atomically. A directory without it is an unfinished
   build: never used, removed before a rebuild and by :func:`collect_garbage`.

The venv is built at its final path rather than renamed into place from a temporary directory:
pip writes the venv's absolute path into console-script shebangs, so a renamed venv would carry
broken scripts. The ready marker gives the same all-or-nothing guarantee. A venv in use is never
modified: a changed input means a different key, hence a different directory.

A run that uses a venv holds a shared ``flock`` on ``VENV/.in-use`` (:func:`lock_in_use`);
:func:`collect_garbage` removes a venv only after taking that lock exclusively, without waiting,
so a venv that ``deployd check`` or ``apply`` is using is never deleted under it. The lock file
is part of neither the key nor the ready check.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from components_runtime.protocol import ErrorInfo
from components_runtime.support import relative
from daemon.config import DEFAULT_LIMITS
from daemon.venvs.in_use import IN_USE, InUse, claim_exclusive, hold_shared
from daemon.venvs.requirements import Requirements, RequirementsError, read_requirements
from daemon.venvs.runtime_overlay import install_overlay, overlay_problem, runtime_fingerprint

log = logging.getLogger(__name__)

READY = "deployd-ready.json"
BATOU_STUB_VERSION = "2.7.1"  # the batou release whose component model the runtime provides
# Bump when the venv layout changes, so old venvs are not reused. (deployd's version is not part
# of the key: a venv depends on the runtime only through the linked paths, which are.)
KEY_FORMAT = 1

VenvOutcome = Literal["reused", "built", "failed"]


@dataclass(frozen=True)
class VenvResult:
    python: Path | None  # the venv's interpreter; None when the build failed
    key: str
    outcome: VenvOutcome
    duration: float
    error: ErrorInfo | None = None
    notices: tuple[str, ...] = ()

    @property
    def path(self) -> Path | None:
        return self.python.parent.parent if self.python else None


def ensure_venv(
    checkout: Path,
    venvs_dir: Path,
    *,
    wheelhouse: Path | None = None,
    no_index: bool = False,
    timeout: float = DEFAULT_LIMITS.venv_build,
    keep: Iterable[str] | None = None,
    on_build: Callable[[Path, Requirements], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> VenvResult:
    """The venv for the repository at ``checkout``: reused, built, or failed (as data).

    pip gets ``--find-links`` for the repository's ``wheels/`` (when present) and then for
    ``wheelhouse`` (the host's directory, from the settings): both, see :func:`wheelhouses`.
    ``keep``: when given, after a successful build every other venv except these keys is
    garbage-collected.
    ``on_build(target, requirements)`` is called just before a build starts (a build may take
    minutes: ``deployd apply`` says so instead of staying silent), and ``on_progress(line)``
    with each of pip's lines that marks progress (a requirement collected, the installation).
    """
    started = time.monotonic()
    checkout, venvs_dir = checkout.absolute(), venvs_dir.absolute()
    try:
        requirements = read_requirements(checkout)
    except (RequirementsError, OSError, UnicodeDecodeError) as unreadable:
        return _failed("", started, _requirements_error(unreadable, checkout))
    houses = wheelhouses(checkout, wheelhouse)
    try:
        key = venv_key(requirements, houses, no_index)
    except (OSError, RuntimeError) as unreadable:  # a build file vanished; runtime incomplete
        return _failed("", started, ErrorInfo(kind="VenvBuildError", message=str(unreadable)))
    target = venvs_dir / key
    error: ErrorInfo | None = None
    notices = requirements.notices
    if _usable(target):
        return VenvResult(_python(target), key, "reused", time.monotonic() - started, None, notices)
    try:
        venvs_dir.mkdir(parents=True, exist_ok=True)
        with _build_lock(venvs_dir):
            if not _usable(target):  # another process may have built it meanwhile
                if on_build is not None:
                    on_build(target, requirements)
                deadline = started + timeout
                error = _build(
                    target, requirements, checkout, houses, no_index, deadline, on_progress
                )
    except (OSError, RuntimeError) as broken:  # disk full, permissions, runtime not found
        error = ErrorInfo(
            kind="VenvBuildError",
            message=f"cannot build {target}: {broken}",
            hint="check the state directory (space, permissions)",
        )
    if error:
        shutil.rmtree(target, ignore_errors=True)
        return _failed(key, started, error, notices)
    if keep is not None:
        collect_garbage(venvs_dir, {*keep, key})
    log.info("venv: built %s in %.1fs", key, time.monotonic() - started)
    return VenvResult(_python(target), key, "built", time.monotonic() - started, None, notices)


def wheelhouses(checkout: Path, host_wheelhouse: Path | None) -> tuple[Path, ...]:
    """Where pip finds wheels (``--find-links``), in order: the repository's own ``wheels/``,
    then the host's directory. Both are offered, so a repository can ship its own packages
    while the host provides the rest; the same directory is listed once."""
    found: list[Path] = []
    if (checkout / "wheels").is_dir():
        found.append(checkout.absolute() / "wheels")
    if host_wheelhouse is not None:
        found.append(host_wheelhouse.absolute())
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return tuple(unique.values())


def venv_key(requirements: Requirements, wheelhouses: tuple[Path, ...], no_index: bool) -> str:
    """Hash of every input that decides a venv's content (see the module docstring);
    ``wheelhouses`` as :func:`wheelhouses` gives them."""
    digest = hashlib.sha256()
    inputs = {
        "format": KEY_FORMAT,
        "lines": requirements.lines,
        "no_deps": requirements.no_deps,
        "python": [sys.version, os.path.realpath(_base_python())],
        "runtime": [BATOU_STUB_VERSION, *runtime_fingerprint()],
        # One list for all, as for a single wheelhouse before: keys made then stay valid.
        "wheelhouse": [entry for house in wheelhouses for entry in _listing(house)],
        "no_index": no_index,
    }
    digest.update(json.dumps(inputs, sort_keys=True, default=str).encode())
    for package in requirements.local_packages:
        for name in ("pyproject.toml", "setup.py", "setup.cfg"):
            path = package / name
            if path.is_file():
                digest.update(f"\0{path}\0".encode() + path.read_bytes())
    for package in requirements.copied_packages:  # a copy in the venv: every file counts
        for path in _package_files(package):
            digest.update(f"\0{path.relative_to(package)}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


# What building a package leaves in its source tree; not part of the package's content.
_BUILD_LEFTOVERS = ("__pycache__", ".git", "build", "dist")


def _package_files(package: Path) -> list[Path]:
    """Every file of a local package's source tree, sorted (build leftovers skipped)."""
    found: list[Path] = []
    for directory, subdirs, files in os.walk(package):
        subdirs[:] = sorted(
            d for d in subdirs if d not in _BUILD_LEFTOVERS and not d.endswith(".egg-info")
        )
        found += (Path(directory) / name for name in sorted(files) if not name.endswith(".pyc"))
    return found


def collect_garbage(venvs_dir: Path, keep: Iterable[str]) -> tuple[str, ...]:
    """Remove every venv (finished or not) except ``keep`` and those in use; return the
    removed keys.

    Callers pass the venv in use and the last good one; a venv another process holds with
    :func:`lock_in_use` is skipped as well. A directory is renamed out of the way while its
    lock is held exclusively (so no run can take it meanwhile), and a crash half-way through
    never leaves a half-deleted venv under its key.
    """
    kept = set(keep)
    removed: list[str] = []
    if not venvs_dir.is_dir():
        return ()
    with _build_lock(venvs_dir):
        for entry in sorted(venvs_dir.iterdir()):
            if entry.name.startswith(".") or entry.name in kept or not entry.is_dir():
                continue
            claim = claim_exclusive(entry)
            if claim is None:
                continue
            try:
                trash = venvs_dir / f".trash-{entry.name}-{os.getpid()}"
                entry.rename(trash)
            finally:
                os.close(claim)  # a run that waited on it finds the path gone and retries
            shutil.rmtree(trash, ignore_errors=True)
            removed.append(entry.name)
        for stale in venvs_dir.glob(".trash-*"):
            shutil.rmtree(stale, ignore_errors=True)
    if removed:
        log.info("venv: removed %s", ", ".join(removed))
    return tuple(removed)


def lock_in_use(venv: Path) -> InUse | None:
    """Hold ``venv`` against :func:`collect_garbage` (see ``daemon.venvs.in_use``); None when
    it was collected since ``ensure_venv`` returned it, or is unfinished: call that again."""
    held = hold_shared(venv)
    if held is not None and not _usable(venv):
        held.release()
        return None
    return held


def _build(
    target: Path,
    requirements: Requirements,
    checkout: Path,
    wheelhouses: tuple[Path, ...],
    no_index: bool,
    deadline: float,
    on_progress: Callable[[str], None] | None = None,
) -> ErrorInfo | None:
    from daemon.venvs import pip_install as pip  # only when building: keeps the reuse path light

    shutil.rmtree(target, ignore_errors=True)  # an unfinished earlier build
    error = pip.create_venv(target, deadline)
    if error:
        return error
    site_packages = _site_packages(target)
    install_overlay(target, site_packages)
    if not requirements.pins_batou:
        _write_batou_stub(site_packages)
    if not requirements.empty:
        error = pip.install(
            target,
            requirements,
            cwd=checkout,
            wheelhouses=wheelhouses,
            no_index=no_index,
            deadline=deadline,
            on_progress=on_progress,
        )
        if error:
            return error
    (target / IN_USE).touch()  # so that a run by another user can lock it read-only
    _write_atomically(
        target / READY,
        json.dumps(
            {
                "created": time.time(),
                "lines": requirements.lines,
                "no_deps": requirements.no_deps,
                "python": sys.version.split()[0],
            },
            indent=2,
        ),
    )
    return None


def _write_batou_stub(site_packages: Path) -> None:
    info = site_packages / f"batou-{BATOU_STUB_VERSION}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: batou\nVersion: {BATOU_STUB_VERSION}\n"
        "Summary: provided by deployd's runtime (components_runtime); no modules here\n"
    )
    (info / "INSTALLER").write_text("deployd\n")
    # RECORD lists the stub's own files, so that pip can remove it when a dependency insists
    # on a newer batou (an empty RECORD leaves two batou dist-infos side by side).
    files = ("METADATA", "INSTALLER", "RECORD")
    (info / "RECORD").write_text("".join(f"{info.name}/{name},,\n" for name in files))


def _site_packages(target: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return target / "lib" / version / "site-packages"


def _usable(target: Path) -> bool:
    """Finished, its interpreter still resolves (the base Python may have been removed) and its
    runtime overlay is whole; a finished venv that is not is rebuilt, with a warning."""
    if not (target / READY).is_file():
        return False
    problem = None if _python(target).exists() else f"{_python(target)} does not resolve"
    problem = problem or overlay_problem(target, _site_packages(target))
    if problem:
        log.warning("venv: %s is damaged (%s): building it again", target.name, problem)
    return problem is None


def _python(target: Path) -> Path:
    return target / "bin" / "python"


def _base_python() -> str:
    return getattr(sys, "_base_executable", sys.executable)


def _listing(wheelhouse: Path) -> list[str]:
    if not wheelhouse.is_dir():
        return []
    return [str(wheelhouse.resolve()), *sorted(os.listdir(wheelhouse))]


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temporary, path)


class _build_lock:  # noqa: N801 (used as a context manager)
    """An exclusive flock on ``venvs_dir/.lock``: one builder or collector at a time."""

    def __init__(self, venvs_dir: Path) -> None:
        self.path = venvs_dir / ".lock"

    def __enter__(self) -> None:
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _requirements_error(error: Exception, checkout: Path) -> ErrorInfo:
    if isinstance(error, RequirementsError):
        return ErrorInfo(
            kind="RequirementsError",
            message=error.message,
            file=relative(error.file, checkout),
            line=error.line,
            hint="fix requirements.txt and commit; the host stays on its last "
            "good deployment meanwhile",
        )
    return ErrorInfo(kind="RequirementsError", message=f"cannot read requirements: {error}")


def _failed(
    key: str, started: float, error: ErrorInfo, notices: tuple[str, ...] = ()
) -> VenvResult:
    log.warning("venv: %s", error.message)
    return VenvResult(None, key, "failed", time.monotonic() - started, error, notices)


__all__ = [
    "InUse",
    "VenvResult",
    "collect_garbage",
    "ensure_venv",
    "lock_in_use",
    "venv_key",
    "wheelhouses",
]
