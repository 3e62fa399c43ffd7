"""Which encrypted secrets files an environment has, as batou 2.4 and later lays them out.

``environments/ENV/`` holds at most one ``secrets.cfg.gpg``, ``secrets.cfg.age`` or
``secrets.cfg.age-diffable`` (the *provider*), and whole-file secrets ``secret-NAME.gpg`` (gpg) or
``secret-NAME.age`` (age and age-diffable) that components read as
``environment.secret_files["NAME"]``. deployd adds host-scoped files,
``secrets-HOST.cfg.age`` / ``.gpg``: encrypted to one host only, read only by that host.

Nothing is decrypted here: this only names files, says what batou would make of them, and
reports the layouts batou 2.4 no longer reads (``batou migrate`` moves them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from components_runtime.errors import ConfigurationError, SecretsError

Format = Literal["gpg", "age", "age-diffable"]
Kind = Literal["config", "file", "host"]

CONFIG_STEM = "secrets.cfg"
PROVIDERS: dict[str, Format] = {".gpg": "gpg", ".age": "age", ".age-diffable": "age-diffable"}
# The whole-file secrets each provider reads (age-diffable keeps them in plain age files).
FILE_SUFFIX: dict[Format, str] = {"gpg": ".gpg", "age": ".age", "age-diffable": ".age"}
HOST_PREFIX = "secrets-"
HOST_SUFFIXES: dict[str, Format] = {".cfg.age": "age", ".cfg.gpg": "gpg"}
MIGRATE_HINT = (
    "run `batou migrate` once with batou 2.4 or later (it moves and renames the secrets), "
    "commit, and push"
)


@dataclass(frozen=True)
class SecretFile:
    """One encrypted file. ``path`` is relative to the repository."""

    path: str
    kind: Kind
    format: Format
    name: str = ""  # "file": what components see in secret_files; "host": the host's name

    @property
    def is_age(self) -> bool:
        return self.format != "gpg"


@dataclass(frozen=True)
class SecretsLayout:
    environment: str
    provider: Format | None  # None: the environment has no secrets.cfg.*
    config: SecretFile | None
    files: tuple[SecretFile, ...]  # secret-NAME.*, sorted by name
    host_files: tuple[SecretFile, ...]  # secrets-HOST.cfg.*, sorted by host
    errors: tuple[ConfigurationError, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.config is None and not self.host_files

    def host_file(self, host: str) -> SecretFile | None:
        return next((f for f in self.host_files if f.name == host), None)

    def needed_by(self, host: str | None) -> tuple[SecretFile, ...]:
        """What a host decrypts: the shared files, and its own host-scoped file."""
        shared = ((self.config,) if self.config else ()) + self.files
        own = self.host_file(host) if host else None
        return shared + ((own,) if own else ())

    def all_files(self) -> tuple[SecretFile, ...]:
        return ((self.config,) if self.config else ()) + self.files + self.host_files


def find_secrets(base_dir: Path, environment: str) -> SecretsLayout:
    """The secrets files of ``environments/<environment>/`` (none when it does not exist)."""
    base_dir = Path(base_dir)
    folder = base_dir / "environments" / environment
    errors = _old_layouts(base_dir, environment)
    entries = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    relative = f"environments/{environment}"
    configs = [name for name in entries if name.startswith(CONFIG_STEM + ".")]
    provider: Format | None = None
    config = None
    if len(configs) > 1:
        errors.append(
            SecretsError(
                f"Several secrets files in {relative}: {', '.join(configs)}",
                file=f"{relative}/{configs[0]}",
                hint="batou reads exactly one secrets.cfg.* (gpg, age or age-diffable): "
                "remove the others",
            )
        )
    elif configs:
        suffix = configs[0][len(CONFIG_STEM) :]
        provider = PROVIDERS.get(suffix)
        if provider is None:
            errors.append(
                SecretsError(
                    f"Unknown secrets file {relative}/{configs[0]}: {suffix!r} is no provider",
                    file=f"{relative}/{configs[0]}",
                    hint="batou knows secrets.cfg.gpg, .age and .age-diffable; "
                    "rename or remove this one",
                )
            )
        else:
            config = SecretFile(f"{relative}/{configs[0]}", "config", provider)
    files, warnings = _secret_files(entries, relative, provider)
    host_files = _host_files(entries, relative)
    return SecretsLayout(
        environment, provider, config, files, host_files, tuple(errors), tuple(warnings)
    )


def _secret_files(
    entries: list[str], relative: str, provider: Format | None
) -> tuple[tuple[SecretFile, ...], list[str]]:
    files, warnings = [], []
    wanted = FILE_SUFFIX[provider] if provider else None
    for entry in entries:
        if not entry.startswith("secret-"):
            continue
        name, dot, suffix = entry[len("secret-") :].rpartition(".")
        if wanted is not None and f".{suffix}" == wanted and dot and name:
            fmt: Format = "gpg" if provider == "gpg" else "age"  # never diffable: whole files
            files.append(SecretFile(f"{relative}/{entry}", "file", fmt, name))
            continue
        why = (
            "there is no secrets.cfg.* next to it, so batou reads no secret files here"
            if provider is None
            else f"with {provider} secrets batou reads secret-NAME{wanted} files only"
        )
        warnings.append(f"{relative}/{entry} is not read: {why}")
    return tuple(files), warnings


def _host_files(entries: list[str], relative: str) -> tuple[SecretFile, ...]:
    found = []
    for entry in entries:
        if not entry.startswith(HOST_PREFIX):
            continue
        for suffix, fmt in HOST_SUFFIXES.items():
            host = entry[len(HOST_PREFIX) : -len(suffix)] if entry.endswith(suffix) else ""
            if host:
                found.append(SecretFile(f"{relative}/{entry}", "host", fmt, host))
    return tuple(found)


def _old_layouts(base_dir: Path, environment: str) -> list[ConfigurationError]:
    """Layouts batou 2.4+ does not read: deployd refuses them rather than run without them."""
    old = []
    flat = base_dir / "secrets" / f"{environment}.cfg"
    if flat.is_file():
        old.append(f"secrets/{environment}.cfg")
    if (base_dir / "secrets").is_dir():
        old.extend(
            f"secrets/{p.name}" for p in sorted((base_dir / "secrets").glob(f"{environment}-*"))
        )
    unsuffixed = base_dir / "environments" / environment / CONFIG_STEM
    if unsuffixed.is_file():
        old.append(f"environments/{environment}/{CONFIG_STEM}")
    if not old:
        return []
    return [
        SecretsError(
            f"Secrets in batou's layout before 2.4 ({', '.join(old)}): batou 2.4 and deployd "
            "no longer read them",
            file=old[0],
            hint=MIGRATE_HINT,
        )
    ]


__all__ = [
    "FILE_SUFFIX",
    "Format",
    "SecretFile",
    "SecretsLayout",
    "find_secrets",
]
