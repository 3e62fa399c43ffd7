"""Load ``environments/NAME/environment.cfg`` into a frozen ``EnvironmentConfig``.

The file is read once, here, at the edge. Every value keeps the file, line and section it came
from, and every problem of the file is collected into ``EnvironmentConfig.errors`` so the user
sees all of them at once; only a missing file raises. Which component names exist is not known
here (the loader finds them), so ``validate_component_names`` is a separate step the loader calls.

Module map: ``envconfig_parse`` reads the INI text with line numbers, ``envconfig_sections`` and
``envconfig_hosts`` interpret the sections, ``envconfig_types`` holds the frozen values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from components_runtime.envconfig.hosts import read_hosts
from components_runtime.envconfig.parse import DEFAULT_SECTION, RawIni, RawSection, parse_ini
from components_runtime.envconfig.sections import (
    Collector,
    did_you_mean,
    read_environment,
    read_overrides,
    read_resolver,
    read_vfs,
)
from components_runtime.envconfig.types import (
    ComponentRef,
    ConfigValue,
    ConfigWarning,
    EnvironmentConfig,
    EnvironmentSettings,
    HostConfig,
    Origin,
    VfsConfig,
    frozen_map,
)
from components_runtime.errors import (
    ConfigurationError,
    MissingComponent,
    MissingEnvironment,
    SuperfluousComponentSection,
    SuperfluousSection,
)

__all__ = [
    "ComponentRef",
    "ConfigValue",
    "ConfigWarning",
    "EnvironmentConfig",
    "EnvironmentSettings",
    "HostConfig",
    "Origin",
    "VfsConfig",
    "find_environment_file",
    "list_environments",
    "load_environment_config",
    "validate_component_names",
]

log = logging.getLogger(__name__)

# [deployd] holds deployd-only settings (time limits); the daemon validates its values.
_SIMPLE_SECTIONS = ("environment", "hosts", "resolver", "vfs", "deployd")
_PREFIXED_SECTIONS = ("host:", "component:", "provisioner:")
# Sections where [DEFAULT] keys would turn into hosts or resolver entries (batou's phantom hosts).
_NO_DEFAULTS = ("hosts", "resolver")


def list_environments(base_dir: Path) -> list[str]:
    """Names of the environments in ``base_dir/environments``, both layouts, sorted."""
    environments = Path(base_dir) / "environments"
    names = {p.parent.name for p in environments.glob("*/environment.cfg") if p.is_file()}
    names.update(p.stem for p in environments.glob("*.cfg") if p.is_file())
    return sorted(names)


def find_environment_file(
    base_dir: Path, name: str
) -> tuple[str, Path, Literal["directory", "flat"]]:
    """The environment's name (``dev.cfg`` means ``dev``), its file and layout; raises
    ``MissingEnvironment`` (with the environments that do exist) when there is none."""
    name = name.removesuffix(".cfg")
    environments = Path(base_dir) / "environments"
    if name and "/" not in name and name not in (".", "..") and len(name) < 200:
        current = environments / name / "environment.cfg"
        if current.is_file():
            return name, current, "directory"
        flat = environments / f"{name}.cfg"
        if flat.is_file():
            return name, flat, "flat"
    existing = list_environments(base_dir)
    raise MissingEnvironment(
        f"Missing environment {name!r}: no environments/{name}/environment.cfg "
        f"(nor the old flat environments/{name}.cfg)",
        file=f"environments/{name}/environment.cfg",
        hint=(
            f"Existing environments: {', '.join(existing)}."
            if existing
            else f"There is no environment at all under {environments}."
        ),
    )


def load_environment_config(base_dir: Path, name: str) -> EnvironmentConfig:
    base_dir = Path(base_dir).absolute()
    name, path, layout = find_environment_file(base_dir, name)
    relative = str(path.relative_to(base_dir))
    out = Collector(relative)
    raw = parse_ini(_read_text(path, out), relative)
    if layout == "flat":
        out.warn(
            "batou's old flat layout (environments/NAME.cfg, batou 2.2 and earlier): deployd "
            "reads it, batou 2.7 does not",
            None,
            None,
            hint=f"move it to environments/{name}/environment.cfg",
        )
    config = _interpret(raw, name, base_dir, path, layout, out)
    log.debug(
        "envconfig: %s read, %d hosts, %d errors", relative, len(config.hosts), len(config.errors)
    )
    return config


def _read_text(path: Path, out: Collector) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        out.error(f"Cannot read the file: {exc.strerror}", None, None)
        return ""
    try:
        return data.decode("utf-8-sig")  # a BOM from a Windows editor is not text
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        out.error(
            f"The file is not valid UTF-8 (byte {data[exc.start]:#x})",
            None,
            line,
            hint="Save the file as UTF-8.",
        )
        return data.decode("utf-8", errors="replace")


def _interpret(
    raw: RawIni,
    name: str,
    base_dir: Path,
    path: Path,
    layout: Literal["directory", "flat"],
    out: Collector,
) -> EnvironmentConfig:
    sections = _with_defaults(raw, out)
    by_name = {section.name: section for section in sections}
    _check_section_names(sections, out)
    settings = read_environment(by_name.get("environment"), out)
    host_sections = [s for s in sections if s.name.startswith("host:")]
    hosts = read_hosts(by_name.get("hosts"), host_sections, settings, out)
    v4, v6 = read_resolver(by_name.get("resolver"), out)
    overrides: dict[str, Mapping[str, ConfigValue]] = {}
    override_origins: dict[str, Origin] = {}
    for section in sections:
        if section.name.startswith("component:"):
            component = section.name[len("component:") :].strip()
            overrides[component] = read_overrides(section, out)
            override_origins[component] = out.origin(section.name, section.line)
        elif section.name.startswith("provisioner:"):
            out.warn(
                "Provisioners are not used by deployd; this section is ignored",
                section.name,
                section.line,
                level="info",
            )
    return EnvironmentConfig(
        name=name,
        base_dir=base_dir,
        file=path,
        settings=settings,
        hosts=frozen_map(hosts),
        overrides=frozen_map(overrides),
        resolver_v4=v4,
        resolver_v6=v6,
        vfs=read_vfs(by_name.get("vfs"), out),
        deployd=read_overrides(by_name["deployd"], out) if "deployd" in by_name else frozen_map(),
        errors=tuple(sorted([*raw.errors, *out.errors], key=lambda e: e.line or 0)),
        warnings=tuple(out.warnings),
        layout=layout,
        override_origins=frozen_map(override_origins),
    )


def _with_defaults(raw: RawIni, out: Collector) -> list[RawSection]:
    """configparser shows ``[DEFAULT]`` keys in every section. deployd does that too, except in
    ``[hosts]`` and ``[resolver]``, where each key would become a phantom host or address."""
    if raw.defaults is None or not raw.defaults.options:
        return list(raw.sections)
    out.warn(
        "Keys in [DEFAULT] apply to every section except [hosts] and [resolver]",
        DEFAULT_SECTION,
        raw.defaults.line,
        hint="Prefer writing the keys into the sections that use them.",
    )
    merged = []
    for section in raw.sections:
        if section.name in _NO_DEFAULTS:
            merged.append(section)
            continue
        own = {option.key for option in section.options}
        extra = tuple(o for o in raw.defaults.options if o.key not in own)
        merged.append(RawSection(section.name, section.line, section.options + extra))
    return merged


def _check_section_names(sections: list[RawSection], out: Collector) -> None:
    for section in sections:
        if section.name in _SIMPLE_SECTIONS or section.name.startswith(_PREFIXED_SECTIONS):
            if (
                section.name.startswith("component:")
                and not section.name[len("component:") :].strip()
            ):
                out.error(
                    "A [component:] section without a component name", section.name, section.line
                )
            continue
        out.error(
            f"Superfluous section in environment configuration: [{section.name}]",
            section.name,
            section.line,
            hint=did_you_mean(section.name, _SIMPLE_SECTIONS)
            or "Known sections: [environment], [hosts], [host:NAME], [component:NAME], "
            "[resolver], [vfs], [provisioner:NAME], [deployd].",
            kind=SuperfluousSection,
        )


def validate_component_names(
    config: EnvironmentConfig, known: set[str]
) -> list[ConfigurationError]:
    """Errors for component names the loader did not find: in a host's list (``MissingComponent``)
    and in ``[component:X]`` sections (``SuperfluousComponentSection``)."""
    errors: list[ConfigurationError] = []
    for host in config.hosts.values():
        for ref in host.components:
            if ref.name in known:
                continue
            errors.append(
                MissingComponent(
                    f"Missing component: {ref.name} (host {host.name})",
                    file=ref.origin.file,
                    line=ref.origin.line,
                    section=ref.origin.section,
                    component=ref.name,
                    host=host.name,
                    hint=did_you_mean(ref.name, known)
                    or "Components are the classes in components/*/component.py, lower-cased.",
                )
            )
    for component, origin in config.override_origins.items():
        if component in known:
            continue
        errors.append(
            SuperfluousComponentSection(
                f"Override section for unknown component found: {component}",
                file=origin.file,
                line=origin.line,
                section=origin.section,
                component=component,
                hint=did_you_mean(component, known),
            )
        )
    return errors
