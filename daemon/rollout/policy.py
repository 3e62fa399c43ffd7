"""The rollout policy a repository declares in ``environment.cfg``'s ``[deployd]`` section.

Three kinds of keys, besides the time limits (``daemon.config``)::

    [deployd]
    check.app = http://127.0.0.1:8080/healthz         # a URL (2xx) or a command (exit 0)
    check.app.hosts = web01 web02                     # default: every host
    check.app.timeout = 10s                           # per attempt (default 10s)
    check.app.retries = 2                             # attempts after the first (default 2)
    check.app.interval = 3s                           # between attempts (default 3s)
    check.queue.command = /usr/local/bin/queue-ok     # or .url = ..., the long spelling
    windows = Mon-Fri 09:00-16:00 Europe/Berlin       # one per line; none: always
    freezes = 2026-12-21 .. 2027-01-04 Europe/Berlin  # one per line
    drift_outside_windows = yes                       # re-converge the deployed commit anyway
    wave.canary = web01                               # waves in the order written
    wave.early = 10%
    wave.early.delay = 30m
    wave.rest = *
    wave.rest.delay = 2h

:func:`read_policy` turns the section into a frozen :class:`Policy` and a list of
:class:`PolicyProblem` (each with the file, line and section of the value), all at once, so
``deployd check`` reports every mistake together.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components_runtime.envconfig import load_environment_config
from components_runtime.errors import DeploydError
from daemon.config import LimitsError, parse_duration
from daemon.git import Mirror
from daemon.rollout.windows import (
    Freeze,
    Schedule,
    Window,
    WindowError,
    parse_freeze,
    parse_window,
)
from daemon.runs import environment_section

CHECK_FIELDS = ("command", "url", "hosts", "timeout", "retries", "interval")
WAVE_FIELDS = ("delay",)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PERCENT = re.compile(r"^(\d{1,3})%$")
_TRUE, _FALSE = ("yes", "true", "on", "1"), ("no", "false", "off", "0")


@dataclass(frozen=True)
class HealthCheck:
    name: str
    command: str = ""
    url: str = ""
    hosts: tuple[str, ...] = ()  # empty: every host
    timeout: float = 10.0
    retries: int = 2
    interval: float = 3.0
    origin: str = ""

    def applies_to(self, host: str) -> bool:
        return not self.hosts or host in self.hosts


@dataclass(frozen=True)
class Wave:
    name: str
    members: tuple[str, ...]  # host names, "N%" (of every host) or "*" (all hosts left)
    delay: float = 0.0
    origin: str = ""


@dataclass(frozen=True)
class Policy:
    checks: tuple[HealthCheck, ...] = ()
    schedule: Schedule = field(default_factory=Schedule)
    drift_outside_windows: bool = True
    waves: tuple[Wave, ...] = ()

    def checks_for(self, host: str) -> tuple[HealthCheck, ...]:
        return tuple(check for check in self.checks if check.applies_to(host))


@dataclass(frozen=True)
class PolicyProblem:
    message: str
    key: str
    origin: str
    hint: str = "see docs/fleet.md"

    def __str__(self) -> str:
        return f"{self.origin}: {self.key}: {self.message}"


def read_policy(section: Mapping[str, Any]) -> tuple[Policy, list[PolicyProblem]]:
    """The policy of one environment's ``[deployd]`` section (values: ``ConfigValue`` with
    ``.text`` and ``.origin``, or plain strings), and every problem found."""
    problems: list[PolicyProblem] = []
    checks: dict[str, dict[str, tuple[str, str]]] = {}
    waves: dict[str, dict[str, tuple[str, str]]] = {}
    windows: tuple[Window, ...] = ()
    freezes: tuple[Freeze, ...] = ()
    drift = True
    for key, value in section.items():
        text = str(getattr(value, "text", value))
        origin = str(getattr(value, "origin", None) or "[deployd]")
        if key == "windows":
            windows = tuple(_each(text, key, origin, parse_window, problems))
        elif key == "freezes":
            freezes = tuple(_each(text, key, origin, parse_freeze, problems))
        elif key == "drift_outside_windows":
            drift = _boolean(text, key, origin, problems)
        elif key.startswith("check."):
            _group(key, text, origin, checks, CHECK_FIELDS, problems)
        elif key.startswith("wave."):
            _group(key, text, origin, waves, WAVE_FIELDS, problems)
    policy = Policy(
        checks=tuple(_check(name, f, problems) for name, f in checks.items()),
        schedule=Schedule(windows, freezes),
        drift_outside_windows=drift,
        waves=tuple(_wave(name, f, problems) for name, f in waves.items()),
    )
    return policy, problems


def _each(text: str, key: str, origin: str, parse: Any, problems: list[PolicyProblem]) -> list[Any]:
    parsed = []
    for line in re.split(r"[\n;]", text):
        if not line.strip():
            continue
        try:
            parsed.append(parse(line))
        except WindowError as error:
            problems.append(PolicyProblem(str(error), key, origin))
    return parsed


def _boolean(text: str, key: str, origin: str, problems: list[PolicyProblem]) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() not in _FALSE:
        problems.append(PolicyProblem(f"{text!r} is not yes or no", key, origin))
    return False


def _group(
    key: str,
    text: str,
    origin: str,
    groups: dict[str, dict[str, tuple[str, str]]],
    known: tuple[str, ...],
    problems: list[PolicyProblem],
) -> None:
    """``check.NAME.FIELD`` / ``wave.NAME[.FIELD]`` into ``groups[NAME][FIELD]`` (the bare
    ``check.NAME`` / ``wave.NAME`` under "")."""
    _, _, rest = key.partition(".")
    name, _, item = rest.partition(".")
    if not _NAME.match(name):
        problems.append(PolicyProblem(f"{name!r} is not a name (a-z, 0-9, - and _)", key, origin))
        return
    if item not in (*known, ""):
        prefix = key.split(".")[0]
        expected = ", ".join(f"{prefix}.{name}.{k}" for k in known)
        problems.append(PolicyProblem(f"unknown key (known: {expected})", key, origin))
        return
    groups.setdefault(name, {})[item] = (text.strip(), origin)


def _check(
    name: str, values: dict[str, tuple[str, str]], problems: list[PolicyProblem]
) -> HealthCheck:
    origin = next(iter(values.values()))[1]
    command, url = values.get("command", ("", ""))[0], values.get("url", ("", ""))[0]
    bare = values.get("", ("", ""))[0]  # check.NAME = a URL or a command
    if bare.startswith(("http://", "https://")):
        url = url or bare
    elif bare:
        command = command or bare
    if bool(command) == bool(url):
        problems.append(
            PolicyProblem(
                "a check needs exactly one of command or url",
                f"check.{name}",
                origin,
                hint=f"write check.{name}.command = ... or check.{name}.url = http://...",
            )
        )
    if url and not url.startswith(("http://", "https://")):
        message = f"{url!r} is not an http(s) URL"
        problems.append(PolicyProblem(message, f"check.{name}.url", origin))
    return HealthCheck(
        name=name,
        command=command,
        url=url,
        hosts=tuple(values.get("hosts", ("", ""))[0].replace(",", " ").split()),
        timeout=_duration(values, "timeout", 10.0, f"check.{name}", problems),
        retries=_count(values, "retries", 2, f"check.{name}", problems),
        interval=_duration(values, "interval", 3.0, f"check.{name}", problems),
        origin=origin,
    )


def _wave(name: str, values: dict[str, tuple[str, str]], problems: list[PolicyProblem]) -> Wave:
    text, origin = values.get("", ("", next(iter(values.values()))[1]))
    members = tuple(text.replace(",", " ").split())
    if not members:
        problems.append(
            PolicyProblem(
                "a wave needs its hosts: names, a share like 10%, or * for all hosts left",
                f"wave.{name}",
                origin,
            )
        )
    for member in members:
        match = _PERCENT.match(member)
        if match and not 0 < int(match.group(1)) <= 100:
            message = f"{member}: a share is 1% to 100%"
            problems.append(PolicyProblem(message, f"wave.{name}", origin))
    delay = 0.0
    if "delay" in values:
        delay = _duration(values, "delay", 0.0, f"wave.{name}", problems, zero_ok=True)
    return Wave(name, members, delay, origin)


def _duration(
    values: dict[str, tuple[str, str]],
    item: str,
    default: float,
    prefix: str,
    problems: list[PolicyProblem],
    zero_ok: bool = False,
) -> float:
    if item not in values:
        return default
    text, origin = values[item]
    if zero_ok and text.strip() in ("0", "0s", "0m", "0h"):
        return 0.0
    try:
        return parse_duration(text, key=f"{prefix}.{item}", source=origin)
    except LimitsError as error:
        problems.append(PolicyProblem(str(error).split(": ", 2)[-1], f"{prefix}.{item}", origin))
        return default


def _count(
    values: dict[str, tuple[str, str]],
    item: str,
    default: int,
    prefix: str,
    problems: list[PolicyProblem],
) -> int:
    if item not in values:
        return default
    text, origin = values[item]
    if not text.isdigit() or int(text) > 100:
        message = f"{text!r} is not a number from 0 to 100"
        problems.append(PolicyProblem(message, f"{prefix}.{item}", origin))
        return default
    return int(text)


def policy_of_checkout(checkout: Path, environment: str) -> tuple[Policy, list[PolicyProblem]]:
    """The policy in a checked-out commit (no ``[deployd]`` section: the empty policy)."""
    return read_policy(environment_section(checkout, environment))


@dataclass(frozen=True)
class CommitPolicy:
    """What the gate needs of one commit: its policy and its environment's host names."""

    policy: Policy
    problems: tuple[PolicyProblem, ...]
    hosts: tuple[str, ...]


def policy_at_commit(mirror: Mirror, sha: str, environment: str, scratch: Path) -> CommitPolicy:
    """The policy of commit ``sha``, read from the mirror without a checkout: its environment
    file is written to ``scratch`` and read there with the runtime's own reader."""
    name = environment.removesuffix(".cfg")
    shutil.rmtree(scratch, ignore_errors=True)
    for relative in (f"environments/{name}/environment.cfg", f"environments/{name}.cfg"):
        text = mirror.file_at(sha, relative)
        if text is not None:
            target = scratch / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + "\n", encoding="utf-8")
            break
    try:
        config = load_environment_config(scratch, environment)
    except DeploydError:
        return CommitPolicy(Policy(), (), ())  # the converge reports a broken environment
    policy, problems = read_policy(dict(config.deployd))
    return CommitPolicy(policy, tuple(problems), tuple(config.hosts))
