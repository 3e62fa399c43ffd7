"""The ``batou.lib`` modules deployd loads from the pinned batou give batou 2.7.1's results.

Each test writes one repository pinning ``batou==2.7.1``, has batou itself and ``deployd apply``
converge their own copy of it in rounds (first converge, no-op, after the same drift) and asserts
that both report the same components in the same order, leave identical work trees and agree on
success, and that both ran the same git, hg, svn, tar, unzip, make and dpkg commands in the
same order (each tool runs with logging stand-ins for those programs first on its PATH). The
parts are real and local: an HTTP server on 127.0.0.1, tar and zip archives, bare
git, Mercurial and Subversion repositories, a configure/make project, pip and zc.buildout from a
local wheelhouse (``tests/support/batou_lib_parity.py``). deployd's venv for these repositories
(batou 2.7.1 and its dependencies) is built once for the module.
"""

from __future__ import annotations

import ensurepip
import hashlib
import io
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.support.batou_lib_parity import PYTHON, Pair, differences, error_text, http_server
from tests.support.git_servers import GitDaemon

pytestmark = pytest.mark.slow

LOCAL = "[environment]\nconnect_method = local\n\n"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deployd's state directory for the whole module: the pinned venv is built once."""
    return tmp_path_factory.mktemp("deployd-state")


def tar_gz(path: Path, members: dict[str, tuple[bytes, int]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return path


def digest(path: Path, function: str) -> str:
    return f"{function}:{hashlib.new(function, path.read_bytes()).hexdigest()}"


def assert_same(pair: Pair) -> None:
    for number, (batou, deployd) in enumerate(pair.rounds):
        assert differences(batou, deployd) == [], f"round {number}"


# -- archive and download ---------------------------------------------------------------------

ARCHIVES = """\
from batou.component import Attribute, Component
from batou.lib.archive import Extract, Untar, Unzip
from batou.lib.download import Download


class Fetch(Component):
    url = Attribute(str)
    sums = Attribute("literal")

    def configure(self):
        # over HTTP (requests), with a sha256 checksum; extracted with strip into a target
        self += Download(self.url + "/pkg-1.0.tar.gz", checksum=self.sums["tar"])
        self += Extract(self._.target, strip=1, target="pkg")
        # md5, an explicit target name, Unzip into the directory named after the archive
        self += Download(self.url + "/data.zip", checksum=self.sums["zip"], target="d.zip",
                         requests_kwargs={"timeout": 30})
        self += Unzip("d.zip")
        # Untar without strip (keeps the top directory), and into the workdir itself
        self += Untar("pkg-1.0.tar.gz", target="untarred")
        self += Extract("pkg-1.0.tar.gz", create_target_dir=False)
        # another scheme than http: urllib
        self += Download(self.sums["file_url"], checksum=self.sums["tar"], target="copy.tgz")
"""


def test_download_and_extract_archives(tmp_path: Path, state: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    tarball = tar_gz(served / "pkg-1.0.tar.gz", {
        "pkg-1.0/README": (b"readme\n", 0o644),
        "pkg-1.0/bin/tool": (b"#!/bin/sh\necho tool\n", 0o755),
        "pkg-1.0/._resource": (b"mac resource fork\n", 0o644),
    })  # fmt: skip
    with zipfile.ZipFile(served / "data.zip", "w") as archive:
        archive.writestr("data/a.txt", "a\n")
        archive.writestr("data/b/c.txt", "c\n")
    sums = {
        "tar": digest(tarball, "sha256"),
        "zip": digest(served / "data.zip", "md5"),
        "file_url": f"file://{tarball}",
    }
    with http_server(served) as url:
        pair = Pair(tmp_path / "pair", {
            "components/fetch/component.py": ARCHIVES,
            "environments/dev/environment.cfg": (
                f"{LOCAL}[hosts]\nlocalhost = fetch\n\n[component:fetch]\n"
                f"url = {url}\nsums = {sums!r}\n"
            ),
        }, state)  # fmt: skip
        first, _ = pair.converge()
        pair.converge()

        def drift(work: Path) -> None:
            (work / "fetch/pkg/README").unlink()  # an extracted file is missing
            (work / "fetch/d.zip").write_bytes(b"corrupted download")  # checksum mismatch

        # predicting: the download is not repaired, so Unzip's verify fails on it in both
        predicted = pair.converge(drift=drift, predict=True)
        pair.converge()
    assert_same(pair)
    assert all(outcome.status != 0 for outcome in predicted)
    assert all("BadZipFile" in outcome.output for outcome in predicted)
    tree = first.tree
    assert tree["fetch/pkg/bin/tool"][0] == 0o755 and tree["fetch/pkg/README"][3] == b"readme\n"
    assert tree["fetch/d/data/b/c.txt"][3] == b"c\n"
    assert "fetch/untarred/pkg-1.0/README" in tree and "fetch/pkg-1.0/README" in tree
    assert pair.rounds[1][0].components == []  # the second converge changes nothing
    assert "Fetch > Unzip('d.zip')" in pair.rounds[3][0].components
    # the commands are compared too: the guard that they were seen at all
    assert "WORK/fetch|unzip -o d.zip -d WORK/fetch/d" in first.commands


BROKEN = """\
from batou.component import Attribute, Component
from batou.lib.archive import Extract
from batou.lib.download import Download
from batou.lib.git import Clone


class Mismatch(Component):
    url = Attribute(str)

    def configure(self):
        self += Download(self.url + "/file.txt", checksum="sha256:0000")


class Gone(Component):
    url = Attribute(str)

    def configure(self):
        self += Download(self.url + "/gone.txt", checksum="md5:00")


class Unknown(Component):
    def configure(self):
        self += Extract("archive.rar")


class Twoways(Component):
    def configure(self):
        self += Clone("file:///nowhere", branch="main", revision="abc")
"""

# Another file, through the module: a second class named Clone in a namespace is an error.
BROKEN_HG = """\
from batou.component import Component
from batou.lib import mercurial


class Hgnone(Component):
    def configure(self):
        self += mercurial.Clone("file:///nowhere")
"""


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ("mismatch", "Checksum mismatch! expected: 0000 got: "),
        ("gone", "404 Client Error: File not found for url: "),
        ("unknown", "No handler found for archive "),
        ("twoways", "Clone(file:///nowhere) needs exactly one of revision, branch or tag"),
        ("hgnone", "Clone(file:///nowhere) needs exactly one of revision or branch"),
    ],
)
def test_errors_are_batous(tmp_path: Path, state: Path, component: str, message: str) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "file.txt").write_text("data\n")
    with http_server(served) as url:
        overrides = "".join(f"\n[component:{c}]\nurl = {url}\n" for c in ("mismatch", "gone"))
        pair = Pair(tmp_path / "pair", {
            "components/broken/component.py": BROKEN,
            "components/brokenhg/component.py": BROKEN_HG,
            "environments/dev/environment.cfg": f"{LOCAL}[hosts]\nlocalhost = {component}\n"
            + overrides,
        }, state)  # fmt: skip
        batou, deployd = pair.converge()
    assert batou.status != 0 and deployd.status != 0
    assert message in error_text(batou.output) and message in error_text(deployd.output)
    assert batou.components == deployd.components
    # deployd points at the user's line that added the failing component
    line = {"mismatch": 11, "gone": 18, "unknown": 23, "twoways": 28, "hgnone": 7}[component]
    file = "brokenhg" if component == "hgnone" else "broken"
    assert f"location:  components/{file}/component.py:{line}" in deployd.output


# -- version control ----------------------------------------------------------------------------

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_AUTHOR_DATE": "1700000000 +0000", "GIT_COMMITTER_DATE": "1700000000 +0000",
}  # fmt: skip


def sh(command: str, cwd: Path) -> str:
    done = subprocess.run(
        command, shell=True, cwd=cwd, env={**os.environ, **GIT_ENV},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def upstream_git(base: Path) -> tuple[str, str, str]:
    """A bare repository with two commits on main and a tag on the first; its URL and shas."""
    work = base / "upstream"
    work.mkdir(parents=True)
    sh("git init -q -b main . && echo one > a.txt && git add a.txt && git commit -qm one "
       "&& git tag v1 && echo two > a.txt && echo b > b.txt && git add -A "
       "&& git commit -qm two", work)  # fmt: skip
    first, second = sh("git rev-list --reverse HEAD", work).split()
    sh(f"git clone -q --bare . {base / 'repo.git'}", work)
    return f"file://{base / 'repo.git'}", first, second


GIT = """\
from batou.component import Attribute, Component
from batou.lib.git import Clone


class Checkouts(Component):
    url = Attribute(str)
    first = Attribute(str)
    daemon = Attribute(str)

    def configure(self):
        self += Clone(self.url, branch="main", target="by-branch")
        self += Clone(self.daemon, branch="main", target="over-git-daemon")
        self += Clone(self.url, revision=self.first, target="by-revision")
        self += Clone(self.url, tag="v1", target="by-tag")
        self += Clone(self.url, branch="main", target="clobbered", clobber=True)
        self += Clone(self.url, branch="main", target="frozen", vcs_update=False)


class Careful(Component):
    url = Attribute(str)

    def configure(self):
        self += Clone(self.url, branch="main", target="careful")
"""


def test_git_clone_follows_branch_revision_and_tag_and_handles_local_changes(
    tmp_path: Path, state: Path, request: pytest.FixtureRequest
) -> None:
    url, first, _ = upstream_git(tmp_path / "git")
    daemon = GitDaemon(tmp_path / "git").start()
    request.addfinalizer(daemon.stop)
    overrides = f"\n[component:checkouts]\nurl = {url}\nfirst = {first}\n"
    overrides += f"daemon = {daemon.url('repo.git')}\n"
    overrides += f"\n[component:careful]\nurl = {url}\n"
    pair = Pair(tmp_path / "pair", {
        "components/checkouts/component.py": GIT,
        "environments/dev/environment.cfg": f"{LOCAL}[hosts]\nlocalhost = checkouts\n" + overrides,
        "environments/careful/environment.cfg": f"{LOCAL}[hosts]\nlocalhost = careful\n"
        + overrides,
    }, state)  # fmt: skip
    pair.converge()
    pair.converge()
    upstream = tmp_path / "git/upstream"
    sh(f"echo three > a.txt && git commit -qam three && git push -q {url} main", upstream)
    predicted, _ = pair.converge(predict=True)  # the clones that follow main would update

    def drift(work: Path) -> None:
        (work / "checkouts/clobbered/a.txt").write_text("local change\n")
        (work / "checkouts/clobbered/untracked.txt").write_text("untracked\n")
        (work / "checkouts/frozen/a.txt").write_text("kept: vcs_update=False\n")

    pair.converge(drift=drift)
    assert_same(pair)
    head = sh("git rev-parse HEAD", upstream)
    tree = pair.rounds[3][0].tree
    # by-branch, over-git-daemon, clobbered and (new commits on the remote) by-tag
    assert len(predicted.components) == 4 and tree != pair.rounds[2][0].tree
    assert tree["checkouts/by-branch/.git"].startswith(head)  # followed the branch
    assert tree["checkouts/over-git-daemon/.git"].startswith(head)
    assert tree["checkouts/by-revision/.git"].startswith(first)
    assert tree["checkouts/clobbered/.git"] == head + "\n"  # local changes gone
    assert tree["checkouts/frozen/a.txt"][3] == b"kept: vcs_update=False\n"
    assert "WORK/checkouts/by-branch|git reset --hard origin/main" in pair.rounds[3][0].commands

    # a dirty clone without clobber=True: batou's refusal, from both
    pair.converge("careful")
    dirty = lambda work: (work / "careful/careful/a.txt").write_text("mine\n")  # noqa: E731
    batou, deployd = pair.converge("careful", drift=dirty)
    assert batou.status != 0 and deployd.status != 0
    refusal = "Refusing to clobber dirty work directory."
    assert refusal in batou.output and refusal in deployd.output
    assert "is dirty - refusing to clobber" in deployd.output


MERCURIAL_AND_SVN = """\
from batou.component import Attribute, Component
from batou.lib.mercurial import Clone
from batou.lib.svn import Checkout


class Checkouts(Component):
    hg = Attribute(str)
    first = Attribute(str)
    svn = Attribute(str)

    def configure(self):
        self += Clone(self.hg, branch="stable", target="hg-branch")
        self += Clone(self.hg, revision=self.first, target="hg-revision")
        self += Checkout(self.svn, revision="1", target="svn-1")
"""


def test_mercurial_and_subversion_checkouts(tmp_path: Path, state: Path) -> None:
    hg, svn = tmp_path / "hg", tmp_path / "svn"
    hg.mkdir()
    sh("hg init . && echo one > a.txt && hg add -q a.txt "
       "&& hg commit -q -u t -d '1700000000 0' -m one && hg branch -q stable "
       "&& echo two > a.txt && hg commit -q -u t -d '1700000000 0' -m two "
       "&& hg update -q default", hg)  # fmt: skip
    first = sh("hg log -r 0 --template '{node}'", hg)
    sh(f"svnadmin create {svn}-repo && svn -q co file://{svn}-repo {svn} && cd {svn} "
       "&& echo s > s.txt && svn -q add s.txt && svn -q commit -m one && echo t >> s.txt "
       "&& svn -q commit -m two", tmp_path)  # fmt: skip
    pair = Pair(tmp_path / "pair", {
        "components/checkouts/component.py": MERCURIAL_AND_SVN,
        "environments/dev/environment.cfg": (
            f"{LOCAL}[hosts]\nlocalhost = checkouts\n\n[component:checkouts]\n"
            f"hg = file://{hg}\nfirst = {first}\nsvn = file://{svn}-repo\n"
        ),
    }, state)  # fmt: skip
    pair.converge()
    # No separate no-op round (hg is slow to start): in the next round hg-revision and svn-1
    # have nothing to do, which is that check.
    sh("hg update -q stable && echo three > a.txt && hg commit -q -u t -d '1700000000 0' -m 3",
       hg)  # fmt: skip

    def drift(work: Path) -> None:
        (work / "checkouts/hg-branch/a.txt").write_text("local change\n")
        (work / "checkouts/hg-branch/untracked.txt").write_text("untracked\n")
        (work / "checkouts/svn-1/s.txt").write_text("local svn change\n")

    pair.converge(drift=drift)
    assert_same(pair)
    tree = pair.rounds[1][0].tree
    assert tree["checkouts/hg-branch/a.txt"][3] == b"three\n"  # pulled, local change lost
    assert "checkouts/hg-branch/untracked.txt" not in tree
    assert tree["checkouts/hg-revision/a.txt"][3] == b"one\n"
    assert tree["checkouts/svn-1/.svn"].startswith("1\n")
    assert pair.rounds[1][0].components == ["Checkouts > Clone('file://HG')".replace("HG", str(hg))]


# -- configure / make -----------------------------------------------------------------------------

CONFIGURE = b"""#!/bin/sh
prefix=/usr/local
for argument in "$@"; do
    case "$argument" in --prefix=*) prefix="${argument#--prefix=}";; esac
done
cat > Makefile <<MAKE
install:
\tmkdir -p $prefix/bin
\techo 'echo hello $*' > $prefix/bin/hello
\tchmod 755 $prefix/bin/hello
MAKE
echo "configured with $*" > config.status
"""

CMMI = """\
from batou.component import Attribute, Component
from batou.lib.cmmi import Build


class Hello(Component):
    url = Attribute(str)
    checksum = Attribute(str)

    def configure(self):
        self += Build(self.url, checksum=self.checksum, configure_args="--with-greeting",
                      prefix=self.workdir + "/installed")
"""


def test_build_downloads_configures_and_makes(tmp_path: Path, state: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    tarball = tar_gz(served / "hello-1.0.tar.gz", {
        "hello-1.0/configure": (CONFIGURE, 0o755),
        "hello-1.0/README": (b"hello\n", 0o644),
    })  # fmt: skip
    with http_server(served) as url:
        pair = Pair(tmp_path / "pair", {
            "components/hello/component.py": CMMI,
            "environments/dev/environment.cfg": (
                f"{LOCAL}[hosts]\nlocalhost = hello\n\n[component:hello]\n"
                f"url = {url}/hello-1.0.tar.gz\nchecksum = {digest(tarball, 'sha256')}\n"
            ),
        }, state)  # fmt: skip
        pair.converge()
        pair.converge()
        # a newer configure script: configure and make run again
        pair.converge(drift=lambda work: os.utime(work / "hello/hello-1.0/configure"))
    assert_same(pair)
    tree = pair.rounds[0][0].tree
    installed = b"echo hello --prefix=WORK/hello/installed --with-greeting\n"
    assert tree["hello/installed/bin/hello"] == (0o755, 0, 0, installed)
    assert pair.rounds[1][0].components == []
    assert [c.split(" > ")[-1].split("(")[0] for c in pair.rounds[2][0].components] == [
        "Configure",
        "Make",
    ]


# -- Python environments ------------------------------------------------------------------------

BUILDOUT = f"""\
from batou.component import Component
from batou.lib.buildout import Buildout


class App(Component):
    def configure(self):
        # VirtualEnv and Package under the hood: a venv, then setuptools, wheel, pip and
        # zc.buildout installed by pip from the wheelhouse, then bin/buildout
        self += Buildout(python="{PYTHON}", setuptools="80.9.0", wheel="0.48.0", pip="26.3",
                         version="6.0.1")
"""


def test_buildout_in_a_virtualenv_with_pinned_packages(tmp_path: Path, state: Path) -> None:
    pair = Pair(tmp_path / "pair", {
        "components/app/component.py": BUILDOUT,
        "components/app/buildout.cfg": "[buildout]\nparts =\noffline = true\n# {{host.name}}\n",
        "environments/dev/environment.cfg": f"{LOCAL}[hosts]\nlocalhost = app\n",
    }, state)  # fmt: skip
    pair.converge()
    pair.converge()
    assert_same(pair)
    tree = pair.rounds[0][0].tree
    assert tree["app/buildout.cfg"][3] == b"[buildout]\nparts =\noffline = true\n# localhost\n"
    assert tree[f"app/lib/python{PYTHON}/site-packages/zc_buildout-6.0.1.dist-info"]
    assert "app/bin/buildout" in tree and "app/.batou.buildout.success" in tree
    # No parts, so buildout writes no .installed.cfg: batou runs bin/buildout every time.
    assert pair.rounds[1][0].components == ["App > Buildout"]


# The venv's own pip (no upgrade download): AppEnv's pip_version.
APPENV = f"""\
from batou.component import Component
from batou.lib.appenv import AppEnv
from batou.lib.package import DPKG
from batou.lib.service import Service
import batou.lib.goceptnet  # the gocept.net platform component of Service


# One root: batou deploys independent roots in parallel threads, whose lines can interleave.
class App(Component):
    def configure(self):
        self += AppEnv("{PYTHON}", pip_version="{ensurepip.version()}")
        self += DPKG("git")  # installed already: verified, never installed
        self += Service("bin/daemon", pidfile="daemon.pid")
"""


def test_appenv_dpkg_and_the_goceptnet_service_platform(tmp_path: Path, state: Path) -> None:
    pair = Pair(tmp_path / "pair", {
        "components/app/component.py": APPENV,
        "components/app/requirements.lock": "packaging==26.4\n",
        "environments/dev/environment.cfg": (
            f"{LOCAL[:-1]}platform = gocept.net\nservice_user = svc\n\n"
            "[vfs]\nsandbox = Developer\n\n[hosts]\nlocalhost = app\n"
        ),
    }, state)  # fmt: skip
    pair.converge()
    pair.converge()

    def drift(work: Path) -> None:
        (work / "app/.appenv/stale").mkdir()  # CleanupUnused removes it

    pair.converge(drift=drift)
    assert_same(pair)
    tree = pair.rounds[0][0].tree
    (env,) = [k for k in tree if k.startswith("app/.appenv/") and k.endswith("/appenv.ready")]
    assert tree["app/.appenv/current"] == ("link", "WORK/app/" + env.rsplit("/", 1)[0][4:])
    assert tree["app/bin"] == ("link", "WORK/app/.appenv/current/bin")
    init = tree["_/var/spool/init.d/svc/daemon"]
    assert init[0] == 0o755 and b'DAEMON="WORK/app/bin/daemon"' in init[3]
    assert pair.rounds[1][0].components == []
    assert "app/.appenv/stale" not in pair.rounds[2][0].tree
