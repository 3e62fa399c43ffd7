"""The worker protocol: the only module both the daemon and the worker import.

A converge runs in a worker subprocess (``python -m components_runtime.worker``) inside the
deployment repository's venv. The parent and the worker speak through three pipes:

* **stdin**: one JSON object, a :class:`WorkerRequest`, then EOF. It may carry decrypted secrets
  (:class:`SecretsPayload`): the worker redacts their values from every event it sends.
* **stdout**: JSON lines. Every line is one event, ``{"event": KIND, ...}``. The last line is
  always ``{"event": "result", ...}`` carrying a :class:`WorkerResult`. A worker that ends without
  a result line has crashed; the parent records that itself.
* **stderr**: free text (user ``print``s are redirected here too, so they cannot corrupt the
  event stream). The parent keeps its tail for crash reports.

Signals from the parent: ``SIGUSR1`` asks the worker to stop *between* root components (a newer
commit arrived); the run then ends with outcome ``cancelled``. ``SIGTERM``/``SIGKILL`` go to the
worker's whole process group when a time limit is exceeded.

Event kinds (all carry ``"t"``: seconds since the epoch):

======================= ==================================================================
``hello``               ``protocol``, ``pid``, ``python``, ``prefix`` (``sys.prefix``: the
                        venv it runs in): the worker started.
``log``                 ``level`` (debug/info/warning/error), ``host``, ``component``
                        (root name or ``None``), ``message``.
``component-started``   ``host``, ``component`` (root name), ``timeout`` (seconds the
                        component class declares, or ``None`` for the run's default).
``component-announced`` ``host``, ``component``, ``path``: the line naming a (sub-)component,
                        sent before the first message it prints while it verifies and before
                        its ``update()`` (batou's held-back header); never for a component
                        that printed nothing and needs no update.
``component-changed``   ``host``, ``component``, ``path``: a (sub-)component ran ``update()``
                        (or would, when predicting); ``path`` is its breadcrumb path.
``component-finished``  ``host``, ``component``, ``outcome`` (changed/unchanged/failed/
                        skipped/not-attempted: it depends on a root that failed),
                        ``duration``.
``debugger-waiting``    ``host``, ``port``, ``file``, ``line``: a ``breakpoint()`` is waiting
                        for remote-pdb to attach.
``debugger-done``       the debugged code continued.
``result``              the :class:`WorkerResult` fields.
======================= ==================================================================
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PROTOCOL_VERSION = 1

Mode = Literal["apply", "predict", "check"]
RunOutcome = Literal["succeeded", "failed", "cancelled"]
ComponentState = Literal["changed", "unchanged", "failed", "skipped", "not-attempted"]

EVENT_KINDS = frozenset(
    {
        "hello",
        "log",
        "component-started",
        "component-announced",
        "component-changed",
        "component-finished",
        "debugger-waiting",
        "debugger-done",
        "result",
    }
)


@dataclass(frozen=True, repr=False)
class SecretsPayload:
    """Decrypted secrets for the worker: the cleartext of each encrypted file by its path in the
    repository. The daemon decrypts with the host's key and sends this through the worker's
    stdin only; nothing decrypted is written to disk. ``complete`` is False for a check
    without keys (only the structure is checked then)."""

    texts: tuple[tuple[str, str], ...] = ()
    complete: bool = True

    def __repr__(self) -> str:  # never the cleartext, whoever prints the request
        return f"<SecretsPayload: {len(self.texts)} files, complete={self.complete}>"

    def as_dict(self) -> dict[str, str]:
        return dict(self.texts)


@dataclass(frozen=True)
class WorkerRequest:
    """What to converge. Paths are absolute."""

    repository: str
    environment: str
    host: str | None = None  # None: this machine's host name (short, then FQDN)
    root: str = "/srv/deployd"  # deployment root: work dirs are ROOT/work/<component>
    mode: Mode = "apply"
    all_hosts: bool = False  # check only: configure and report for every host
    debug: bool = False  # breakpoint() opens remote-pdb instead of warning
    # where remote-pdb listens in debug mode (apply: REMOTE_PDB_HOST / REMOTE_PDB_PORT);
    # a host that is not loopback is refused unless debug_allow_remote (see debugging.py)
    debug_host: str = "127.0.0.1"
    debug_port: int = 4444
    debug_allow_remote: bool = False
    protocol: int = PROTOCOL_VERSION
    secrets: SecretsPayload | None = field(default=None, repr=False)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerRequest:
        data = json.loads(text)
        if data.get("protocol") != PROTOCOL_VERSION:
            raise ValueError(
                f"worker protocol {data.get('protocol')!r} is not {PROTOCOL_VERSION}: "
                "the daemon and the runtime come from different deployd versions"
            )
        secrets = data.pop("secrets", None)
        if secrets is not None:
            texts = tuple((str(path), str(text)) for path, text in secrets.get("texts", ()))
            data["secrets"] = SecretsPayload(texts, bool(secrets.get("complete", True)))
        return cls(**data)


@dataclass(frozen=True)
class ErrorInfo:
    """One error, located as precisely as we can: the user's file and line, or the config
    section, and the component. ``kind`` is the error class name; ``hint`` says what to do."""

    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    section: str | None = None
    component: str | None = None
    host: str | None = None
    hint: str | None = None
    details: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorInfo:
        data = dict(data)
        data["details"] = tuple(data.get("details") or ())
        return cls(**data)


@dataclass(frozen=True)
class ComponentResult:
    """The outcome of one root component on this host."""

    component: str
    outcome: ComponentState
    duration: float = 0.0
    changed_paths: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComponentResult:
        data = dict(data)
        data["changed_paths"] = tuple(data.get("changed_paths") or ())
        return cls(**data)


@dataclass(frozen=True)
class WorkerResult:
    outcome: RunOutcome
    host: str | None = None
    platform: str | None = None
    components: tuple[ComponentResult, ...] = ()
    errors: tuple[ErrorInfo, ...] = ()
    warnings: tuple[str, ...] = ()
    duration: float = 0.0

    def to_event(self) -> dict[str, Any]:
        return {"event": "result", "t": time.time(), **asdict(self)}

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> WorkerResult:
        return cls(
            outcome=event["outcome"],
            host=event.get("host"),
            platform=event.get("platform"),
            components=tuple(ComponentResult.from_dict(c) for c in event.get("components", ())),
            errors=tuple(ErrorInfo.from_dict(e) for e in event.get("errors", ())),
            warnings=tuple(event.get("warnings", ())),
            duration=float(event.get("duration", 0.0)),
        )


def make_event(kind: str, **fields: Any) -> dict[str, Any]:
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown worker event kind {kind!r}")
    return {"event": kind, "t": time.time(), **fields}


def encode_event(event: dict[str, Any]) -> bytes:
    return (json.dumps(event, default=str) + "\n").encode()


def decode_event(line: bytes | str) -> dict[str, Any]:
    """Parse one stdout line. A line that is not an event raises ValueError."""
    event = json.loads(line)
    if not isinstance(event, dict) or event.get("event") not in EVENT_KINDS:
        raise ValueError(f"not a worker event: {line!r:.200}")
    return event


def is_loopback(host: str) -> bool:
    """Whether a debugger listening on ``host`` is reachable from this machine only.

    Both sides decide with it: ``deployd apply`` refuses a remote debugger up front, and the
    worker refuses it again (a request may come from elsewhere)."""
    if host == "localhost":
        return True
    import ipaddress  # only when debugging: a plain run never needs it

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = [
    "PROTOCOL_VERSION",
    "ComponentResult",
    "ErrorInfo",
    "SecretsPayload",
    "WorkerRequest",
    "WorkerResult",
    "decode_event",
    "encode_event",
    "is_loopback",
    "make_event",
]
