"""Seeded, bounded fuzzing: mutate a valid input a few ways, many times, reproducibly.

``make test`` runs each fuzzer on a few dozen inputs; ``make fuzz`` sets ``DEPLOYD_FUZZ_SCALE``
(how many times more) and may set ``DEPLOYD_FUZZ_SEED`` to explore other inputs. A failure
names the seed and the input's number, and shows the input, so it can be replayed.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SEED = int(os.environ.get("DEPLOYD_FUZZ_SEED", "20261206"))
SCALE = max(1, int(os.environ.get("DEPLOYD_FUZZ_SCALE", "1")))

# Characters that mean something to one of our parsers, and some that mean trouble.
ODD = list("[]=:%${}()\\\n\t \"'#;,.-_/@*?~^\r") + ["\x00", "\x7f", "é", "\u2028", "\ufeff", "𝄞"]


def count(base: int) -> int:
    """How many inputs a fuzzer tries: ``base`` in ``make test``, more in ``make fuzz``."""
    return base * SCALE


def cases(name: str, base: int) -> Iterator[tuple[int, random.Random]]:
    """``(number, rng)`` per input; each rng depends only on the seed, ``name`` and number."""
    for number in range(count(base)):
        yield number, random.Random(f"{SEED}:{name}:{number}")


def mutate_text(rng: random.Random, text: str, words: list[str], rounds: int = 3) -> str:
    """``text`` with 1 to ``rounds`` random edits: lines deleted, doubled or swapped, a word of
    ``words`` or an odd character inserted, a character replaced, the end cut off."""
    for _ in range(rng.randint(1, rounds)):
        lines = text.splitlines(keepends=True) or [""]
        op = rng.randrange(7)
        at = rng.randrange(len(lines))
        if op == 0 and len(lines) > 1:
            del lines[at]
        elif op == 1:
            lines.insert(at, lines[at])
        elif op == 2:
            other = rng.randrange(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
        elif op == 3:
            line = lines[at]
            cut = rng.randint(0, len(line))
            lines[at] = line[:cut] + rng.choice(words) + line[cut:]
        elif op == 4 and lines[at]:
            line = lines[at]
            cut = rng.randrange(len(line))
            lines[at] = line[:cut] + rng.choice(ODD) + line[cut + 1 :]
        elif op == 5:
            lines.insert(at, rng.choice(words) + "\n")
        else:
            joined = "".join(lines)
            lines = [joined[: rng.randint(0, len(joined))]]
        text = "".join(lines)
    return text


def mutate_bytes(rng: random.Random, data: bytes, rounds: int = 3) -> bytes:
    """``data`` with 1 to ``rounds`` edits: a bit flipped, a byte inserted or deleted, cut."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        if not buffer:
            buffer.append(rng.randrange(256))
            continue
        at = rng.randrange(len(buffer))
        op = rng.randrange(4)
        if op == 0:
            buffer[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            buffer.insert(at, rng.randrange(256))
        elif op == 2:
            del buffer[at]
        else:
            del buffer[at:]
    return bytes(buffer)


class Hang(Exception):
    """An input took longer than its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread when the block runs longer than ``seconds``."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer within {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def replay(name: str, number: int, shown: str | bytes) -> str:
    """The line a failure starts with: how to get this input again, and the input."""
    return (
        f"fuzz input {name} #{number} (DEPLOYD_FUZZ_SEED={SEED}; "
        f"DEPLOYD_FUZZ_SCALE={SCALE}):\n{shown!r}\n"
    )
