"""The two subprocesses of a venv build, ``venv`` and ``pip``, with a deadline and pip's
failures translated into :class:`~components_runtime.protocol.ErrorInfo` (its output's tail and
the requirement that failed). Used by ``daemon.venvs.cache`` only.

The host's own pip installs into the new venv (``pip --python``, pip >= 22.3), so the venv needs
no pip of its own and is created in milliseconds. Without a usable host pip, the venv gets its
own pip from ``ensurepip`` (about two seconds more).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from components_runtime.protocol import ErrorInfo
from components_runtime.support import relative
from daemon.venvs.requirements import Requirements, find_requirement

TAIL_LINES = 25
_FAILED_REQUIREMENT = re.compile(
    r"(?:satisfies the requirement|distribution found for|Failed building wheel for|"
    r"Failed to build|Cannot install|Could not install packages due to an \w+:?|"
    r"ResolutionImpossible.*?for|package metadata\.\s*╰─> from) ([^\s(]+)"
)
PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL of a pip that overran


def host_pip_usable() -> bool:
    """pip importable by this interpreter and new enough for ``--python``."""
    spec = importlib.util.find_spec("pip")
    if spec is None:
        return False
    from pip import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    return (major, minor) >= (22, 3)


def create_venv(target: Path, deadline: float) -> ErrorInfo | None:
    command = [sys.executable, "-m", "venv"]
    if host_pip_usable():
        command.append("--without-pip")
    code, output = _run([*command, str(target)], cwd=None, deadline=deadline)
    if code is None:
        return _timeout_error("creating the venv", output)
    if code != 0:
        return ErrorInfo(
            kind="VenvBuildError",
            message=f"python -m venv failed (exit status {code})",
            details=_tail(output),
        )
    return None


def install(
    target: Path,
    requirements: Requirements,
    *,
    cwd: Path,
    wheelhouses: tuple[Path, ...],
    no_index: bool,
    deadline: float,
    on_progress: Callable[[str], None] | None = None,
) -> ErrorInfo | None:
    requirement_file = target / "deployd-requirements.txt"
    requirement_file.write_text("\n".join(requirements.lines) + "\n")
    python = target / "bin" / "python"
    if host_pip_usable():
        command = [sys.executable, "-m", "pip", "--python", str(python)]
    else:
        command = [str(python), "-m", "pip"]
    command += ["install", "--no-input", "--disable-pip-version-check", "-r", str(requirement_file)]
    if requirements.no_deps:
        command.append("--no-deps")
    for wheelhouse in wheelhouses:  # all offered to pip, in this order
        command += ["--find-links", str(wheelhouse)]
    if no_index:
        command.append("--no-index")
    code, output = _run(command, cwd=cwd, deadline=deadline, on_line=on_progress)
    (target / "deployd-pip.log").write_text(output)
    if code is None:
        return _timeout_error("pip install", output)
    if code != 0:
        return pip_error(output, code, requirements)
    return None


def pip_error(output: str, code: int, requirements: Requirements) -> ErrorInfo:
    """pip failed: name the requirement and quote pip's first ERROR line."""
    source = "requirements.lock" if requirements.no_deps else "requirements.txt"
    match = _FAILED_REQUIREMENT.search(output)
    file, line = source, None
    if match:
        failed = _as_written(match.group(1).strip("'\"").rstrip(".:,"), requirements)
        message = f"pip could not install {failed} (from {source})"
        found = find_requirement(requirements, re.split(r"[\[<>=!~;@\s]", failed)[0])
        if found and requirements.files:
            file, line = relative(found[0], requirements.files[0].parent), found[1]
    else:
        message = f"pip install of {source} failed (exit status {code})"
    first_error = _first_error(output)
    if first_error:
        message += f": {first_error}"
    return ErrorInfo(
        kind="VenvBuildError",
        message=message,
        file=file,
        line=line,
        hint="fix the requirement (or provide it in the wheelhouse on offline hosts); the host "
        "stays on its last good deployment and the next run retries",
        details=_tail(output),
    )


def _first_error(output: str) -> str:
    """pip's first ``ERROR:`` line; else the ``×`` line of its boxed errors (a local package
    whose build failed: "Encountered error while generating package metadata.")."""
    lines = [line.strip() for line in output.splitlines()]
    for prefix in ("ERROR:", "×"):
        found = next((line for line in lines if line.startswith(prefix)), "")
        if found:
            return found.removeprefix(prefix).strip()
    return ""


def _as_written(name: str, requirements: Requirements) -> str:
    """A local package as pip names it (``file:///srv/.../myext``) as the requirement file
    names it (``./myext``, relative to the checkout), when it is one of the local packages."""
    path = name.removeprefix("file://")
    for package in requirements.local_packages:
        if path == str(package) and requirements.files:
            checkout = requirements.files[0].parent
            try:
                return f"./{package.relative_to(checkout.resolve())}"
            except ValueError:
                return path
    return name


def _run(
    command: list[str],
    *,
    cwd: Path | None,
    deadline: float,
    on_line: Callable[[str], None] | None = None,
) -> tuple[int | None, str]:
    """Run ``command`` in its own process group; (exit status, output), or (None, output)
    when the deadline passed and the group was killed. ``on_line`` gets each line of output as
    it comes (progress), read by a thread so that the deadline still holds."""
    env = {**os.environ, **PIP_ENV}
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
        errors="replace",
    )
    lines: list[str] = []
    reader = threading.Thread(target=_read, args=(process, lines, on_line), daemon=True)
    reader.start()
    try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
        reader.join()
        return process.returncode, "".join(lines)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=KILL_GRACE)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # stragglers of the group
        reader.join(timeout=KILL_GRACE)
        return None, "".join(lines)


def _read(
    process: subprocess.Popen[str], lines: list[str], on_line: Callable[[str], None] | None
) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if on_line is not None:
            progress = progress_line(line)
            if progress:
                on_line(progress)
    process.stdout.close()


# pip's lines that say how far it got: one per requirement, then the installation.
_PROGRESS = ("Collecting ", "Processing ", "Obtaining ", "Building wheel", "Installing collected",
             "Successfully installed")  # fmt: skip


def progress_line(line: str) -> str | None:
    """``line`` of pip's output when it marks progress (a requirement, the installation)."""
    text = line.strip()
    return text if text.startswith(_PROGRESS) else None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _timeout_error(step: str, output: str) -> ErrorInfo:
    return ErrorInfo(
        kind="VenvBuildTimeout",
        message=f"{step} exceeded the venv build time limit",
        hint="raise venv_build_timeout ([deployd] in environment.cfg or the daemon settings), "
        "or provide a wheelhouse so pip need not download",
        details=_tail(output),
    )


def _tail(output: str) -> tuple[str, ...]:
    lines = [line for line in output.splitlines() if line.strip()]
    return tuple(lines[-TAIL_LINES:])


__all__ = ["create_venv", "host_pip_usable", "install", "pip_error"]
