"""Byte-for-byte parity of the file library with real batou 2.7.1.

The repository in ``parity_repo.py`` is converged three times by batou and by ``deployd
apply``: from scratch, again (nothing to do), and after the same manual drift of both work
trees. After each round the two work trees must be identical: paths, bytes, modes, owners,
symlink targets (absolute targets normalised) and the diff logs in ``work/.batou-diffs``.
The whole module shares one fixture, so batou runs three times per session.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.parity_helpers import (
    batou_venv,
    differences,
    run_batou,
    run_deployd,
    snapshot,
    write_repo,
)
from tests.support.parity_repo import PARITY_FILES, drift

pytestmark = pytest.mark.slow

ENVIRONMENT = "parity"


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    venv = batou_venv()
    base = tmp_path_factory.mktemp("parity")
    batou_repo = write_repo(base / "batou-repo", PARITY_FILES)
    deployd_repo = write_repo(base / "deployd-repo", PARITY_FILES)
    root = base / "deployd-root"
    rounds = []
    for number in range(3):
        if number == 2:
            drift(batou_repo / "work")
            drift(root / "work")
        run_batou(venv, batou_repo, ENVIRONMENT)
        run_deployd(deployd_repo, ENVIRONMENT, root)
        rounds.append((snapshot(batou_repo / "work"), snapshot(root / "work")))
    yield {"rounds": rounds, "batou_repo": batou_repo, "deployd_root": root}
    shutil.rmtree(base, ignore_errors=True)


def test_first_converge_leaves_identical_work_trees(converged: dict[str, Any]) -> None:
    batou, deployd = converged["rounds"][0]
    assert differences(batou, deployd) == []


def test_second_converge_leaves_identical_work_trees(converged: dict[str, Any]) -> None:
    batou, deployd = converged["rounds"][1]
    assert differences(batou, deployd) == []


def test_converge_after_drift_leaves_identical_work_trees(converged: dict[str, Any]) -> None:
    batou, deployd = converged["rounds"][2]
    assert differences(batou, deployd) == []


def test_drift_was_repaired_where_batou_repairs_it(converged: dict[str, Any]) -> None:
    batou, _ = converged["rounds"][2]
    assert batou["files/greeting.txt"][3] == b"bonjour on 9090\n"
    assert batou["files/plain-dir"][3] == "dir"
    assert batou["files/rwx.txt"][0] == 0o640
    assert batou["files/owned.txt"][1:3] == (65534, 65534)
    assert batou["files/link-rel"] == ("link", "WORK/files/greeting.txt")
    # batou's quirks, kept: Presence keeps content, rsync keeps extra files
    assert batou["files/empty.txt"][3] == b"content Presence keeps"
    assert batou["files/synced/extra.txt"][3].startswith(b"rsync without")
    assert batou["files/synced/top.txt"][3] == b"top\n"


def test_the_repository_exercises_what_it_claims(converged: dict[str, Any]) -> None:
    # Guards the test itself: if batou silently did less, parity would prove little.
    batou, _ = converged["rounds"][0]
    assert batou["files/greeting.txt"][3] == b"bonjour on 9090\n"
    assert batou["files/raw.txt"][3] == b"windows\nline endings {{ not rendered }}\n"
    assert batou["files/blob.bin"][3].startswith(b"\x00\xff\r\n")
    assert batou["files/bytes.bin"][3] == b"\x00\x01 {{ raw }}\r\n"
    assert batou["files/bytes.txt"][3] == b"decoded 9090\n"
    assert batou["files/nested/dirs/here"][3] == "dir"
    assert batou["files/mode-dir"][0] == 0o750
    assert batou["files/rwx.txt"][0] == 0o640
    assert batou["files/owned.txt"][1:3] == (65534, 65534)
    assert batou["files/link-rel"] == ("link", "WORK/files/greeting.txt")
    assert batou["files/synced/sub/inner.txt"][3] == b"inner\n"
    assert not any(key.startswith("files/purge-me") for key in batou)
    assert len(batou[".batou-diffs/*"]) > 20


def test_no_op_round_writes_only_the_diffs_of_purged_files(converged: dict[str, Any]) -> None:
    # The second round changes nothing but the file that Purge removes every time: its
    # re-creation logs exactly one more diff, in batou and in deployd alike.
    (first, _), (second, deployd_second), _ = converged["rounds"]
    assert len(second[".batou-diffs/*"]) == len(first[".batou-diffs/*"]) + 1
    assert len(deployd_second[".batou-diffs/*"]) == len(second[".batou-diffs/*"])


def test_deployd_keeps_the_work_tree_under_its_root(converged: dict[str, Any]) -> None:
    root: Path = converged["deployd_root"]
    assert (root / "work" / "files" / "greeting.txt").is_file()


def test_developer_sandbox_maps_absolute_paths_identically(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # [vfs] sandbox = Developer: absolute paths land under work/_/ (mapped once, not twice,
    # although File maps its path and passes the result to sub-components that map again).
    base = tmp_path_factory.mktemp("sandbox")
    batou_repo = write_repo(base / "batou-repo", PARITY_FILES)
    deployd_repo = write_repo(base / "deployd-repo", PARITY_FILES)
    run_batou(batou_venv(), batou_repo, "sandbox")
    run_deployd(deployd_repo, "sandbox", base / "root")
    batou = snapshot(batou_repo / "work")
    assert batou["_/srv/app/config.txt"] == (0o600, 0, 0, b"in the sandbox\n")
    assert batou["_/srv/app/link"] == ("link", "WORK/_/srv/app/config.txt")
    assert differences(batou, snapshot(base / "root" / "work")) == []
