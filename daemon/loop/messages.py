"""The messages on the daemon loop's queue: the only way other threads talk to the loop."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from daemon.records import RunRecord


@dataclass(frozen=True)
class Trigger:
    kind: str  # one of records.TRIGGERS
    at: float = field(default_factory=time.time)
    waiter: Future[dict[str, Any]] | None = None  # resolved when the run starts (or won't)
    bundle: str | None = None  # inbox: the bundle file


@dataclass(frozen=True)
class Control:
    action: str  # suspend / resume / trust
    argument: str | None
    reply: Future[dict[str, Any]]
    requester: str = ""  # who asked, from the socket's peer credentials: "alice (uid 1000, ...)"
    uid: int = -1


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    event: dict[str, Any]


@dataclass(frozen=True)
class RunDone:
    record: RunRecord
