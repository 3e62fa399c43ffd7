"""The secrets step of ``deployd apply`` / ``check``: decrypt with this host's keys, or say why not.

Where the keys are: ``--identity FILE`` (repeatable, tried in order) and ``--gnupg-home DIR``,
else ``secrets_identities`` / ``gnupg_home`` from the daemon's settings file, else the host's SSH
host keys and gpg's default keyring. So a host and a CI job behave alike.

``apply`` refuses to converge when a file cannot be decrypted (exit 2); ``check`` goes on
without the values, checks the structure and lists which hosts can decrypt each file.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.config import read_key

if TYPE_CHECKING:
    from components_runtime.protocol import ErrorInfo, WorkerRequest
    from daemon.secrets import SecretsOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--identity", action="append", metavar="FILE", dest="identities",
        help="decrypt age secrets with this SSH private key or age identity file (repeatable, "
        "tried in order; default: secrets_identities from the settings, else the host's "
        "SSH host keys)",
    )  # fmt: skip
    parser.add_argument(
        "--gnupg-home", metavar="DIR",
        help="the gpg keyring for .gpg secrets (default: gnupg_home from the settings, else "
        "gpg's own)",
    )  # fmt: skip


def secrets_options(args: argparse.Namespace, settings_file: Path) -> SecretsOptions:
    """The command line's keys, else the settings file's, else the host's defaults (a settings
    file that cannot be read is reported by the state-dir lookup already)."""
    from daemon.secrets import SecretsOptions

    configured, _ = read_key(settings_file, "secrets_identities")
    home_setting, _ = read_key(settings_file, "gnupg_home")
    identities = args.identities or (configured if isinstance(configured, list) else None)
    home = args.gnupg_home or (home_setting if isinstance(home_setting, str) else None)
    return SecretsOptions(
        identities=tuple(Path(os.path.abspath(p)) for p in identities) if identities else None,
        gnupg_home=Path(os.path.abspath(home)) if home else None,
    )


def with_secrets(
    request: WorkerRequest, options: SecretsOptions, say: Any
) -> tuple[WorkerRequest | None, list[Any]]:
    """The request with the decrypted secrets; ``(None, errors)`` when apply must refuse.
    ``check`` always gets a request, and errors only for files that are damaged (it checks
    without the values of files it has no key for)."""
    from components_runtime.secrets import find_secrets
    from daemon.secrets import decrypt_secrets, run_host

    repository = Path(request.repository)
    layout = find_secrets(repository, request.environment)
    if layout.empty:
        return request, []
    host = None
    if layout.host_files and not (request.mode == "check" and request.all_hosts):
        host, _ = run_host(repository, request.environment, request.host)
    decryption = decrypt_secrets(repository, request.environment, host, options, layout)
    if decryption.ok:
        return replace(request, secrets=decryption.payload), []
    name, hosts = run_host(repository, request.environment, request.host)
    decryption = decryption.naming(host or name)
    if request.mode != "check":
        return None, list(decryption.errors())
    for failure in decryption.failures:
        if not failure.damaged:
            say(f"note: {failure.message}: checking without its values")
    damaged = [f.to_error() for f in decryption.failures if f.damaged]
    _list_recipients(repository, request.environment, hosts, options, say)
    return replace(request, secrets=decryption.payload), damaged


def guard(request: WorkerRequest) -> Any:
    """What cuts the secret values out of the worker's stderr (component code may print one)
    and out of the runner's own errors (a crashed worker's stderr tail); None without secrets.
    The worker redacts its events itself."""
    if request.secrets is None or not request.secrets.texts:
        return None
    from components_runtime.secrets import guard_for_texts

    return guard_for_texts(request.secrets.as_dict())


def redacted_stderr(secret_guard: Any, write: Callable[[str], None]) -> Callable[[str], None]:
    if secret_guard is None:
        return write
    return lambda line: write(secret_guard.redact(line))


def redacted_errors(secret_guard: Any, errors: list[ErrorInfo]) -> list[ErrorInfo]:
    from components_runtime.protocol import ErrorInfo

    if secret_guard is None:
        return errors
    return [ErrorInfo.from_dict(secret_guard.redact_data(asdict(error))) for error in errors]


def _list_recipients(
    repository: Path, environment: str, hosts: list[str], options: SecretsOptions, say: Any
) -> None:
    from components_runtime.secrets import find_secrets
    from daemon.secrets import environment_recipients, render

    layout = find_secrets(repository, environment)
    try:
        found = environment_recipients(repository, layout, set(hosts), options.gnupg_home)
    except OSError as error:
        print(f"deployd: cannot list the recipients: {error}", file=sys.stderr)
        return
    say("who can decrypt the secrets:")
    for line in render(found, hosts):
        say(f"  {line}")


__all__ = [
    "add_arguments",
    "guard",
    "redacted_errors",
    "redacted_stderr",
    "secrets_options",
    "with_secrets",
]
