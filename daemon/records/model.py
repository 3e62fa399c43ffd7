"""One record shape: what ``runs/`` stores, the API returns, ``deployd status --json`` prints,
and the metrics are computed from.

Two frozen values live here:

* :class:`RunRecord`: one run (a converge attempt, or a refusal to run), written once when the
  run ends, to ``STATE/runs/<id>.json``.
* :class:`HostState`: the daemon's durable memory, ``STATE/state.json``: the ratchet, the last
  good deployment, suspension, what the remote looked like at the last poll, and the monotonic
  counters and histograms the metrics need (so a restart loses nothing).

Both serialise to plain JSON with ``to_dict`` / ``from_dict``. ``SCHEMA_VERSION`` goes into every
document; readers refuse a newer schema rather than guess.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any, Literal

from components_runtime.protocol import ComponentResult, ErrorInfo
from daemon.records.trust import SIGNATURE_REASONS, SignatureRefusal, TrustOverride

SCHEMA_VERSION = 1

# Bounded label sets: metrics use these as label values, so nothing else may appear.
OUTCOMES = (
    "succeeded",
    "failed",
    "timeout",
    "crashed",
    "refused",
    "skipped",
    "cancelled",
    # the converge worked but a health check failed: the last good commit was converged again
    "rolled-back",
    # ... and the last good commit's own health check failed too: converging stops (suspended)
    "rollback-failed",
)
# override: `deployd converge --now`, past a change window, a wave's gate or a rolled-back mark
TRIGGERS = ("startup", "poll", "schedule", "api", "webhook", "push", "inbox", "manual", "override")
REFUSAL_REASONS = (
    "not-fast-forward",
    "host-missing",
    "host-empty",
    "bad-configuration",
    "bad-bundle",
    "secrets",  # the host cannot decrypt the environment's secrets (docs/secrets.md)
    *SIGNATURE_REASONS,
)
FETCH_OUTCOMES = ("unchanged", "fetched", "failed")
HOLD_REASONS = ("window", "freeze", "wave-delay", "wave-gate", "rolled-back", "bad-policy")
VENV_OUTCOMES = ("reused", "built", "failed")
# Histogram buckets (seconds) for run durations, venv builds and push-to-converged.
DURATION_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# A poll is one ls-remote (tens of milliseconds to seconds); a slow fetch hits the fetch limit.
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
HISTOGRAM_BUCKETS = {"fetch_duration_seconds": FETCH_BUCKETS}


# A run record keeps what the worker reported in the worker's own shapes: one definition of
# "a component's outcome" and "an error with its location" for the wire, the disk and the API.
ComponentRecord = ComponentResult
ErrorRecord = ErrorInfo


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str = ""
    timestamp: float = 0.0  # the commit's own time (committer date)
    branch: str = ""


@dataclass(frozen=True)
class CheckResult:
    """One health check after a converge (docs/fleet.md): passed or not, and its output."""

    name: str
    passed: bool
    attempts: int = 1
    duration: float = 0.0
    output: str = ""  # the last attempt's output (its tail), or what went wrong
    commit: str = ""  # the commit it checked (the new one, or the one rolled back to)


@dataclass(frozen=True)
class RunRecord:
    id: str  # sortable: "<UTC yyyymmddThhmmss>-<sequence>"
    trigger: str  # one of TRIGGERS
    outcome: str  # one of OUTCOMES
    started_at: float
    finished_at: float
    commit: CommitInfo | None = None
    environment: str = ""
    host: str = ""
    platform: str | None = None
    reason: str | None = None  # refused / skipped: one of REFUSAL_REASONS or a short word
    components: tuple[ComponentRecord, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    warnings: tuple[str, ...] = ()
    refusal: SignatureRefusal | None = None  # refused by the signature policy: why, by whom
    trusted: TrustOverride | None = None  # converges a commit an operator trusted by hand
    venv: str | None = None  # the venv hash used
    venv_outcome: str | None = None  # one of VENV_OUTCOMES
    venv_duration: float | None = None
    stderr_tail: str = ""  # crashed / timeout: the worker's last words
    timed_out_component: str | None = None
    # health checks after the converge, then those of the rollback (each names its commit)
    health: tuple[CheckResult, ...] = ()
    rolled_back_to: CommitInfo | None = None  # rolled-back / rollback-failed: the good commit
    schema: int = SCHEMA_VERSION

    @property
    def duration(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["duration"] = self.duration
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        _check_schema(data)
        data = {k: v for k, v in data.items() if k != "duration"}
        commit = data.get("commit")
        data["commit"] = CommitInfo(**commit) if commit else None
        data["components"] = tuple(
            ComponentRecord(**{**c, "changed_paths": tuple(c.get("changed_paths") or ())})
            for c in data.get("components") or ()
        )
        data["errors"] = tuple(
            ErrorRecord(**{**e, "details": tuple(e.get("details") or ())})
            for e in data.get("errors") or ()
        )
        data["warnings"] = tuple(data.get("warnings") or ())
        data["health"] = tuple(CheckResult(**c) for c in data.get("health") or ())
        back = data.get("rolled_back_to")
        data["rolled_back_to"] = CommitInfo(**back) if back else None
        data["refusal"] = SignatureRefusal.from_dict(data.get("refusal"))
        data["trusted"] = TrustOverride.from_dict(data.get("trusted"))
        # Only what status, history and the metrics compute with: the worker's errors and
        # component details are shown as they are, and must never make a record unreadable.
        return check_types(cls(**data), _ESSENTIAL_RUN_FIELDS)


@dataclass(frozen=True)
class Histogram:
    """Cumulative histogram state, persisted so the exported series never go backwards."""

    buckets: tuple[float, ...] = DURATION_BUCKETS
    counts: tuple[int, ...] = (0,) * len(DURATION_BUCKETS)  # per bucket, not cumulative
    count: int = 0
    sum: float = 0.0

    def observe(self, value: float) -> Histogram:
        counts = list(self.counts)
        for i, upper in enumerate(self.buckets):
            if value <= upper:
                counts[i] += 1
                break
        return replace(self, counts=tuple(counts), count=self.count + 1, sum=self.sum + value)


@dataclass(frozen=True)
class HostState:
    ratchet: str | None = None  # last deployed (or trusted) commit; only fast-forwards pass
    last_good: CommitInfo | None = None  # commit of the last succeeded run
    last_good_run: str | None = None
    last_good_at: float | None = None
    last_run: str | None = None  # id of the newest run record
    suspended_reason: str | None = None
    suspended_at: float | None = None
    upstream: CommitInfo | None = None  # remote branch head at the last successful poll
    last_fetch_at: float | None = None
    last_fetch_success_at: float | None = None
    last_fetch_error: str | None = None
    # a commit whose health check failed and was rolled back: not converged again until a
    # newer commit arrives (or `deployd converge --now`)
    rolled_back_commit: str | None = None
    upstream_seen_at: float | None = None  # when a poll first saw the upstream head (waves)
    refused_commit: str | None = None  # a head we refuse, until the branch moves on
    refusal: SignatureRefusal | None = None  # why, when the signature policy refused it
    trusted: TrustOverride | None = None  # the newest `deployd trust`
    # Monotonic counters: name -> "label1=v1,label2=v2" -> value.
    counters: dict[str, dict[str, float]] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    # component name -> finished_at of the newest run in which it changed (metrics read this
    # instead of scanning every run record; maintained with note_changed_components).
    component_last_changed: dict[str, float] = field(default_factory=dict)
    # Set when start-up found no state.json and rebuilt it from the state dir's leftovers
    # (loop.rebuild): what was rebuilt, shown by `deployd status`.
    rebuilt_note: str | None = None
    rebuilt_at: float | None = None
    schema: int = SCHEMA_VERSION

    def note_changed_components(self, run: RunRecord) -> HostState:
        """Remember when each component of ``run`` that changed last changed. A succeeded run
        lists every root component of the host: one it does not list was taken off the host,
        and its series ends (the component label stays bounded by the host's components)."""
        stamps = dict(self.component_last_changed)
        if run.outcome == "succeeded":
            present = {c.component for c in run.components}
            stamps = {name: stamp for name, stamp in stamps.items() if name in present}
        changed = [c.component for c in run.components if c.outcome == "changed"]
        stamps.update(dict.fromkeys(changed, run.finished_at))
        if stamps == self.component_last_changed:
            return self
        return replace(self, component_last_changed=stamps)

    def count(self, name: str, amount: float = 1.0, **labels: str) -> HostState:
        key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        counters = {n: dict(series) for n, series in self.counters.items()}
        series = counters.setdefault(name, {})
        series[key] = series.get(key, 0.0) + amount
        return replace(self, counters=counters)

    def observe(self, name: str, value: float) -> HostState:
        histograms = dict(self.histograms)
        histograms[name] = histograms.get(name, empty_histogram(name)).observe(value)
        return replace(self, histograms=histograms)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostState:
        _check_schema(data)
        data = dict(data)
        for key in ("last_good", "upstream"):
            data[key] = CommitInfo(**data[key]) if data.get(key) else None
        data["refusal"] = SignatureRefusal.from_dict(data.get("refusal"))
        data["trusted"] = TrustOverride.from_dict(data.get("trusted"))
        data["histograms"] = {
            name: Histogram(
                buckets=tuple(h["buckets"]),
                counts=tuple(h["counts"]),
                count=h["count"],
                sum=h["sum"],
            )
            for name, h in (data.get("histograms") or {}).items()
        }
        return check_types(cls(**data))


def empty_histogram(name: str) -> Histogram:
    """A new histogram with the buckets of ``name`` (a stored one keeps the buckets it has)."""
    buckets = HISTOGRAM_BUCKETS.get(name, DURATION_BUCKETS)
    return Histogram(buckets=buckets, counts=(0,) * len(buckets))


def parse_labels(key: str) -> dict[str, str]:
    """Inverse of the counter key format used by :meth:`HostState.count`."""
    if not key:
        return {}
    return dict(part.split("=", 1) for part in key.split(","))


def _check_schema(data: dict[str, Any]) -> None:
    if not isinstance(data, dict):
        raise TypeError(f"a JSON object was expected, not {type(data).__name__}")
    schema = data.get("schema", SCHEMA_VERSION)
    if schema > SCHEMA_VERSION:
        raise ValueError(
            f"state written by a newer deployd (schema {schema}, this one reads {SCHEMA_VERSION})"
        )


@dataclass(frozen=True)
class DebuggerInfo:
    host: str
    port: int
    file: str | None = None
    line: int | None = None
    since: float = 0.0


@dataclass(frozen=True)
class LiveStatus:
    """What only the running loop knows (not persisted): served with the state, read by metrics."""

    daemon_started_at: float = 0.0
    running_run_id: str | None = None
    running_since: float | None = None
    running_commit: str | None = None
    running_component: str | None = None
    pending_trigger: str | None = None
    next_poll_at: float | None = None
    next_converge_at: float | None = None
    debugger: DebuggerInfo | None = None
    # The daemon's own health: the loop's ticks fail (state dir not writable, a bug) since then.
    loop_error: str | None = None
    loop_failing_since: float | None = None
    hold: HoldInfo | None = None  # a new commit waits: window, freeze, wave, rolled back


@dataclass(frozen=True)
class HoldInfo:
    """Why the upstream head is not converged yet (docs/fleet.md), for status and metrics."""

    reason: str  # one of HOLD_REASONS
    message: str  # "waiting for the window (opens in 3h 12m)"
    commit: str
    since: float
    until: float | None = None  # when the hold ends by itself, if known (window, delay)
    wave: str | None = None


@dataclass(frozen=True)
class StatusSnapshot:
    """The answer to ``GET /status`` and ``deployd status --json`` (with ``schema``)."""

    host: str
    environment: str
    repository: str  # credentials already redacted
    branch: str
    platform: str | None
    state: HostState
    live: LiveStatus
    last_run: RunRecord | None = None
    version: str = ""
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_run"] = self.last_run.to_dict() if self.last_run else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatusSnapshot:
        _check_schema(data)
        live = dict(data["live"])
        live["debugger"] = DebuggerInfo(**live["debugger"]) if live.get("debugger") else None
        live["hold"] = HoldInfo(**live["hold"]) if live.get("hold") else None
        return cls(
            host=data["host"],
            environment=data["environment"],
            repository=data["repository"],
            branch=data["branch"],
            platform=data.get("platform"),
            state=HostState.from_dict(data["state"]),
            live=LiveStatus(**live),
            last_run=RunRecord.from_dict(data["last_run"]) if data.get("last_run") else None,
            version=data.get("version", ""),
            schema=data.get("schema", SCHEMA_VERSION),
        )


_T = typing.TypeVar("_T")


_ESSENTIAL_RUN_FIELDS = ("id", "trigger", "outcome", "started_at", "finished_at", "commit")


def check_types(value: _T, names: tuple[str, ...] | None = None) -> _T:
    """``value`` (a record read from disk) if its fields (all, or ``names``) have their
    annotated types, recursively; else TypeError naming the field, so a hand-edited or damaged
    file is refused on reading instead of failing later, somewhere in the loop."""
    for item in fields(value):  # type: ignore[arg-type]
        if names is not None and item.name not in names:
            continue
        wanted = _hints(type(value))[item.name]  # type: ignore[arg-type]
        got = getattr(value, item.name)
        if not _matches(got, wanted):
            raise TypeError(f"{item.name}: {got!r} is not of type {wanted}")
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _matches(value: Any, wanted: Any) -> bool:
    origin, args = typing.get_origin(wanted), typing.get_args(wanted)
    if wanted is Any:
        return True
    if wanted is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin is Literal:
        return value in args
    if origin is dict:
        return isinstance(value, dict) and all(
            _matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items()
        )
    if origin is tuple:
        items = args[:1] if len(args) == 2 and args[1] is Ellipsis else args
        return isinstance(value, tuple) and all(_matches(v, items[0]) for v in value)
    if wanted is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if wanted is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(wanted, type) and is_dataclass(wanted):
        return isinstance(value, wanted) and check_types(value) is value
    return isinstance(value, wanted)
