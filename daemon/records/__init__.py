"""RunRecord, HostState and snapshots (stored = served = printed = measured), and their text."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.records.model import (
        FETCH_OUTCOMES,
        HOLD_REASONS,
        OUTCOMES,
        REFUSAL_REASONS,
        SCHEMA_VERSION,
        TRIGGERS,
        VENV_OUTCOMES,
        CheckResult,
        CommitInfo,
        ComponentRecord,
        DebuggerInfo,
        ErrorRecord,
        Histogram,
        HoldInfo,
        HostState,
        LiveStatus,
        RunRecord,
        StatusSnapshot,
        empty_histogram,
        parse_labels,
    )
    from daemon.records.text import (
        format_wait,
        hold_text,
        render_oneline,
        render_run,
        render_runs,
        render_status,
        status_line,
    )
    from daemon.records.trust import SIGNATURE_REASONS, SignatureRefusal, TrustOverride

__all__ = [
    "CheckResult",
    "CommitInfo",
    "ComponentRecord",
    "DebuggerInfo",
    "empty_histogram",
    "ErrorRecord",
    "FETCH_OUTCOMES",
    "format_wait",
    "hold_text",
    "Histogram",
    "HOLD_REASONS",
    "HoldInfo",
    "HostState",
    "LiveStatus",
    "OUTCOMES",
    "parse_labels",
    "REFUSAL_REASONS",
    "render_oneline",
    "render_run",
    "render_runs",
    "render_status",
    "RunRecord",
    "SCHEMA_VERSION",
    "SIGNATURE_REASONS",
    "SignatureRefusal",
    "StatusSnapshot",
    "status_line",
    "TRIGGERS",
    "TrustOverride",
    "VENV_OUTCOMES",
]

__getattr__ = lazy_exports(__name__, __file__)
