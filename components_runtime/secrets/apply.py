"""Putting decrypted secrets into the runtime environment, the way batou does.

``read_secrets`` turns the decrypted texts the worker received into :class:`Secrets`;
``apply_shared`` merges the environment-wide ones before the roots are built (as batou's
``inject_secrets`` does), ``apply_host_scoped`` puts a host's own file on that host's roots.

* ``[host:X]`` values become ``host.data`` entries (an unknown host is an error);
* ``[component:X]`` values join the environment.cfg overrides and go through the same
  conversion; a key set in both is an error (``DuplicateOverride``), as is a section for a
  component that does not exist (batou stores it anyway; it is never used);
* ``secret-NAME`` files become ``environment.secret_files["NAME"]``;
* every value is secret data: diffs that hold one are hidden, logs have it redacted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components_runtime.errors import (
    ConfigurationError,
    DuplicateOverride,
    SecretsError,
    SuperfluousSecretsSection,
    UnknownHostSecretsSection,
)
from components_runtime.secrets.cleartext import SecretsConfig, parse_secrets
from components_runtime.secrets.guard import SecretGuard, secret_words
from components_runtime.secrets.layout import SecretsLayout

# What a component reading an undecrypted secret file sees in `deployd check` without keys.
PLACEHOLDER = "<not decrypted: deployd check ran without a key for {path}>"


@dataclass(frozen=True)
class Secrets:
    """The decrypted secrets of one environment, as one host sees them."""

    shared: SecretsConfig | None = None
    files: Mapping[str, str] = field(default_factory=dict)  # name -> text
    own: SecretsConfig | None = None  # this host's host-scoped file
    errors: tuple[ConfigurationError, ...] = ()

    def values(self) -> list[str]:
        found = list(self.files.values())
        for config in (self.shared, self.own):
            found += config.values() if config else []
        return found

    def guard(self) -> SecretGuard:
        return SecretGuard(self.values())


def read_secrets(
    layout: SecretsLayout, texts: Mapping[str, str], host: str | None, complete: bool = True
) -> Secrets:
    """Parse what was decrypted. ``complete`` is False for a check without keys: a missing
    text is then expected (secret files get a placeholder), otherwise it is an error."""
    errors: list[ConfigurationError] = list(layout.errors)
    shared = own = None
    files: dict[str, str] = {}
    for secret in layout.needed_by(host):
        text = texts.get(secret.path)
        if text is None:
            if complete:
                errors.append(SecretsError(f"{secret.path} was not decrypted", file=secret.path))
            elif secret.kind == "file":
                files[secret.name] = PLACEHOLDER.format(path=secret.path)
            continue
        if secret.kind == "file":
            files[secret.name] = text
            continue
        parsed = parse_secrets(text, secret.path)
        errors.extend(parsed.errors)
        if secret.kind == "config":
            shared = parsed
        else:
            own = parsed
            errors.extend(_foreign_hosts(parsed, secret.name))
    return Secrets(shared, files, own, tuple(errors))


def guard_for_texts(texts: Mapping[str, str]) -> SecretGuard:
    """The guard for decrypted texts by path, before anything else reads them (the worker
    redacts its events from its first line on): ``secret-NAME`` files count whole, the
    ``secrets*.cfg`` files by their values."""
    values: list[str] = []
    for path, text in texts.items():
        if path.rpartition("/")[2].startswith("secret-"):
            values.append(text)
        else:
            values += parse_secrets(text, path).values()
    return SecretGuard(values)


def _foreign_hosts(config: SecretsConfig, host: str) -> list[ConfigurationError]:
    return [
        UnknownHostSecretsSection(
            f"[host:{name}] in the host-scoped secrets of {host}",
            file=origin.file,
            line=origin.line,
            section=origin.section,
            host=name,
            hint=f"a host-scoped file holds data for its own host only: use [host:{host}]",
        )
        for name, origin in config.host_origins.items()
        if name != host
    ]


def apply_shared(
    environment: Any, secrets: Secrets, components: Iterable[str], env_file: str
) -> tuple[list[ConfigurationError], dict[str, dict[str, tuple[str, int | None]]]]:
    """Merge the environment-wide secrets into ``environment`` (before its roots are built).

    Returns the errors and, per component, where each secret override was written."""
    errors: list[ConfigurationError] = []
    locations: dict[str, dict[str, tuple[str, int | None]]] = {}
    shared = secrets.shared
    if shared is not None:
        errors += _host_data(environment, shared)
        known = set(components)
        for component, values in shared.overrides.items():
            origin = shared.override_origins[component]
            if component not in known:
                errors.append(
                    SuperfluousSecretsSection(
                        f"Secrets section for unknown component found: {component}",
                        file=origin.file,
                        line=origin.line,
                        section=origin.section,
                        component=component,
                    )
                )
            overrides = environment.overrides.setdefault(component, {})
            for key, value in values.items():
                if key in overrides:
                    errors.append(_duplicate(component, key, value, env_file))
                    continue
                overrides[key] = value.text
                locations.setdefault(component, {})[key] = (value.origin.file, value.origin.line)
    environment.secret_files.update(secrets.files)
    _remember(environment, secrets)
    return errors, locations


def apply_host_scoped(
    environment: Any, secrets: Secrets, host_name: str
) -> list[ConfigurationError]:
    """This host's own secrets: its data, and overrides for its own roots only (the same
    component on another host never sees them)."""
    own = secrets.own
    if own is None:
        return []
    errors = _host_data(environment, own)
    for component, values in own.overrides.items():
        roots = [r for r in environment.root_components if r.name == component]
        mine = [r for r in roots if r.host.name == host_name]
        if not mine:
            origin = own.override_origins[component]
            errors.append(
                SuperfluousSecretsSection(
                    f"Host-scoped secrets for {component}, which {host_name} does not run",
                    file=origin.file,
                    line=origin.line,
                    section=origin.section,
                    component=component,
                    host=host_name,
                )
            )
        for root in mine:
            for key, value in values.items():
                if key in environment.overrides.get(component, {}):
                    errors.append(_duplicate(component, key, value, "environment.cfg or secrets"))
                    continue
                root.host_overrides[key] = value.text
                root.override_locations[key] = (value.origin.file, value.origin.line)
    return errors


def _host_data(environment: Any, config: SecretsConfig) -> list[ConfigurationError]:
    errors: list[ConfigurationError] = []
    for host, values in config.host_data.items():
        if host not in environment.hosts:
            origin = config.host_origins[host]
            errors.append(
                UnknownHostSecretsSection(
                    f"Secrets section for unknown host found: {host}",
                    file=origin.file,
                    line=origin.line,
                    section=origin.section,
                    host=host,
                )
            )
            continue
        environment.hosts[host].data.update({key: v.text for key, v in values.items()})
    return errors


def _duplicate(component: str, key: str, value: Any, env_file: str) -> DuplicateOverride:
    return DuplicateOverride(
        f"Attribute override found both in environment and secrets: {component}.{key}",
        file=value.origin.file,
        line=value.origin.line,
        section=value.origin.section,
        component=component,
        hint=f"set {key} in one place only: {env_file} or the secrets",
    )


def _remember(environment: Any, secrets: Secrets) -> None:
    """batou's ``secret_data`` (words of the override values, lines of the files) plus the
    host data, and the guard that hides diffs and redacts output."""
    values = secrets.values()
    environment.secret_data.update(secret_words(values))
    for text in secrets.files.values():
        environment.secret_data.update(text.splitlines())
    environment.secret_guard = SecretGuard(values)


__all__ = [
    "PLACEHOLDER",
    "Secrets",
    "apply_host_scoped",
    "apply_shared",
    "guard_for_texts",
    "read_secrets",
]
