"""Unpacking a commit's ``git archive``: with Python's "tar" extraction filter where it exists,
and with the same rules applied by deployd on Debian 12's Python 3.11.2, which has no filters."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from daemon.git import mirror


@pytest.fixture(params=["python's filter", "deployd's rules"])
def filters(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "deployd's rules":
        monkeypatch.delattr(tarfile, "tar_filter", raising=False)


def extract(data: bytes, target: Path) -> str:
    """``mirror._extract`` on a real pipe, as git archive's stream reaches it."""
    process = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(data)  # small: fits the pipe
    process.stdin.close()
    try:
        return mirror._extract(process, target)
    finally:
        process.wait()


def entry(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info


@pytest.mark.usefixtures("filters")
def test_a_commit_unpacks_with_its_files_links_and_modes(tmp_path: Path) -> None:
    data = _tar(
        (entry("app/run.sh", mode=0o4755), b"#!/bin/sh\n"),
        (entry("app/current", tarfile.SYMTYPE, "run.sh"), b""),
    )
    assert extract(data, tmp_path) == ""
    assert (tmp_path / "app" / "run.sh").read_text() == "#!/bin/sh\n"
    assert (tmp_path / "app" / "current").resolve() == (tmp_path / "app" / "run.sh").resolve()
    assert (tmp_path / "app" / "run.sh").stat().st_mode & 0o7777 == 0o755, "no set-uid bit"


@pytest.mark.usefixtures("filters")
@pytest.mark.parametrize(
    "members",
    [
        [(entry("../outside.txt"), b"x")],
        [(entry("escape", tarfile.SYMTYPE, "/tmp"), b""), (entry("escape/owned.txt"), b"x")],
    ],
    ids=["dot-dot", "through-a-symlink"],
)
def test_nothing_lands_outside_the_checkout(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]]
) -> None:
    target = tmp_path / "checkout"
    target.mkdir()
    problem = extract(_tar(*members), target)
    assert "cannot unpack the commit" in problem
    assert not (tmp_path / "outside.txt").exists() and not Path("/tmp/owned.txt").exists()


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.usefixtures("filters")
@pytest.mark.parametrize(
    "members",
    [
        [(entry("files/shadow", tarfile.SYMTYPE, "/etc/shadow"), b"")],
        [(entry("files/shadow", tarfile.SYMTYPE, "../../etc/shadow"), b"")],
        [
            (entry("files/up", tarfile.SYMTYPE, ".."), b""),
            (entry("files/shadow", tarfile.SYMTYPE, "up/../etc/shadow"), b""),
        ],
    ],
    ids=["absolute", "dot-dot", "through-another-link"],
)
def test_a_link_leaving_the_repository_is_refused_with_its_name(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]]
) -> None:
    """The daemon runs as root: a link to a host file would deploy (and diff) that file."""
    target = tmp_path / "checkout"
    target.mkdir()
    problem = extract(_tar(*members), target)
    assert "files/shadow is a symbolic link to " in problem, problem
    assert "outside the repository" in problem
    assert not (target / "files" / "shadow").is_symlink()
