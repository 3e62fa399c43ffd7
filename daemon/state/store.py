"""The daemon's durable memory in the state directory: ``state.json`` and ``runs/``.

Layout of the state directory (default ``/var/lib/deployd``)::

    state.json        HostState: ratchet, last good deployment, suspension, counters
    runs/<id>.json    one RunRecord per run, the newest ``keep_runs`` kept
    running.json      marker of the run in flight (id, trigger, commit, worker pid); a
                      marker found at start-up means the daemon died mid-run
    repo.git/         bare mirror (daemon.git.mirror)
    checkouts/        work trees (daemon.git.mirror)
    venvs/            content-addressed venvs (daemon.venvs.cache)
    lock              one run at a time per host (daemon.lock)

Every file is written to a temporary file in the same directory, fsynced and renamed, so a
``kill -9`` at any moment leaves either the old or the new version, never a torn one.

Only the daemon loop writes; readers (the API, the metrics exporter, tests) may read at any
time and always see a complete file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from daemon.records import HostState, RunRecord

log = logging.getLogger(__name__)

DEFAULT_KEEP_RUNS = 200
_RUN_ID = re.compile(r"^\d{8}T\d{6}-\d{6}$")


def is_run_id(text: str) -> bool:
    """A run id as :meth:`StateStore.new_run_id` makes them (safe as a file name)."""
    return bool(_RUN_ID.match(text))


class StateError(Exception):
    """The state directory holds something we cannot read (names the file and what to do)."""


def atomic_write(path: Path, data: bytes, mode: int = 0o640) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix.
    A failure (a full disk, a read-only or immutable file, a directory in the way) raises
    :class:`StateError` naming ``path``; the old file stays as it was."""
    try:
        _atomic_write(path, data, mode)
    except OSError as error:
        why = error.strerror or str(error)
        raise StateError(f"cannot write {path}: {why} (errno {error.errno})") from error


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


class StateStore:
    """Reads and writes ``state.json``, ``runs/`` and ``running.json`` under ``state_dir``."""

    def __init__(self, state_dir: Path | str, keep_runs: int = DEFAULT_KEEP_RUNS) -> None:
        self.state_dir = Path(state_dir)
        self.keep_runs = keep_runs

    # -- paths -----------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"

    @property
    def running_file(self) -> Path:
        return self.state_dir / "running.json"

    @property
    def mirror_dir(self) -> Path:
        return self.state_dir / "repo.git"

    @property
    def checkouts_dir(self) -> Path:
        return self.state_dir / "checkouts"

    @property
    def venvs_dir(self) -> Path:
        return self.state_dir / "venvs"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "lock"

    def ensure(self) -> None:
        """Create the directory tree, closed to others (0750) whatever the umask and whoever
        made it: it holds the repository, its secrets' venvs and the run history. Everything
        below (mirror, venvs: made by git and venv with their own modes) is then closed too."""
        for path in (self.state_dir, self.runs_dir, self.checkouts_dir):
            path.mkdir(parents=True, exist_ok=True, mode=0o750)
            if path.stat().st_mode & 0o027:
                path.chmod(path.stat().st_mode & 0o7750)

    # -- host state ------------------------------------------------------------------------
    def load(self) -> HostState:
        """The stored HostState, or a fresh one when none was written yet."""
        try:
            data = self.state_file.read_bytes()
        except FileNotFoundError:
            return HostState()
        if not data.strip():  # an empty file (a full disk, `> state.json`): nothing to read
            log.warning("state: %s is empty: treated as missing", self.state_file)
            return HostState()
        try:
            return HostState.from_dict(json.loads(data.decode()))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise StateError(
                f"{self.state_file}: cannot read the daemon state ({error}); "
                f"move it away (e.g. to {self.state_file.name}.damaged) and start again: the "
                "ratchet and the last good deployment are rebuilt from refs/deployd/ratchet and "
                "runs/ (counters start from zero)"
            ) from error

    def save(self, state: HostState) -> None:
        atomic_write(self.state_file, _dump(state.to_dict()))

    # -- run records -----------------------------------------------------------------------
    def new_run_id(self, now: float | None = None) -> str:
        """A sortable, unique id: ``<UTC yyyymmddThhmmss>-<sequence>``."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() if now is None else now))
        ids = self.run_ids()
        last_seq = max((int(i.rsplit("-", 1)[1]) for i in ids), default=0)
        marker = self.read_running()
        if marker and _RUN_ID.match(str(marker.get("id", ""))):
            last_seq = max(last_seq, int(marker["id"].rsplit("-", 1)[1]))
        return f"{stamp}-{last_seq + 1:06d}"

    def run_ids(self) -> list[str]:
        """Ids of the stored runs, oldest first."""
        try:
            names = os.listdir(self.runs_dir)
        except FileNotFoundError:
            return []
        ids = [n[:-5] for n in names if n.endswith(".json") and _RUN_ID.match(n[:-5])]
        return sorted(ids, key=lambda i: (int(i.rsplit("-", 1)[1]), i))

    def write_run(self, record: RunRecord) -> None:
        atomic_write(self.runs_dir / f"{record.id}.json", _dump(record.to_dict()))
        self._prune()

    def get_run(self, run_id: str) -> RunRecord | None:
        if not _RUN_ID.match(run_id):
            return None
        try:
            text = (self.runs_dir / f"{run_id}.json").read_bytes().decode()
            return RunRecord.from_dict(json.loads(text))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError, AttributeError, OSError) as error:
            log.warning("state: run record %s unreadable: %s", run_id, error)
            return None

    def list_runs(self, limit: int | None = None) -> list[RunRecord]:
        """Stored runs, newest first."""
        ids = list(reversed(self.run_ids()))
        if limit is not None:
            ids = ids[:limit]
        records = (self.get_run(i) for i in ids)
        return [r for r in records if r is not None]

    def last_run(self) -> RunRecord | None:
        runs = self.list_runs(limit=1)
        return runs[0] if runs else None

    def _prune(self) -> None:
        ids = self.run_ids()
        for old in ids[: max(0, len(ids) - self.keep_runs)]:
            (self.runs_dir / f"{old}.json").unlink(missing_ok=True)

    # -- the run in flight -----------------------------------------------------------------
    def mark_running(self, **fields: Any) -> None:
        """Remember the run in flight (id, trigger, commit, started_at, worker_pid)."""
        atomic_write(self.running_file, _dump(fields))

    def read_running(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.running_file.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def clear_running(self) -> None:
        self.running_file.unlink(missing_ok=True)
