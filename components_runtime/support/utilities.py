"""Small helpers batou exposes in ``batou.utils`` (besides addresses and ``cmd``)."""

from __future__ import annotations

import copy
import functools
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from components_runtime.support.output import output


def hash(path: str, function: str = "sha_512") -> str:  # noqa: A001 - batou's name
    """Hex digest of a file's content (``function`` names a hashlib constructor)."""
    digest = getattr(hashlib, function)()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(64 * 1024), b""):
            digest.update(chunk)
    return str(digest.hexdigest())


def dict_merge(a: Any, b: Any) -> Any:
    """Recursive merge: dicts merge, lists concatenate, anything else from ``b`` wins."""
    if not isinstance(b, dict):
        return b
    result = copy.deepcopy(a)
    for key, value in b.items():
        if key in result and isinstance(result[key], dict):
            result[key] = dict_merge(result[key], value)
        elif key in result and isinstance(result[key], list):
            result[key] = result[key] + list(value)
        else:
            result[key] = copy.deepcopy(value)
    return result


_VARKEYWORDS = 0x08  # inspect.CO_VARKEYWORDS, without importing inspect (slow to import)


@functools.lru_cache(maxsize=1024)
def _accepted(func: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    code = getattr(func, "__code__", None)
    if code is not None:  # a plain function or method: read its code object
        count = code.co_argcount + code.co_kwonlyargcount
        return frozenset(code.co_varnames[:count]), bool(code.co_flags & _VARKEYWORDS)
    import inspect

    parameters = inspect.signature(func).parameters.values()
    names = frozenset(p.name for p in parameters)
    return names, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def call_with_optional_args(func: Callable[..., Any], **kw: Any) -> Any:
    """Call ``func`` with only the keywords it accepts (``verify(predicting=...)``)."""
    target = getattr(func, "__func__", func)
    try:
        names, takes_all = _accepted(target)
    except TypeError:  # unhashable callable
        names, takes_all = _accepted.__wrapped__(target)
    if takes_all:
        return func(**kw)
    return func(**{key: value for key, value in kw.items() if key in names})


def format_duration(duration: float | None) -> str:
    if duration is None:
        return "NaN"
    if duration < 60:
        return f"{duration:.2f}s"
    minutes, seconds = divmod(duration, 60)
    return f"{int(minutes)}m{seconds:.2f}s"


class Timer:
    """Accumulate named step durations (batou's ``Timer``)."""

    def __init__(self, tag: str | None = None) -> None:
        self.durations: defaultdict[str, float] = defaultdict(float)
        self.tag = tag

    class _Step:
        def __init__(self, timer: Timer, note: str) -> None:
            self.timer, self.note = timer, note

        def __enter__(self) -> None:
            self.start = time.time()

        def __exit__(self, *exc: Any) -> None:
            delta = time.time() - self.start
            self.timer.durations[self.note] += delta
            output.annotate(
                f"Timer {self.timer.tag}: {self.note} took {delta:.2f} seconds", debug=True
            )

    def step(self, note: str) -> Timer._Step:
        if note == "total":
            raise ValueError("Cannot use 'total' as a step name")
        return self._Step(self, note)

    def above_threshold(self, **thresholds: float) -> tuple[bool, list[str]]:
        total = sum(self.durations.values())
        longer = [n for n, d in self.durations.items() if n in thresholds and d > thresholds[n]]
        if "total" in thresholds and total > thresholds["total"]:
            longer.append("total")
        return bool(longer), longer

    def humanize(self, *steps: str) -> str:
        durations = {**self.durations, "total": sum(self.durations.values())}
        return ", ".join(f"{n}={format_duration(durations.get(n))}" for n in steps)


__all__ = ["Timer", "call_with_optional_args", "dict_merge", "format_duration", "hash"]
