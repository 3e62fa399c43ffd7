"""Real system services for the parity tests of batou's service modules, private to one test.

* :func:`mariadb` starts Debian's MariaDB server on a data directory, socket and port of its own
  and stops it again; ``MYSQL_HOME`` points the ``mysql`` client (which batou's ``mysql``
  components call without a host) at it.
* :func:`cron_namespace` runs a command in a private mount namespace whose
  ``/var/spool/cron/crontabs`` is a test directory: Debian's ``crontab`` works for real, and the
  machine's own crontabs are never touched.
* :func:`private_apt` builds a ``.deb`` with ``dpkg-deb``, serves it from a local repository and
  points apt and dpkg at a database of their own (``APT_CONFIG``, ``DPKG_ADMINDIR``): the package
  is really installed, but only into that database.
* :func:`supervisor_wheelhouse` holds what batou's ``Supervisor`` installs (zc.buildout and the
  eggs of its buildout), downloaded once; :func:`offline_buildout` makes pip and zc.buildout
  read only that.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.batou_lib_parity import wheelhouse
from tests.support.made_once import filled_once
from tests.support.parity_helpers import cache_dir, downloaded_wheels, run_or_raise

ADMIN_PASSWORD = "admin-secret"


@dataclass(frozen=True)
class MariaDB:
    socket: Path
    port: int
    home: Path  # MYSQL_HOME: its my.cnf names the socket for every mysql client

    def sql(self, statement: str) -> str:
        done = subprocess.run(
            ["mariadb", "--no-defaults", "-S", str(self.socket), "-uroot",
             f"-p{ADMIN_PASSWORD}", "-Bse", statement],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(sock: Path, password: str | None) -> bool:
    auth = [f"-p{password}"] if password else []
    done = subprocess.run(
        ["mariadb", "--no-defaults", "-S", str(sock), "-uroot", *auth, "-e", "select 1"],
        capture_output=True, timeout=30,
    )  # fmt: skip
    return done.returncode == 0


@contextlib.contextmanager
def mariadb(directory: Path) -> Iterator[MariaDB]:
    """A MariaDB server of its own under ``directory`` (root's password: ADMIN_PASSWORD)."""
    from tests.support.helpers import wait_for

    data, sock, port = directory / "data", directory / "mysqld.sock", _free_port()
    # A temporary directory of its own: two bootstraps at once (a second test run) in the
    # shared /tmp failed now and then with "Could not remove temporary table".
    tmp = directory / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    run_or_raise(
        ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
         "--auth-root-authentication-method=normal", "--skip-test-db", f"--tmpdir={tmp}"],
        "cannot make a MariaDB data directory", timeout=120,
    )  # fmt: skip
    log = open(directory / "server.log", "wb")
    server = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
         "--bind-address=127.0.0.1", "--user=root", f"--pid-file={directory / 'mysqld.pid'}",
         f"--tmpdir={tmp}", "--skip-log-bin", "--innodb-buffer-pool-size=16M"],
        stdout=log, stderr=log,
    )  # fmt: skip
    try:
        wait_for(lambda: server.poll() is not None or _answers(sock, None), timeout=60)
        assert server.poll() is None, (directory / "server.log").read_text()
        passwords = "; ".join(
            f"ALTER USER 'root'@'{host}' IDENTIFIED BY '{ADMIN_PASSWORD}'"
            for host in ("127.0.0.1", "localhost")
        )
        subprocess.run(["mariadb", "--no-defaults", "-S", str(sock), "-uroot", "-e", passwords],
                       capture_output=True, check=True, timeout=30)  # fmt: skip
        (directory / "my.cnf").write_text(f"[client]\nsocket = {sock}\nport = {port}\n")
        yield MariaDB(sock, port, directory)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


CRON_SPOOL = "/var/spool/cron/crontabs"


def cron_spool(directory: Path) -> Path:
    """A directory that stands in for the crontab spool (the modes Debian gives it)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.chown(directory, group="crontab")
    directory.chmod(0o1730)
    return directory


def cron_namespace(spool: Path) -> list[str]:
    """The words to put before a command so that it runs with ``spool`` as the crontab spool,
    in a mount namespace of its own (gone with the command)."""
    script = f'mount --bind "{spool}" {CRON_SPOOL} && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]


def installed_crontab(spool: Path, user: str = "root") -> str:
    """The crontab ``crontab FILE`` installed for ``user``, without crontab's own header."""
    path = spool / user
    if not path.exists():
        return ""
    lines = path.read_text().splitlines(keepends=True)
    header = ("# DO NOT EDIT", "# (")
    return "".join(line for line in lines if not line.startswith(header))


TEST_PACKAGE = "deployd-parity-empty"


def private_apt(directory: Path) -> dict[str, str]:
    """A local apt repository with one empty ``.deb`` and a private dpkg database; the
    environment that points apt-get and dpkg at them. Nothing reaches the machine's dpkg."""
    for sub in ("pkg/DEBIAN", "repo", "admin/info", "admin/updates", "admin/triggers",
                "lists/partial", "cache/archives/partial", "parts"):  # fmt: skip
        (directory / sub).mkdir(parents=True, exist_ok=True)
    for name in ("status", "available"):
        (directory / "admin" / name).touch()
    (directory / "pkg/DEBIAN/control").write_text(
        f"Package: {TEST_PACKAGE}\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: deployd tests <tests@example.invalid>\n"
        "Description: an empty package for the DPKG parity test\n"
    )
    deb = directory / "repo" / f"{TEST_PACKAGE}_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(directory / "pkg"), str(deb)],
                   capture_output=True, check=True)  # fmt: skip
    control = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    data = deb.read_bytes()
    (directory / "repo" / "Packages").write_text(
        control.rstrip("\n") + f"\nFilename: ./{deb.name}\nSize: {len(data)}\n"
        f"SHA256: {hashlib.sha256(data).hexdigest()}\n\n"
    )
    (directory / "sources.list").write_text(f"deb [trusted=yes] file:{directory / 'repo'} ./\n")
    (directory / "apt.conf").write_text(
        f'Dir::Etc::SourceList "{directory / "sources.list"}";\n'
        f'Dir::Etc::SourceParts "{directory / "parts"}";\n'
        f'Dir::State::Lists "{directory / "lists"}";\n'
        f'Dir::State::status "{directory / "admin" / "status"}";\n'
        f'Dir::Cache "{directory / "cache"}";\n'
        f'Dir::Log "{directory}";\n'
        f'DPkg::Options {{ "--admindir={directory / "admin"}"; }};\n'
    )
    env = {"APT_CONFIG": str(directory / "apt.conf"), "DPKG_ADMINDIR": str(directory / "admin")}
    subprocess.run(["apt-get", "update", "-q"], env={**os.environ, **env},
                   capture_output=True, check=True, timeout=120)  # fmt: skip
    return env


def package_selections(env: dict[str, str]) -> str:
    done = subprocess.run(["dpkg", "--get-selections"], env={**os.environ, **env},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


SUPERVISOR_WHEELS = (
    # what batou 2.7.1's Supervisor installs: its VirtualEnv's packages, then its buildout's eggs
    "setuptools==68.0.0",
    "wheel==0.40.0",
    "zc.buildout==3.0.1",
    "zc.recipe.egg==2.0.7",
    "supervisor==4.2.5",
    "superlance==1.0",
    "nagiosplugin==1.3.2",
)


def supervisor_wheelhouse() -> Path:
    """The distributions batou's ``Supervisor`` installs, downloaded once (PyPI, via pip)."""
    return downloaded_wheels("supervisor-wheelhouse", SUPERVISOR_WHEELS, "--no-deps")


def offline_buildout(directory: Path) -> dict[str, str]:
    """The environment in which pip and zc.buildout install only from the wheelhouse."""
    house = supervisor_wheelhouse()
    directory.mkdir(parents=True, exist_ok=True)
    # Built eggs are shared across runs and tests (zc.recipe.egg comes as an sdist).
    eggs = cache_dir() / "supervisor-eggs"
    eggs.mkdir(parents=True, exist_ok=True)
    (directory / "default.cfg").write_text(
        f"[buildout]\nfind-links = {house}\nallow-hosts = 127.0.0.1\neggs-directory = {eggs}\n"
    )
    return {
        "BUILDOUT_HOME": str(directory),
        "PIP_NO_INDEX": "1",
        # batou and deployd install batou itself from the batou.lib wheelhouse
        "PIP_FIND_LINKS": f"{wheelhouse()} {house}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


EXTENSION_WHEELS = ("batou_ext==2.5.5", "boto3", "passlib")


def batou_ext_environment() -> dict[str, str]:
    """pip installs only from the wheelhouses: batou's (parity tests) and batou_ext 2.5.5 with
    its dependencies and the extras some of its modules import (boto3, passlib), downloaded
    once (PyPI, through pip)."""
    house = downloaded_wheels("batou-ext-wheelhouse", EXTENSION_WHEELS)
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": f"{wheelhouse()} {house}"}


def batou_ext_site() -> Path:
    """batou_ext 2.5.5 and what it needs besides batou, installed once into a directory that
    batou 2.7.1's reference venv reads through ``PYTHONPATH`` (batou itself stays pristine)."""

    def install(site: Path) -> None:
        run_or_raise(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--target", str(site), "batou_ext==2.5.5", "configupdater", "pyaml", "six",
             "InquirerPy", "--no-deps"],
            "cannot install batou_ext",
            env={**os.environ, **batou_ext_environment()},
        )  # fmt: skip

    return filled_once(cache_dir() / "batou-ext-site", install)


def stop_supervisor(workdir: Path) -> None:
    """Shut down the supervisord a deployment started in ``workdir`` and wait until it is gone."""
    ctl = workdir / "bin" / "supervisorctl"
    pidfile = workdir / "var" / "supervisord.pid"
    if not ctl.exists():
        return
    pid = int(pidfile.read_text()) if pidfile.exists() else None
    subprocess.run([str(ctl), "shutdown"], cwd=workdir, capture_output=True, timeout=60)
    deadline = time.monotonic() + 60
    while pid is not None and _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid is not None and _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return False
    return fields[0] != "Z"


__all__ = [
    "ADMIN_PASSWORD",
    "batou_ext_environment",
    "batou_ext_site",
    "CRON_SPOOL",
    "MariaDB",
    "TEST_PACKAGE",
    "cron_namespace",
    "cron_spool",
    "installed_crontab",
    "mariadb",
    "offline_buildout",
    "package_selections",
    "private_apt",
    "stop_supervisor",
    "supervisor_wheelhouse",
]
