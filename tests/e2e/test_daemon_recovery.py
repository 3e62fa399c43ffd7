"""A daemon restarted over a damaged state directory recovers, or says clearly what is wrong."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.daemon_helpers import (
    Daemon,
    deploy_files,
    deployd_command,
    make_deploy_repo,
    push_content,
    run_daemon,
)
from tests.support.git_servers import free_port
from tests.support.helpers import commit, git, wait_for


def test_restart_over_a_damaged_run_record_and_marker(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    state_dir = tmp_path / "state"
    with run_daemon(tmp_path / "first", repo, state_dir=state_dir) as daemon:
        first = daemon.wait_run(trigger="startup", outcome="succeeded")
    (state_dir / "runs" / f"{first['id']}.json").write_text("[]")  # damaged by hand
    (state_dir / "running.json").write_text("{torn")
    with run_daemon(tmp_path / "second", repo, state_dir=state_dir) as daemon:
        crashed = daemon.wait_run(outcome="crashed", reason="daemon-restarted")
        again = daemon.wait_run(trigger="startup", outcome="succeeded")
        status = daemon.status()
        assert status["state"]["last_good"]["sha"] == first["commit"]["sha"]
        history = daemon.cli("history", check=True).stdout
        assert crashed["id"] in history and again["id"] in history
        assert first["id"] not in history
        assert daemon.cli("history", first["id"]).returncode == 2
        assert f"run record {first['id']} unreadable" in daemon.output()
        assert "Traceback" not in daemon.output()


def test_a_host_section_removed_later_is_refused_and_polling_goes_on(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    config = "environments/test/environment.cfg"
    with run_daemon(tmp_path, repo, poll_interval=0.2) as daemon:
        good = daemon.wait_run(trigger="startup", outcome="succeeded")
        removed = commit(repo, {config: "[environment]\n\n[host:otherhost]\ncomponents = hello\n"})
        refused = daemon.wait_run(commit__sha=removed)
        assert refused["outcome"] == "refused" and refused["reason"] == "host-missing", refused
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hello version 1\n"
        status = daemon.status()
        assert status["state"]["last_good"]["sha"] == good["commit"]["sha"]
        before = status["state"]["last_fetch_at"]
        wait_for(lambda: daemon.status()["state"]["last_fetch_at"] > before)
        back = commit(repo, {**deploy_files("version 2")})
        run = daemon.wait_run(commit__sha=back)
        assert run["outcome"] == "succeeded", run
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hello version 2\n"


def test_a_bundle_that_cannot_be_filed_away_still_converges(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    unreachable = f"git://127.0.0.1:{free_port()}/deploy"
    with run_daemon(tmp_path, unreachable, poll_interval=5) as daemon:
        inbox = daemon.state_dir / "inbox"
        wait_for(inbox.is_dir)  # the watchers make it once the API answers, not before
        (inbox / "processed").write_text("a file where the daemon wants a directory")
        staged = tmp_path / "b.bundle"
        git("bundle", "create", str(staged), "main", cwd=repo)
        os.replace(staged, inbox / "b.bundle")
        run = daemon.wait_run(trigger="inbox")
        assert run["outcome"] == "succeeded", run
        assert "inbox: cannot move b.bundle into processed/" in daemon.output()
        assert daemon.alive() and "Traceback" not in daemon.output()


def test_the_loop_survives_a_state_file_it_cannot_write(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    with run_daemon(tmp_path, repo, poll_interval=0.2, watch_repository=False) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        state_file = daemon.state_dir / "state.json"

        def block() -> bool:  # a directory where state.json belongs: os.replace onto it fails
            try:
                state_file.unlink(missing_ok=True)
                (state_file / "blocker").mkdir(parents=True)
            except OSError:  # the daemon wrote state.json in between: again
                return False
            return True

        wait_for(block)
        wait_for(lambda: "loop: still failing" in daemon.output())
        assert daemon.alive()
        status = daemon.status()
        assert status["state"]["last_good"] is not None, "the API still answers"
        assert f"cannot write {state_file}" in status["live"]["loop_error"]
        text = daemon.cli("status")
        assert text.returncode == 1 and "DAEMON FAILING" in text.stdout
        assert f"loop: cannot write {state_file}: Is a directory" in daemon.output()
        assert "Traceback" not in daemon.output(), "a located error, not a traceback"
        shutil.rmtree(state_file)
        sha = push_content(repo, "after the disk came back")
        daemon.cli("converge", check=True)
        daemon.wait_run(commit__sha=sha, outcome="succeeded", timeout=90)
        assert state_file.is_file()
        wait_for(lambda: daemon.status()["live"]["loop_error"] is None)


def test_a_lost_state_file_keeps_the_ratchet_from_the_state_dirs_leftovers(
    tmp_path: Path,
) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    first = git("rev-parse", "HEAD", cwd=repo)
    state_dir = tmp_path / "state"
    with run_daemon(tmp_path / "a", repo, state_dir=state_dir) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        newer = push_content(repo, "version 2")
        daemon.cli("converge", check=True)
        daemon.wait_run(commit__sha=newer, outcome="succeeded")
    (state_dir / "state.json").unlink()  # deleted by hand
    git("reset", "-q", "--hard", first, cwd=repo)  # the server's branch rewound
    before = set(os.listdir(state_dir / "runs"))
    with run_daemon(tmp_path / "b", repo, state_dir=state_dir, poll_interval=0.2) as daemon:
        run = _new_run(state_dir, before)
        assert run["outcome"] == "succeeded" and run["commit"]["sha"] == newer, run
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hello version 2\n"
        assert f"rebuilt ratchet {newer[:12]} from refs/deployd/ratchet" in daemon.output()
        status = daemon.cli("status", check=True).stdout
        assert "REBUILT" in status and f"last good deployment {newer[:12]}" in status
        _history_into_a_closed_pipe(daemon)
        rewritten = push_content(repo, "rewritten")  # on top of the older commit
        refused = daemon.wait_run(commit__sha=rewritten)
        assert refused["outcome"] == "refused" and refused["reason"] == "not-fast-forward"


def test_an_empty_state_file_is_rebuilt_from_the_run_records(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    state_dir = tmp_path / "state"
    with run_daemon(tmp_path / "a", repo, state_dir=state_dir) as daemon:
        good = daemon.wait_run(trigger="startup", outcome="succeeded")
    (state_dir / "state.json").write_text("")
    shutil.rmtree(state_dir / "repo.git")  # no ratchet ref either: the run records hold it
    git("commit", "-q", "--amend", "-m", "rewritten", cwd=repo)
    before = set(os.listdir(state_dir / "runs"))
    with run_daemon(tmp_path / "b", repo, state_dir=state_dir) as daemon:
        run = _new_run(state_dir, before)
        assert run["outcome"] == "refused" and run["reason"] == "not-fast-forward", run
        sha = good["commit"]["sha"][:12]
        assert f"rebuilt ratchet {sha} from run {good['id']}" in daemon.output()


def _new_run(state_dir: Path, before: set[str]) -> dict[str, Any]:
    """The first run record written after ``before`` (the names in runs/ then)."""

    def find() -> dict[str, Any] | None:
        new = sorted(set(os.listdir(state_dir / "runs")) - before)
        names = [n for n in new if n.endswith(".json") and not n.startswith(".")]
        return json.loads((state_dir / "runs" / names[0]).read_text()) if names else None

    return wait_for(find, timeout=30)


def _history_into_a_closed_pipe(daemon: Daemon) -> None:
    """`deployd history | head -0`: the reader is gone before the first line."""
    read, write = os.pipe()
    os.close(read)
    done = subprocess.run(
        [*deployd_command(), "history", "--socket", str(daemon.socket)],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 141, done.stderr


def test_a_mirror_damaged_under_a_running_daemon_is_cloned_anew(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    with run_daemon(tmp_path, repo, poll_interval=0.2, watch_repository=False) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        (daemon.state_dir / "repo.git" / "HEAD").write_text("garbage\n")
        (daemon.state_dir / "repo.git" / "config").write_text("[[[ garbage\n")
        sha = push_content(repo, "after the damage")
        run = daemon.wait_run(commit__sha=sha, timeout=60)
        assert run["outcome"] == "succeeded", run
        assert (
            "is damaged" in daemon.output()
            and "moved aside to repo.git.damaged-" in daemon.output()
        )
        assert daemon.status()["state"]["last_fetch_error"] is None
        assert "Traceback" not in daemon.output()
