"""The text forms of status and history, from the JSON shapes the API serves."""

from __future__ import annotations

from daemon.records import status_line
from daemon.records.model import (
    CommitInfo,
    ComponentRecord,
    DebuggerInfo,
    ErrorRecord,
    HostState,
    LiveStatus,
    RunRecord,
    StatusSnapshot,
)
from daemon.records.text import render_oneline, render_run, render_runs, render_status

NOW = 1_800_000_000.0
GOOD = CommitInfo(sha="a" * 40, subject="good one", timestamp=NOW - 7200)
NEW = CommitInfo(sha="b" * 40, subject="newer", timestamp=NOW - 60)
FAILED = RunRecord(
    id="20270115T080000-000007",
    trigger="push",
    outcome="failed",
    started_at=NOW - 120,
    finished_at=NOW - 110,
    commit=NEW,
    host="web1",
    components=(ComponentRecord("nginx", "failed", 1.5),),
    errors=(
        ErrorRecord(
            kind="CmdExecutionError",
            message="exit 1",
            file="components/nginx/component.py",
            line=12,
            component="nginx",
            hint="read the output",
        ),
    ),
)


def _snapshot(**live: object) -> StatusSnapshot:
    state = HostState(
        ratchet=NEW.sha,
        last_good=GOOD,
        last_good_at=NOW - 3600,
        upstream=NEW,
        suspended_reason="db work",
    )
    return StatusSnapshot(
        host="web1",
        environment="production",
        repository="https://***@git/x",
        branch="main",
        platform="debian",
        state=state,
        live=LiveStatus(next_poll_at=NOW + 30, **live),  # type: ignore[arg-type]
        last_run=FAILED,
    )


def test_status_shows_what_an_operator_needs() -> None:
    debugger = DebuggerInfo(host="127.0.0.1", port=4444, file="components/a.py", line=3)
    text = render_status(_snapshot(debugger=debugger).to_dict(), now=NOW)
    assert 'deployed       aaaaaaaaaa "good one" (committed 2h ago), deployed 1h ago' in text
    assert "last run       failed 20270115T080000-000007 (1m ago, 10.0s, trigger push)" in text
    assert "BEHIND" in text and "next poll      in 30s" in text
    assert "suspended      yes: db work" in text
    assert "components/nginx/component.py:12 component nginx (hint: read the output)" in text
    assert "nc -C 127.0.0.1 4444" in text and "ssh -t web1 nc -C 127.0.0.1 4444" in text


def test_oneline_and_systemd_status_line() -> None:
    snapshot = _snapshot(running_run_id="R", running_commit=NEW.sha, running_component="nginx")
    assert render_oneline(snapshot.to_dict()) == (
        "web1 deployed=aaaaaaa last=failed behind=bbbbbbb running suspended"
    )
    line = status_line(snapshot)
    assert line.startswith("web1: deployed aaaaaaa; last run failed; converging bbbbbbb (nginx)")
    assert "SUSPENDED: db work" in line


def test_history_list_and_detail() -> None:
    table = render_runs([FAILED.to_dict()], now=NOW)
    assert "20270115T080000-000007 failed     push      bbbbbbb     10.0s  2m ago" in table
    refused = {**FAILED.to_dict(), "outcome": "refused", "reason": "not-fast-forward"}
    lines = render_runs([refused, FAILED.to_dict()], now=NOW).splitlines()
    assert len({line.index(" push ") for line in lines[1:]}) == 1, "columns stay aligned"
    assert lines[0].index("TRIGGER") == lines[1].index("push"), lines
    detail = render_run(FAILED.to_dict(), now=NOW)
    assert "failed    nginx (1.50s)" in detail
    assert "error     CmdExecutionError: exit 1 at components/nginx/component.py:12" in detail
