"""``cmd``: run a shell command the way batou does.

The command runs with ``shell=True`` and a piped stdin (so it never reads the worker's stdin);
``env`` is merged over ``os.environ``; output is decoded as UTF-8 with replacement. A return
code outside ``acceptable_returncodes`` raises :class:`~components_runtime.errors.CmdExecutionError`
unless ``ignore_returncode``. With ``communicate=False`` the ``Popen`` object is returned and the
caller owns it. A list is joined into one string with batou's (simple) quoting.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from typing import Any

from components_runtime.errors import CmdExecutionError
from components_runtime.support.output import output


def join_arguments(arguments: Sequence[str]) -> str:
    """batou's quoting of an argument list for ``shell=True`` (kept for identical commands)."""
    quoted = []
    for argument in arguments:
        argument = argument.replace("'", "\\'")
        if " " in argument:
            argument = f"'{argument}'"
        quoted.append(argument)
    return " ".join(quoted)


def cmd(
    cmd: str | Sequence[str],
    silent: bool = False,
    ignore_returncode: bool = False,
    communicate: bool = True,
    env: dict[str, str] | None = None,
    acceptable_returncodes: Sequence[int] = (0,),
    encoding: str | None = "utf-8",
) -> Any:
    command = cmd if isinstance(cmd, str) else join_arguments(cmd)
    full_env = None
    if env is not None:
        full_env = {**os.environ, **env}
    output.annotate(f"cmd: {command}", debug=True)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.PIPE,
        shell=True,
        env=full_env,
    )
    if not communicate:
        return process
    stdout_bytes, stderr_bytes = process.communicate()
    stdout: Any = stdout_bytes
    stderr: Any = stderr_bytes
    if encoding is not None:
        stdout = stdout_bytes.decode(encoding, errors="replace")
        stderr = stderr_bytes.decode(encoding, errors="replace")
    if process.returncode not in acceptable_returncodes and not ignore_returncode:
        raise CmdExecutionError(command, process.returncode, str(stdout), str(stderr))
    return stdout, stderr


__all__ = ["cmd", "join_arguments"]
