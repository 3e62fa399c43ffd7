"""What a finished run means for the rollout (a pure transition), and how a hold reads."""

from __future__ import annotations

from daemon.records import CheckResult, CommitInfo, HostState, RunRecord, hold_text
from daemon.rollout import apply_rollout_record

BAD, GOOD = CommitInfo("b" * 40), CommitInfo("a" * 40)


def run(outcome: str, commit: CommitInfo, reason: str | None = None, **fields: object) -> RunRecord:
    return RunRecord("r1", "poll", outcome, 10.0, 20.0, commit, reason=reason, **fields)  # type: ignore[arg-type]


def test_a_rollback_marks_the_commit_and_counts_the_checks() -> None:
    checks = (CheckResult("app", False, commit=BAD.sha), CheckResult("app", True, commit=GOOD.sha))
    state = apply_rollout_record(
        HostState(), run("rolled-back", BAD, "health-check", health=checks, rolled_back_to=GOOD)
    )
    assert state.rolled_back_commit == BAD.sha and state.suspended_reason is None
    assert state.counters["health_checks_total"] == {"result=failed": 1.0, "result=passed": 1.0}


def test_the_deployed_commit_failing_its_check_is_not_marked() -> None:
    deployed = HostState(last_good=GOOD)
    state = apply_rollout_record(deployed, run("failed", GOOD, "health-check"))
    assert state.rolled_back_commit is None
    first = apply_rollout_record(HostState(), run("failed", BAD, "health-check"))
    assert first.rolled_back_commit == BAD.sha  # a first deploy has nothing to go back to


def test_a_failed_rollback_suspends_once() -> None:
    state = apply_rollout_record(
        HostState(), run("rollback-failed", BAD, "health-check", rolled_back_to=GOOD)
    )
    assert state.rolled_back_commit == BAD.sha
    assert state.suspended_reason and "rollback of bbbbbbbbbbbb to aaaaaaaaaaaa failed" in (
        state.suspended_reason
    )
    assert state.suspended_at == 20.0


def test_an_override_that_succeeds_lifts_the_mark() -> None:
    marked = HostState(rolled_back_commit=BAD.sha)
    assert apply_rollout_record(marked, run("succeeded", BAD)).rolled_back_commit is None
    assert apply_rollout_record(marked, run("succeeded", GOOD)).rolled_back_commit == BAD.sha
    assert apply_rollout_record(marked, run("failed", BAD)).rolled_back_commit == BAD.sha


def test_a_hold_reads_with_the_time_left() -> None:
    window = {"reason": "window", "message": "waiting for the window", "until": 1000.0 + 11520}
    assert hold_text(window, 1000.0) == "waiting for the window (opens in 3h 12m)"
    delay = {"reason": "wave-delay", "message": "wave rest: waiting", "until": 1600.0}
    assert hold_text(delay, 1000.0) == "wave rest: waiting (10m left)"
    gate = {"reason": "wave-gate", "message": "wave rest: web01 failed", "until": None}
    assert hold_text(gate, 1000.0) == "wave rest: web01 failed"
