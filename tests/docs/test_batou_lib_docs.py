"""The examples of docs/batou-lib.md run.

The page's ``file=`` blocks form one repository (pinning batou 2.7.1). This test makes the parts
it fetches: deterministic archives served over HTTP on 127.0.0.1 (their checksums are the
page's), a bare git repository, a Mercurial and a Subversion repository, and writes their
addresses into the page's ``[component:...]`` sections. It converges the ``docs`` environment
twice with ``deployd apply`` (the second run changes nothing) and checks ``docs-python``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.support.batou_lib_parity import http_server, offline_environment
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

PAGE = REPO_ROOT / "docs" / "batou-lib.md"
FILE_BLOCK = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)

CONFIGURE = b"""#!/bin/sh
prefix=/usr/local
for argument in "$@"; do
    case "$argument" in --prefix=*) prefix="${argument#--prefix=}";; esac
done
printf 'install:\\n\\tmkdir -p %s/bin\\n\\tcp hello %s/bin/hello\\n' "$prefix" "$prefix" > Makefile
echo configured > config.status
"""


def tarball(members: dict[str, tuple[bytes, int]]) -> bytes:
    """A .tar.gz whose bytes depend only on ``members`` (fixed times and owners)."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
        with tarfile.open(fileobj=packed, mode="w") as archive:
            for name, (data, mode) in members.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
                archive.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
    return raw.getvalue()


SERVED = {
    "tool-1.0.tar.gz": tarball({"tool-1.0/bin/tool": (b"#!/bin/sh\necho tool\n", 0o755)}),
    "data.zip": zipped({"data/readme.txt": b"data\n"}),
    "hello-2.0.tar.gz": tarball({
        "hello-2.0/configure": (CONFIGURE, 0o755),
        "hello-2.0/hello": (b"#!/bin/sh\necho hello\n", 0o755),
    }),
}  # fmt: skip


def checksum(name: str, function: str) -> str:
    return f"{function}:{hashlib.new(function, SERVED[name]).hexdigest()}"


def sh(command: str, cwd: Path) -> None:
    env = {**offline_environment(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.invalid"}  # fmt: skip
    subprocess.run(command, shell=True, cwd=cwd, env=env, check=True, capture_output=True)


def upstreams(base: Path) -> dict[str, str]:
    """A bare git repository (tag v1), a Mercurial and a Subversion repository."""
    base.mkdir()
    sh(
        "git init -q -b main src && cd src && echo app > app.txt && git add app.txt "
        "&& git commit -qm app && git tag v1 && git clone -q --bare . ../app.git",
        base,
    )
    sh(
        "hg init hg && cd hg && echo hg > a.txt && hg add -q a.txt && hg commit -q -u t -m one",
        base,
    )
    sh(f"svnadmin create svn && svn -q co file://{base}/svn wc && cd wc && echo s > s.txt "
       "&& svn -q add s.txt && svn -q commit -m one", base)  # fmt: skip
    return {"git": f"file://{base}/app.git", "hg": f"file://{base}/hg", "svn": f"file://{base}/svn"}


def deployd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", *args],
        cwd=REPO_ROOT, env=offline_environment(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_checksums_on_the_page_are_those_of_the_served_archives() -> None:
    text = PAGE.read_text()
    assert checksum("tool-1.0.tar.gz", "sha256") in text
    assert checksum("data.zip", "md5") in text
    assert checksum("hello-2.0.tar.gz", "sha256") in text


def test_the_example_repository_converges_and_is_converged_after(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for name, content in FILE_BLOCK.findall(PAGE.read_text()):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    served = tmp_path / "served"
    served.mkdir()
    for name, data in SERVED.items():
        (served / name).write_bytes(data)
    sources = upstreams(tmp_path / "upstream")
    config = repo / "environments/docs/environment.cfg"
    text = config.read_text()
    for upstream, url in zip(("app.git", "hg", "svn"), sources.values(), strict=True):
        text = text.replace(f"file:///srv/upstream/{upstream}", url)
    root, state = tmp_path / "root", tmp_path / "state"
    common = ("--host", "localhost", "--root", str(root), "--state-dir", str(state))
    with http_server(served) as url:
        config.write_text(text.replace("http://127.0.0.1:8000", url))
        first = deployd("apply", str(repo), "-e", "docs", *common)
        assert first.returncode == 0, first.stdout + first.stderr
        second = deployd("apply", str(repo), "-e", "docs", *common)
        assert second.returncode == 0, second.stdout + second.stderr
    assert "0 changed, 4 unchanged" in second.stdout + second.stderr
    work = root / "work"
    assert (work / "tools/tool/bin/tool").read_text() == "#!/bin/sh\necho tool\n"
    assert (work / "tools/data/data/readme.txt").read_text() == "data\n"
    assert (work / "compiled/installed/bin/hello").read_text() == "#!/bin/sh\necho hello\n"
    assert (work / "sources/app/app.txt").read_text() == "app\n"
    assert (work / "sources/app-v1/app.txt").read_text() == "app\n"
    assert (work / "sources/hg-app/a.txt").read_text() == "hg\n"
    assert (work / "sources/svn-app/s.txt").read_text() == "s\n"
    assert (work / "_/var/spool/init.d/app/daemon").stat().st_mode & 0o777 == 0o755
    checked = deployd("check", str(repo), "-e", "docs-python", *common[:2], *common[4:])
    assert checked.returncode == 0, checked.stdout + checked.stderr
