import json
from pathlib import Path

import pytest

from daemon.records.model import CommitInfo, HostState, RunRecord
from daemon.state.store import StateError, StateStore


def _record(store: StateStore, outcome: str = "succeeded") -> RunRecord:
    return RunRecord(
        id=store.new_run_id(),
        trigger="poll",
        outcome=outcome,
        started_at=1.0,
        finished_at=3.5,
        commit=CommitInfo(sha="a" * 40, subject="hello"),
    )


def test_fresh_state_dir_gives_empty_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    assert store.load() == HostState()
    assert store.list_runs() == []
    assert store.last_run() is None


def test_state_round_trips_with_counters(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    state = HostState(ratchet="b" * 40).count("runs_total", outcome="failed", trigger="api")
    state = state.observe("run_duration_seconds", 4.0)
    store.save(state)
    assert StateStore(tmp_path).load() == state
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files left behind"


def test_runs_are_kept_newest_first_and_pruned(tmp_path: Path) -> None:
    store = StateStore(tmp_path, keep_runs=3)
    written = []
    for _ in range(5):
        record = _record(store)
        store.write_run(record)
        written.append(record)
    runs = store.list_runs()
    assert [r.id for r in runs] == [r.id for r in reversed(written[-3:])]
    assert store.get_run(written[-1].id) == written[-1]
    assert store.get_run(written[0].id) is None
    assert store.get_run("../state") is None
    assert store.last_run() == written[-1]


def test_run_ids_stay_unique_across_a_running_marker(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    first = store.new_run_id()
    store.mark_running(id=first, trigger="poll")
    second = store.new_run_id()
    assert second != first and second.endswith("-000002")
    assert store.read_running() == {"id": first, "trigger": "poll"}
    store.clear_running()
    assert store.read_running() is None


def test_corrupt_state_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(StateError, match="state.json"):
        StateStore(tmp_path).load()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"schema": 99}))
    with pytest.raises(StateError, match="newer deployd"):
        StateStore(tmp_path).load()


def test_recovery_after_a_kill_between_record_and_marker(tmp_path: Path) -> None:
    from daemon.loop.recovery import recover

    store = StateStore(tmp_path)
    record = _record(store)
    store.mark_running(
        id=record.id, trigger="poll", commit=record.commit.sha if record.commit else None
    )
    store.write_run(record)  # the daemon died here: state.json and the marker not updated
    state = recover(HostState(), store)
    assert store.get_run(record.id) == record, "the real record is kept, not overwritten"
    assert state.last_run == record.id and state.last_good == record.commit
    assert store.read_running() is None
    assert StateStore(tmp_path).load() == state


def test_recovery_records_an_interrupted_run_as_crashed(tmp_path: Path) -> None:
    from daemon.loop.recovery import recover

    store = StateStore(tmp_path)
    store.mark_running(id="20270101T000000-000003", trigger="push", commit="c" * 40, worker_pid=1)
    state = recover(HostState(), store)
    crashed = store.get_run("20270101T000000-000003")
    assert crashed and crashed.outcome == "crashed" and crashed.reason == "daemon-restarted"
    assert state.counters["runs_total"] == {"outcome=crashed,trigger=push": 1}
    assert store.new_run_id().endswith("-000004")


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        "3",
        '{"counters": 5}',
        '{"counters": {"runs_total": {"outcome=x": "many"}}}',
        '{"last_good": {"sha": 1}}',
        '{"histograms": {"x": 3}}',
        '{"suspended_reason": ["x"]}',
    ],
)
def test_a_damaged_state_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "state.json").write_text(text)
    with pytest.raises(StateError, match="state.json: cannot read the daemon state"):
        StateStore(tmp_path).load()
    (tmp_path / "state.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(StateError, match="codec can't decode"):
        StateStore(tmp_path).load()


@pytest.mark.parametrize(
    "text",
    ["[]", '"x"', "{}", '{"commit": "abc"}', b"\xff\xfe", "torn {"],
)
def test_a_damaged_run_record_is_skipped(tmp_path: Path, text: str | bytes) -> None:
    store = StateStore(tmp_path)
    good = _record(store)
    store.write_run(good)
    bad_id = store.new_run_id()
    bad = store.runs_dir / f"{bad_id}.json"
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert store.get_run(bad_id) is None
    assert store.list_runs() == [good]
    typed = {**good.to_dict(), "id": bad_id, "started_at": "yesterday"}
    bad.write_text(json.dumps(typed))
    assert store.get_run(bad_id) is None


def test_a_damaged_running_marker_is_still_recorded_as_crashed(tmp_path: Path) -> None:
    from daemon.loop.recovery import recover

    store = StateStore(tmp_path)
    store.ensure()
    store.running_file.write_text(json.dumps({"id": "../../x", "started_at": "x", "trigger": 3}))
    state = recover(HostState(), store)
    [crashed] = store.list_runs()
    assert crashed.outcome == "crashed" and crashed.trigger == "startup"
    assert state.last_run == crashed.id and store.read_running() is None
    assert not (tmp_path.parent / "x.json").exists()


def test_odd_worker_details_never_make_a_record_unreadable(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    record = _record(store)
    data = record.to_dict()
    data["errors"] = [{"kind": "X", "message": "m", "line": "12", "details": [{"a": 1}]}]
    data["components"] = [{"component": "c", "outcome": "changed", "duration": None}]
    (store.runs_dir).mkdir(parents=True, exist_ok=True)
    (store.runs_dir / f"{record.id}.json").write_text(json.dumps(data))
    read = store.get_run(record.id)
    assert read is not None and read.errors[0].line == "12"  # type: ignore[comparison-overlap]


def test_recovery_kills_a_worker_that_survived_its_daemon(tmp_path: Path) -> None:
    import subprocess
    import sys

    from daemon.loop.recovery import recover

    # A stand-in whose command line looks like a worker's, in its own session like a worker.
    code = "import signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(60)"
    survivor = subprocess.Popen(
        [sys.executable, "-c", code, "components_runtime.worker"], start_new_session=True
    )
    store = StateStore(tmp_path)
    store.mark_running(id="20270101T000000-000001", trigger="poll", worker_pid=survivor.pid)
    recover(HostState(), store)
    assert survivor.wait(timeout=10) == -15  # SIGTERM to its process group
    innocent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.mark_running(id="20270101T000000-000002", trigger="poll", worker_pid=innocent.pid)
        recover(HostState(), store)
        assert innocent.poll() is None, "a reused pid that is no worker is left alone"
    finally:
        innocent.kill()
        innocent.wait()


def test_a_directory_where_the_lock_belongs_is_moved_aside(tmp_path: Path) -> None:
    from daemon.state import host_lock

    (tmp_path / "lock" / "junk").mkdir(parents=True)
    with host_lock(tmp_path, who="test"):
        assert (tmp_path / "lock").is_file()
    aside = [p.name for p in tmp_path.iterdir() if p.name.startswith("lock.damaged-")]
    assert len(aside) == 1 and (tmp_path / aside[0] / "junk").is_dir()


def test_a_lock_file_that_cannot_be_opened_is_a_located_state_error(tmp_path: Path) -> None:
    from daemon.state import host_lock

    (tmp_path / "lock").symlink_to(tmp_path / "missing-dir" / "lock")
    with pytest.raises(StateError, match=f"cannot open the lock file {tmp_path}/lock"):
        with host_lock(tmp_path, who="test"):
            pass


def test_the_state_dir_is_closed_to_others_whatever_the_umask(tmp_path: Path) -> None:
    import os

    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o777)
    os.chmod(state_dir, 0o777)  # made by someone else, open to all
    previous = os.umask(0o022)
    try:
        StateStore(state_dir).ensure()
    finally:
        os.umask(previous)
    for path in (state_dir, state_dir / "runs", state_dir / "checkouts"):
        assert path.stat().st_mode & 0o777 == 0o750, path
