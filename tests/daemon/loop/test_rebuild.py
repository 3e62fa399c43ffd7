"""Rebuilding a lost state.json from the ratchet ref and the run records (pure function)."""

from __future__ import annotations

from daemon.loop.rebuild import needs_rebuild, rebuild
from daemon.records import CommitInfo, HostState, RunRecord


def _run(run_id: str, outcome: str, sha: str | None) -> RunRecord:
    commit = CommitInfo(sha=sha * 40) if sha else None
    return RunRecord(run_id, "poll", outcome, 1.0, 2.0, commit=commit)


# newest first, as StateStore.list_runs returns them
RUNS = [
    _run("20261206T100300-000004", "refused", "c"),  # holds the head it refused
    _run("20261206T100200-000003", "failed", "b"),
    _run("20261206T100100-000002", "succeeded", "a"),
]


def test_the_ratchet_ref_wins_and_runs_give_the_last_good_deployment() -> None:
    state, note = rebuild(HostState(), "d" * 40, RUNS, now=5.0)
    assert state.ratchet == "d" * 40
    assert state.last_run == RUNS[0].id
    assert state.last_good == CommitInfo(sha="a" * 40) and state.last_good_run == RUNS[2].id
    assert state.rebuilt_note == note and state.rebuilt_at == 5.0
    assert "ratchet dddddddddddd from refs/deployd/ratchet" in note


def test_without_the_ref_the_newest_converged_run_is_the_ratchet_never_a_refused_one() -> None:
    state, note = rebuild(HostState(), None, RUNS)
    assert state.ratchet == "b" * 40
    assert f"ratchet bbbbbbbbbbbb from run {RUNS[1].id}" in note


def test_nothing_to_rebuild_on_a_fresh_host_or_a_whole_state() -> None:
    assert not needs_rebuild(HostState(), None, [])
    whole = HostState(ratchet="a" * 40, last_run=RUNS[0].id)
    assert not needs_rebuild(whole, "a" * 40, RUNS)
    assert needs_rebuild(HostState(), "a" * 40, [])
    assert needs_rebuild(HostState(), None, RUNS[:1])  # a refusal: at least the last run
