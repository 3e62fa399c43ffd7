"""``/etc/deployd/deployd.toml`` into one frozen :class:`Settings`, every default in one place.

The file is read once at start-up with :mod:`tomllib`. An unknown key, a wrong type or a bad value
stops start-up with a :class:`SettingsError` naming the file, the line and the key. Every option is
documented in ``docs/settings.md``; ``OPTIONS`` below is the single table of names, types and
defaults that both the parser and the documentation test read.
"""

from __future__ import annotations

import difflib
import math
import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from daemon.config.addresses import debug_endpoint
from daemon.config.checks import (
    branch_problem,
    directory_problem,
    duration_problem,
)
from daemon.config.defaults import (
    DEBUG_PORT,
    METRICS_LISTEN,
    ROOT,
    SETTINGS_FILE,
    SOCKET,
    STATE_DIR,
)
from daemon.config.limits import Limits, LimitsError
from daemon.config.settings_errors import (
    SettingsError,
    check_listen,
    check_path_list,
    check_ssh_file,
    check_url,
    check_wheelhouse,
    line_of,
)
from daemon.config.settings_file import UnreadableSettings, read_settings_text
from daemon.config.trust import TrustError, TrustPolicy, parse_trust

# (key, type, default, check) per table; None as default means "required" for repository and
# environment, "not set" for the others.
_TOP: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "repository": (str, None),
    "branch": (str, "main"),
    "environment": (str, None),
    "host": (str, ""),  # empty: this machine's host name
    "root": (str, str(ROOT)),
    "state_dir": (str, str(STATE_DIR)),
    "poll_interval": ((int, float), 60.0),
    "converge_interval": ((int, float), 1800.0),
    "splay": ((int, float), 300.0),
    "socket": (str, str(SOCKET)),
    "socket_group": (str, "deployd"),
    "control_group": (str, ""),  # empty: only root (and the daemon's own user) may change
    "debug": (bool, False),
    "debug_port": (int, DEBUG_PORT),  # 0: any free port (status shows it); REMOTE_PDB_PORT wins
    "debug_allow_remote": (bool, False),
    "wheelhouse": (str, ""),  # empty: only the repository's own wheels/
    "no_index": (bool, False),
    "keep_runs": (int, 200),
    "inbox": (str, ""),  # empty: STATE_DIR/inbox
    "watch_repository": (bool, True),
    "retry_max": ((int, float), 300.0),
    "shutdown_grace": ((int, float), 60.0),
    "metrics_listen": (str, METRICS_LISTEN),
    "ssh_key": (str, ""),  # empty: ssh's own choice (~/.ssh/config, the agent, ~/.ssh/id_*)
    "ssh_known_hosts": (str, ""),  # empty: ssh's own known_hosts files
    # keys for batou's encrypted secrets (docs/secrets.md); not set: the SSH host keys
    "secrets_identities": (list, None),
    "gnupg_home": (str, ""),  # empty: gpg's own keyring ($GNUPGHOME, ~/.gnupg)
}
# [limits] keys and defaults live in daemon.config.limits.Limits (one place for every time limit).
_LIMITS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    f.name: ((int, float, str), f.default) for f in fields(Limits)
}
_WEBHOOK: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "enabled": (bool, False),
    "listen": (str, "127.0.0.1"),
    "port": (int, 8787),
    "secret_file": (str, ""),
    "rate_limit": ((int, float), 10.0),  # requests per minute; more get 429
}
# The host's own rollout settings (docs/fleet.md): windows and freezes here replace the
# repository's; unset (None), the repository's [deployd] section decides.
_ROLLOUT: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "windows": (list, None),
    "freezes": (list, None),
    "drift_outside_windows": (bool, None),
    "prometheus_url": (str, ""),  # empty: waves are paced by their delays only
}
# [trust]: see daemon.config.trust; None means "not set" (groups and paths are sub-tables)
_TRUST: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "allowed_signers": (str, ""),
    "gpg_keyring": (str, ""),
    "verify": (str, "every-commit"),
    "groups": (dict, None),
    "paths": (dict, None),
}
OPTIONS = {
    "": _TOP,
    "limits": _LIMITS,
    "webhook": _WEBHOOK,
    "rollout": _ROLLOUT,
    "trust": _TRUST,
}
_PORTS = {"port", "debug_port"}
# top-level keys that must hold an absolute path; "" means the default for the optional ones
_OPTIONAL_PATHS = {"inbox", "wheelhouse", "ssh_key", "ssh_known_hosts", "gnupg_home"}
_PATHS = {"root", "state_dir", "socket", *_OPTIONAL_PATHS}
_SECONDS = {"poll_interval", "converge_interval", "splay", "retry_max", "shutdown_grace"}
_POSITIVE = {"poll_interval", "converge_interval", "keep_runs", "retry_max", "port", "rate_limit"}


@dataclass(frozen=True)
class WebhookSettings:
    enabled: bool = False
    listen: str = "127.0.0.1"
    port: int = 8787
    secret_file: str = ""
    rate_limit: float = 10.0


@dataclass(frozen=True)
class RolloutSettings:
    windows: tuple[str, ...] | None = None  # None: the repository's
    freezes: tuple[str, ...] | None = None
    drift_outside_windows: bool | None = None
    prometheus_url: str = ""


@dataclass(frozen=True)
class Settings:
    repository: str
    environment: str
    branch: str = "main"
    host: str = ""
    root: Path = ROOT
    state_dir: Path = STATE_DIR
    poll_interval: float = 60.0
    converge_interval: float = 1800.0
    splay: float = 300.0
    socket: Path = SOCKET
    socket_group: str = "deployd"
    control_group: str = ""
    debug: bool = False
    debug_port: int = DEBUG_PORT
    debug_host: str = "127.0.0.1"  # from REMOTE_PDB_HOST (not a file option)
    debug_allow_remote: bool = False
    wheelhouse: Path | None = None
    no_index: bool = False
    keep_runs: int = 200
    inbox: Path = STATE_DIR / "inbox"
    watch_repository: bool = True
    retry_max: float = 300.0
    shutdown_grace: float = 60.0
    metrics_listen: str = METRICS_LISTEN
    ssh_key: Path | None = None
    ssh_known_hosts: Path | None = None
    secrets_identities: tuple[Path, ...] | None = None  # None: the host's SSH host keys
    gnupg_home: Path | None = None
    limits: Limits = Limits()
    webhook: WebhookSettings = WebhookSettings()
    rollout: RolloutSettings = RolloutSettings()
    trust: TrustPolicy = TrustPolicy()
    source: Path | None = None

    @property
    def host_name(self) -> str:
        """The host name used to select ``[host:NAME]``: the configured one or this machine's."""
        return self.host or socket.gethostname().split(".")[0]


def load_settings(
    path: Path | str = SETTINGS_FILE, environ: Mapping[str, str] = os.environ
) -> Settings:
    """Read and check the settings file; raise :class:`SettingsError` on any problem.

    The debugger's address comes from ``REMOTE_PDB_HOST`` / ``REMOTE_PDB_PORT`` in the daemon's
    environment, as for ``deployd apply --debug``; unset, it is 127.0.0.1 and ``debug_port``."""
    path = Path(path)
    try:
        text = read_settings_text(path)
    except FileNotFoundError as error:
        raise SettingsError(path, f"cannot read the settings file: {error.strerror}") from None
    except UnreadableSettings as error:
        raise SettingsError(path, str(error), line=error.line) from None
    return with_debug_endpoint(parse_settings(text, path), environ)


def with_debug_endpoint(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """``settings`` with the debugger's host/port from the environment (REMOTE_PDB_*)."""
    source = settings.source or SETTINGS_FILE
    defaults = {"REMOTE_PDB_PORT": str(settings.debug_port)}
    merged = {**defaults, **{k: v for k, v in environ.items() if k.startswith("REMOTE_PDB_") and v}}
    try:
        host, port = debug_endpoint(merged)
    except ValueError as error:
        raise SettingsError(source, f"{error} (in the daemon's environment)") from None
    return replace(settings, debug_host=host, debug_port=port)


def parse_settings(text: str, path: Path) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(path, f"not valid TOML: {error}") from error
    values: dict[str, Any] = {}
    for table, options in OPTIONS.items():
        section = data if not table else data.get(table, {})
        if table and not isinstance(section, dict):
            raise SettingsError(path, "must be a table", table, line_of(text, table, ""))
        for key, value in section.items():
            if not table and key in OPTIONS and key:
                continue
            name = f"{table}.{key}" if table else key
            if key not in options:
                message = _unknown(key, table, options)
                raise SettingsError(path, message, name, line_of(text, key, table))
            values[name] = _check(path, text, table, key, value, options[key][0])
    return _build(path, text, values)


def _unknown(key: str, table: str, options: Mapping[str, Any]) -> str:
    """ "unknown key", the closest known name if one is close, and every known name (at the
    top level the tables too: `[webhok]` is a misspelt table)."""
    known = sorted(options) + ([f"[{t}]" for t in OPTIONS if t] if not table else [])
    close = difflib.get_close_matches(key, [k.strip("[]") for k in known], n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key{guess} (known: {', '.join(known)})"


def _check(path: Path, text: str, table: str, key: str, value: Any, kind: Any) -> Any:
    name = f"{table}.{key}" if table else key
    line = line_of(text, key, table)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise SettingsError(path, f"must be {_kind_names(kinds)}, not {value!r}", name, line)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise SettingsError(path, f"must be a finite number, not {value!r}", name, line)
        if value < 0 or (key in _POSITIVE and value == 0):
            raise SettingsError(path, f"must be a positive number, not {value!r}", name, line)
        if key in _PORTS and value > 65535:
            raise SettingsError(path, f"not a port number: {value!r}", name, line)
        problem = duration_problem(key, value) if key in _SECONDS and not table else None
        if problem:
            raise SettingsError(path, problem, name, line)
    if key in _PATHS and not table and not (value == "" and key in _OPTIONAL_PATHS):
        if not os.path.isabs(value):
            message = f"must be an absolute path, not {value!r}"
            raise SettingsError(path, message, name, line)
    if key == "secrets_identities":
        check_path_list(path, value, name, line)
    problem = None
    if key == "branch":
        problem = branch_problem(value)
    elif key in ("root", "state_dir", "inbox") and not table:
        problem = directory_problem(key, value)
    if problem:
        raise SettingsError(path, problem, name, line)
    if key in ("repository", "environment") and not value.strip():
        raise SettingsError(path, "must not be empty", name, line)
    if key == "repository":
        check_url(path, value, name, line)
    return value


_KIND_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "a list of strings",
    dict: "a table",
}


def _kind_names(kinds: tuple[type, ...]) -> str:
    """``(int, float)`` -> "a number"; ``(str,)`` -> "a string" (TOML's words, not Python's)."""
    names = [_KIND_NAMES[kind] for kind in kinds if not (kind is int and float in kinds)]
    return " or ".join(names)


def _build(path: Path, text: str, values: dict[str, Any]) -> Settings:
    for required in ("repository", "environment"):
        if required not in values:
            raise SettingsError(path, "is required (no default)", required)
    top = {k: v for k, v in values.items() if "." not in k}
    state_dir = Path(top.pop("state_dir", _TOP["state_dir"][1]))
    inbox = top.pop("inbox", "") or str(state_dir / "inbox")
    raw_limits = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("limits.")}
    try:
        limits = Limits().overlay(raw_limits, source=str(path))
    except LimitsError as error:
        message = str(error).split(": ", 2)[-1]
        line = line_of(text, error.key, "limits")
        raise SettingsError(path, message, f"limits.{error.key}", line) from None
    hook = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("webhook.")}
    if hook.get("enabled") and not hook.get("secret_file"):
        line = line_of(text, "enabled", "webhook")
        message = "an enabled webhook needs a secret_file (add one, or set enabled = false)"
        raise SettingsError(path, message, "webhook.secret_file", line)
    rollout = _rollout(path, text, values)
    trust = _trust(path, text, values)
    for key in ("root", "socket"):
        if key in top:
            top[key] = Path(top[key])
    if top.get("wheelhouse"):
        top["wheelhouse"] = check_wheelhouse(path, text, top["wheelhouse"])
    else:
        top.pop("wheelhouse", None)
    for key in ("ssh_key", "ssh_known_hosts"):
        top[key] = check_ssh_file(path, text, key, top[key]) if top.get(key) else None
    if "secrets_identities" in top:
        top["secrets_identities"] = tuple(Path(p) for p in top["secrets_identities"])
    top["gnupg_home"] = Path(top["gnupg_home"]) if top.get("gnupg_home") else None
    if top.get("metrics_listen"):
        check_listen(path, text, top["metrics_listen"])
    for key in ("poll_interval", "converge_interval", "splay", "retry_max", "shutdown_grace"):
        if key in top:
            top[key] = float(top[key])
    return Settings(
        **top,
        state_dir=state_dir,
        inbox=Path(inbox),
        limits=limits,
        webhook=WebhookSettings(**hook),
        rollout=rollout,
        trust=trust,
        source=path,
    )


def _rollout(path: Path, text: str, values: dict[str, Any]) -> RolloutSettings:
    """``[rollout]``: lists of strings stay lists of strings (their syntax is checked when the
    daemon starts, by daemon.rollout); the URL must be http(s)."""
    raw = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("rollout.")}
    for key in ("windows", "freezes"):
        if key in raw:
            if not all(isinstance(item, str) for item in raw[key]):
                line = line_of(text, key, "rollout")
                raise SettingsError(path, "must be a list of strings", f"rollout.{key}", line)
            raw[key] = tuple(raw[key])
    url = raw.get("prometheus_url", "")
    if url and not url.startswith(("http://", "https://")):
        line = line_of(text, "prometheus_url", "rollout")
        message = f"must be an http:// or https:// URL, not {url!r}"
        raise SettingsError(path, message, "rollout.prometheus_url", line)
    return RolloutSettings(**raw)


def _trust(path: Path, text: str, values: dict[str, Any]) -> TrustPolicy:
    raw = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("trust.")}
    try:
        return parse_trust(raw)
    except TrustError as error:
        sub, nested, key = error.key.partition(".")  # groups.NAME, paths.PATTERN
        line = line_of(text, key, f"trust.{sub}") if nested else line_of(text, sub, "trust")
        raise SettingsError(path, str(error), f"trust.{error.key}", line) from None
