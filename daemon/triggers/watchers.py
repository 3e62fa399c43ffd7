"""Immediate triggers that watch the file system: a push to a repository on this host, and
git bundles dropped into the inbox. Each watcher runs in its own thread and only puts a
:class:`~daemon.loop.owner.Trigger` on the loop's queue.

watchfiles' default filter ignores everything under ``.git``, so the push watcher uses its own
filter: it reacts to ref updates (``refs/**``, ``packed-refs``) and ignores git's ``*.lock``
files. ``step=50`` (watchfiles' default grouping window) starts a run well within 200 ms.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from daemon.config import Settings
from daemon.git import local_repository_path, pending_bundles
from daemon.loop import Trigger

log = logging.getLogger(__name__)


class Watcher:
    """One watchfiles loop in a daemon thread; ``on_change(paths)`` for each batch."""

    def __init__(
        self,
        name: str,
        paths: list[Path],
        accept: Callable[[watchfiles.Change, str], bool],
        on_change: Callable[[list[str]], None],
    ) -> None:
        self.name, self.paths, self.accept, self.on_change = name, paths, accept, on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"watch-{name}", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        try:
            for changes in watchfiles.watch(
                *self.paths,
                watch_filter=self.accept,
                step=50,
                debounce=400,
                stop_event=self._stop,
                raise_interrupt=False,
                rust_timeout=1000,
            ):
                self.on_change(sorted(path for _, path in changes))
        except Exception:  # a broken watcher must not take the daemon down: polling goes on
            log.exception("triggers: the %s watcher stopped", self.name)


def _is_ref_change(change: watchfiles.Change, path: str) -> bool:
    name = Path(path).name
    if name.endswith(".lock") or change == watchfiles.Change.deleted:
        return False
    if "/logs/" in path:
        return False
    return "/refs/" in path or name in ("packed-refs", "HEAD")


def _is_bundle(change: watchfiles.Change, path: str) -> bool:
    file = Path(path)
    return (
        change != watchfiles.Change.deleted
        and file.suffix == ".bundle"
        and not file.name.startswith(".")
        and file.parent.name not in ("processed", "failed")
    )


def start_watchers(settings: Settings, triggers: queue.Queue[object]) -> list[Watcher]:
    """One watcher for the bundle inbox and, when the repository lives on this host, its refs.

    One watcher rather than two: each watchfiles loop wakes up every ``step`` to check for its
    stop flag, and that is most of an idle daemon's CPU time."""
    inbox = settings.inbox
    inbox.mkdir(parents=True, exist_ok=True, mode=0o750)
    paths, git_dir = [inbox], None
    local = local_repository_path(settings.repository)
    if settings.watch_repository and local is not None:
        git_dir = local / ".git" if (local / ".git").is_dir() else local
        if (git_dir / "refs").is_dir():
            paths.append(git_dir)
        else:
            git_dir = None
    inbox_prefix = f"{inbox}/"
    git_prefix = f"{git_dir}/" if git_dir else None

    def accept(change: watchfiles.Change, path: str) -> bool:
        if path.startswith(inbox_prefix):
            return _is_bundle(change, path)
        return bool(git_prefix and path.startswith(git_prefix) and _is_ref_change(change, path))

    def changed(changes: list[str]) -> None:
        bundles([p for p in changes if p.startswith(inbox_prefix)])
        refs = [p for p in changes if git_prefix and p.startswith(git_prefix)]
        if refs:
            log.info("triggers: push to %s (%s)", local, ", ".join(refs[:3]))
            triggers.put(Trigger("push"))

    def bundles(files: list[str]) -> None:
        for path in files:
            if Path(path).is_file():
                triggers.put(Trigger("inbox", bundle=path))

    watcher = Watcher("triggers", paths, accept, changed).start()
    bundles([str(p) for p in pending_bundles(inbox)])
    return [watcher]
