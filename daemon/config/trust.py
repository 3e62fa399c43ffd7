"""The ``[trust]`` table: which signatures a commit needs before anything of it runs.

A policy names who may sign (an SSH allowed-signers file in git's format, an OpenPGP keyring,
or both), whether every new commit or only the head is checked, named groups of signers, and
paths that only some groups may change::

    [trust]
    allowed_signers = "/etc/deployd/allowed_signers"
    gpg_keyring = "/etc/deployd/trusted-keys.asc"
    verify = "every-commit"            # or "head"

    [trust.groups]
    ops = ["olga@example.com", "SHA256:0KH1b..."]

    [trust.paths]
    "environments/production/**" = ["ops"]

Parsed once, at start-up, into a frozen :class:`TrustPolicy`; :class:`TrustError` names the
key, and the settings reader turns it into a SettingsError with the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERIFY_MODES = ("every-commit", "head")
_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEX_KEY = re.compile(r"^(?:0x)?[0-9A-Fa-f]{16,40}$")


class TrustError(ValueError):
    """A bad value in ``[trust]``; ``key`` is the dotted key inside the table."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class PathRule:
    """Changes to paths matching ``pattern`` need a signer from one of ``groups``."""

    pattern: str
    groups: tuple[str, ...]
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """The path itself, or a directory above it, matches the pattern."""
        if self.regex.fullmatch(path):
            return True
        parts = path.split("/")
        return any(self.regex.fullmatch("/".join(parts[:n])) for n in range(1, len(parts)))


@dataclass(frozen=True)
class TrustPolicy:
    allowed_signers: Path | None = None
    gpg_keyring: Path | None = None
    verify: str = "every-commit"
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, members), in file order
    paths: tuple[PathRule, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.allowed_signers is not None or self.gpg_keyring is not None

    def members(self, group: str) -> tuple[str, ...]:
        return dict(self.groups).get(group, ())

    def rules_for(self, path: str) -> tuple[PathRule, ...]:
        return tuple(rule for rule in self.paths if rule.matches(path))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as a regex: ``**`` spans directories, ``*`` and ``?`` stay inside one."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def normalise_member(member: str) -> str:
    """OpenPGP fingerprints and key ids compare in upper case without ``0x``; other members
    (SSH principals, e-mail addresses, SHA256:... fingerprints) exactly."""
    if _HEX_KEY.match(member):
        return member.removeprefix("0x").upper()
    return member


def parse_trust(raw: Mapping[str, Any]) -> TrustPolicy:
    """The ``[trust]`` table (keys already type-checked by the settings reader)."""
    signers = _file(raw, "allowed_signers")
    keyring = _file(raw, "gpg_keyring")
    verify = raw.get("verify", "every-commit")
    if verify not in VERIFY_MODES:
        raise TrustError(f"must be one of {', '.join(VERIFY_MODES)}, not {verify!r}", "verify")
    groups = _groups(raw.get("groups", {}))
    rules = _rules(raw.get("paths", {}), dict(groups))
    policy = TrustPolicy(signers, keyring, verify, groups, rules)
    if not policy.enabled and (groups or rules or "verify" in raw):
        raise TrustError(
            "a policy needs allowed_signers or gpg_keyring (or both): without them nothing "
            "is verified",
            "allowed_signers",
        )
    return policy


def _file(raw: Mapping[str, Any], key: str) -> Path | None:
    value = raw.get(key, "")
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute():
        raise TrustError(f"must be an absolute path, not {value!r}", key)
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise TrustError(f"cannot read {value}: {error.strerror}", key) from None
    except ValueError:  # a NUL byte in the name
        raise TrustError(f"not a file name: {value!r}", key) from None
    if not path.is_file():
        raise TrustError(f"{value} is not a file", key)
    return path


def _groups(raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(raw, dict):
        raise TrustError("must be a table of group = [signers]", "groups")
    groups = []
    for name, members in raw.items():
        if not _GROUP_NAME.match(name):
            raise TrustError("a group name is letters, digits, '_', '.', '-'", f"groups.{name}")
        if not isinstance(members, list) or not all(isinstance(m, str) and m for m in members):
            message = "must be a list of signers (principals, e-mail addresses, fingerprints)"
            raise TrustError(message, f"groups.{name}")
        groups.append((name, tuple(normalise_member(m) for m in members)))
    return tuple(groups)


def _rules(raw: Any, groups: dict[str, tuple[str, ...]]) -> tuple[PathRule, ...]:
    if not isinstance(raw, dict):
        raise TrustError('must be a table of "path/glob/**" = [groups]', "paths")
    rules = []
    for pattern, names in raw.items():
        key = f"paths.{pattern}"
        if not pattern or pattern.startswith("/") or ".." in pattern.split("/"):
            raise TrustError("a path inside the repository, without a leading '/'", key)
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise TrustError("must be a non-empty list of group names", key)
        unknown = [n for n in names if n not in groups]
        if unknown:
            known = ", ".join(groups) or "none defined"
            raise TrustError(f"unknown group {unknown[0]!r} (groups: {known})", key)
        rules.append(PathRule(pattern, tuple(names), glob_regex(pattern.rstrip("/"))))
    return tuple(rules)
