"""A damaged mirror is moved aside and fetched anew, with the damage named (not echoed raw)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.git.mirror import FetchError, Mirror, MirrorDamaged
from tests.support.daemon_helpers import make_deploy_repo


def _damage(mirror: Path, kind: str) -> None:
    if kind == "object":
        for obj in (mirror / "objects").glob("??/*"):
            obj.chmod(0o644)
            obj.write_bytes(b"garbage")
    else:
        (mirror / kind).write_bytes(b"garbage\x00\x1b[31m\n")


@pytest.mark.parametrize("kind", ["HEAD", "config", "packed-refs", "object"])
def test_a_damaged_mirror_is_moved_aside_and_fetched_again(tmp_path: Path, kind: str) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    path = tmp_path / "state" / "repo.git"
    head = Mirror(path, str(repo), "main").fetch()
    _damage(path, kind)
    mirror = Mirror(path, str(repo), "main")
    with pytest.raises(MirrorDamaged) as caught:
        mirror.remote_head()
        mirror.fetch()
    message = str(caught.value)
    assert f"the mirror {path} was damaged (" in message and "cloned anew" in message
    assert "\x00" not in message and "\x1b" not in message
    assert caught.value.transient, "retried at once, with backoff, not at the poll interval"
    aside = list(path.parent.glob("repo.git.damaged-*"))
    assert len(aside) == 1 and aside[0].name in message
    assert mirror.remote_head() == head and mirror.fetch() == head  # the next poll
    assert mirror.is_ancestor(head, head)


def test_a_remote_that_is_no_repository_is_not_damage(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path / "repo.git", str(tmp_path / "nothing"), "main")
    with pytest.raises(FetchError) as caught:
        mirror.remote_head()
    assert not isinstance(caught.value, MirrorDamaged)
    assert (tmp_path / "repo.git").is_dir() and not list(tmp_path.glob("*.damaged-*"))
