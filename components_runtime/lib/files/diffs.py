"""Showing what a content change will do: unified diffs, trimmed, logged, secrets withheld."""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from components_runtime.support import annotate, line

DIFF_DIR_NAME = ".batou-diffs"


def limited_buffer(
    lines: Iterable[str], limit: int, lead: int, separator: str = "...", logdir: str = "/tmp"
) -> tuple[list[str], bool, str]:
    """Keep a short view of a long line stream; write every line to a log file.

    Returns ``(shown, trimmed, log_path)``. Up to ``limit + 1`` lines are shown as they are;
    beyond that only the first and last ``lead`` lines, joined by ``separator``. Each line is
    right-stripped. Only ``lead`` trailing lines are held in memory, whatever the length.
    """
    import tempfile  # imported when a diff is logged, not at start-up (no-op runs are timed)

    stream: Iterator[str] = iter(lines)
    head: list[str] = []
    for text in stream:
        head.append(text.rstrip())
        if len(head) > limit:
            break
    tail: deque[str] = deque(maxlen=lead)
    with tempfile.NamedTemporaryFile("a+", suffix=".diff", dir=logdir, delete=False) as log:
        for text in head:
            log.write(text + "\n")
        for text in stream:
            text = text.rstrip()
            log.write(text + "\n")
            tail.append(text)
    if not tail:
        return head, False, log.name
    return head[:lead] + [separator] + list(tail), True, log.name


def mentions_secret(secrets: set[str], *texts: list[str], guard: Any = None) -> bool:
    """Whether the texts hold a secret: a whitespace-separated word that is one of
    ``secrets`` (batou's rule), or, with the run's ``SecretGuard``, any secret value anywhere
    (also inside a word, and the secrets' host data, which batou does not count)."""
    words = set(itertools.chain.from_iterable(text.split() for lines in texts for text in lines))
    if secrets & words:
        return True
    return guard is not None and any(guard.holds_secret("\n".join(lines)) for lines in texts)


def show_diff(
    path: str,
    current: str,
    wanted: str,
    *,
    diff_dir: str,
    secrets: set[str] | None,
    max_lines: int,
    lead: int,
    guard: Any = None,
) -> None:
    """Report the change from ``current`` to ``wanted`` and log the full diff in ``diff_dir``.

    ``secrets`` is ``None`` when the caller already decided the content is not sensitive;
    otherwise a diff that holds a secret (see :func:`mentions_secret`) is neither shown nor
    logged: batou keeps it in ``.batou-diffs``, where anyone who can read the work directory
    finds the secret in clear text.
    """
    import difflib

    current_lines = current.splitlines()
    wanted_lines = wanted.splitlines()
    if secrets is not None and mentions_secret(secrets, current_lines, wanted_lines, guard=guard):
        annotate("Not showing diff as it contains sensitive data.", red=True)
        return
    os.makedirs(diff_dir, exist_ok=True)
    shown, trimmed, log_path = limited_buffer(
        difflib.unified_diff(current_lines, wanted_lines), max_lines, lead, logdir=diff_dir
    )
    if trimmed:
        line(
            f"More than {max_lines} lines of diff. Showing first and last {lead} lines.",
            yellow=True,
        )
        line(f"see {log_path} for the full diff.", yellow=True)
    name = os.path.basename(path)
    for text in shown:
        text = text.replace("\n", "")
        if not text.strip():
            continue
        annotate(f"  {name} {text}", red=text.startswith("-"), green=text.startswith("+"))
