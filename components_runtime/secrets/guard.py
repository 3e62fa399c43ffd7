"""Keeping decrypted values out of everything deployd prints, stores or serves.

A :class:`SecretGuard` knows every secret value of a run: each override and host-data value from
the secrets files, each of its lines, each of its words of at least ``MIN_WORD`` characters, and
each line of every secret file. It

* redacts them from text (log lines, error messages, stderr), longest first, and
* tells whether a text holds any of them anywhere, so a diff is hidden.

Words shorter than ``MIN_WORD`` are still secret data for batou's own whole-word rule (a diff
whose word is one of them is hidden too), but they are not cut out of arbitrary text: ``on`` or
``with`` inside a sentence is not a leak worth mangling every message for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MIN_WORD = 8
MASK = "<secret>"


def secret_needles(values: Iterable[str]) -> frozenset[str]:
    """What to look for, for these values."""
    needles: set[str] = set()
    for value in values:
        whole = value.strip()
        if whole and "\n" not in whole:
            needles.add(whole)
        needles.update(line.strip() for line in value.splitlines() if line.strip())
        needles.update(word for word in value.split() if len(word) >= MIN_WORD)
    return frozenset(needles)


def secret_words(values: Iterable[str]) -> frozenset[str]:
    """batou's ``secret_data`` for these values: every whitespace-separated word."""
    return frozenset(word for value in values for word in value.split())


class SecretGuard:
    """Redact and detect the secret values of one run. Empty when there are none."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        values = list(values)
        self.needles = secret_needles(values)
        self.words = secret_words(values)
        ordered = sorted(self.needles, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __repr__(self) -> str:  # never the values themselves
        return f"<SecretGuard: {len(self.needles)} values>"

    def holds_secret(self, text: str) -> bool:
        """Whether any secret value occurs in ``text``, anywhere, or any of its words is one."""
        if self._pattern is None:
            return False
        return self._pattern.search(text) is not None or not self.words.isdisjoint(text.split())

    def redact(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def redact_data(self, data: Any) -> Any:
        """``data`` (JSON-like: dicts, lists, tuples, strings) with every string redacted."""
        if self._pattern is None:
            return data
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {key: self.redact_data(value) for key, value in data.items()}
        if isinstance(data, list | tuple):
            return type(data)(self.redact_data(item) for item in data)
        return data


__all__ = ["MASK", "MIN_WORD", "SecretGuard", "secret_needles", "secret_words"]
