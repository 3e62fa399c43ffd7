"""batou's service modules, served from the pinned batou, give batou 2.7.1's results for real.

``cron``, ``logrotate``, ``nagios``, ``debian``, ``service``, ``mysql``, ``package`` and
``supervisor``: batou itself and ``deployd apply`` converge their own copy of one repository
(``tests/support/batou_lib_parity.py``) against real services of their own
(``tests/support/services.py``): Debian's ``crontab`` in a private mount namespace, a MariaDB
server each, apt and dpkg with a private database and a locally built ``.deb``, supervisord from
PyPI started by the deployment and stopped by the test. Both must report the same components in
the same order, leave identical work trees, agree on success, and leave the services in the
same state; the second round must change the same things (usually nothing).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.batou_lib_parity import Outcome, Pair, differences, error_text
from tests.support.services import (
    ADMIN_PASSWORD,
    TEST_PACKAGE,
    MariaDB,
    cron_namespace,
    cron_spool,
    installed_crontab,
    mariadb,
    offline_buildout,
    package_selections,
    private_apt,
    stop_supervisor,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deployd's state directory for the whole module: the pinned venv is built once."""
    return tmp_path_factory.mktemp("deployd-state")


def by_root(outcome: Outcome, prefix: str, work: Path) -> dict[str, list[str]]:
    """The reported components of each root, in order. batou's main process prints its
    "Scheduling component" lines while its deployment prints, so they may land inside another
    line: they are taken out first, and a line is found wherever it starts."""
    text = re.sub(r"\N{MEDIUM WHITE CIRCLE} localhost: Scheduling component \S+ \.\.\.\n?", "",
                  outcome.output)  # fmt: skip
    roots: dict[str, list[str]] = {}
    anywhere = prefix.startswith("\N{ROCKET}")  # deployd's lines are whole lines
    pattern = ("" if anywhere else "(?m)^") + re.escape(prefix) + r"([^\n]*)"
    for line in re.findall(pattern, text):
        roots.setdefault(line.split(" > ")[0], []).append(line.replace(str(work), "WORK"))
    return roots


_SIGNATURE = re.compile(rb"-[0-9a-f]{32}\b")
_RANDOM_LOG = re.compile(r"---supervisor-\w+\.log$")


def stable(tree: dict[str, Any]) -> dict[str, Any]:
    """A work tree without what differs between any two runs, even of one tool: a running
    supervisord's pid and logs (timestamps; child logs with random names) and zc.buildout's
    signatures (hashes of installed files)."""
    kept: dict[str, Any] = {}
    for key, value in tree.items():
        if key.endswith("supervisord.pid"):
            value = "a pid"
        elif "/var/log/" in key and isinstance(value, tuple) and isinstance(value[-1], bytes):
            key, value = _RANDOM_LOG.sub("---supervisor-RANDOM.log", key), "a log"
        elif key.endswith(".installed.cfg"):
            value = (*value[:-1], _SIGNATURE.sub(b"-SIGNATURE", value[-1]))
        kept[key] = value
    return kept


def assert_same(pair: Pair) -> None:
    for number, (batou, deployd) in enumerate(pair.rounds):
        # components are compared below (batou's lines may be broken up)
        problems = differences(
            Outcome(batou.status, batou.output, [], batou.commands, stable(batou.tree)),
            Outcome(deployd.status, "", [], deployd.commands, stable(deployd.tree)),
        )
        assert problems == [], f"round {number}:\n" + "\n".join(problems)
        expected, actual = (
            by_root(batou, "\N{ROCKET} localhost: ", pair.work_trees[0]),
            by_root(deployd, "localhost > ", pair.work_trees[1]),
        )
        differing = {
            root: (expected.get(root), actual.get(root))
            for root in sorted(set(expected) | set(actual))
            if expected.get(root) != actual.get(root)
        }
        assert not differing, f"round {number}: components (batou, deployd): {differing}"


# -- cron, logrotate, nagios, debian, service -------------------------------------------------

APP = """\
import batou.lib.service
from batou.component import Component
from batou.lib.cron import CronJob
from batou.lib.logrotate import RotatedLogfile
from batou.lib.nagios import NRPEService, ServiceCheck
import batou.lib.nagios


class App(Component):
    def configure(self):
        self += CronJob("bin/cleanup", timing="*/5 * * * *", args="--quiet", logger="app")
        self += CronJob("bin/report", timing="0 6 * * 1")
        self += RotatedLogfile("var/log/*.log", args="rotate 3, size 1M",
                               postrotate="kill -HUP $(cat var/app.pid)")
        self += batou.lib.nagios.Service("HTTP, public", command="check_http", args="-H localhost",
                        contact_groups=["ops", "dev"], notes_url="https://wiki/http")
        self += NRPEService("Disk space", command="/usr/lib/nagios/plugins/check_disk",
                            args="-w 10%")
        self += ServiceCheck("Load", nrpe=True, command="check_load")
        # on the debian platform a service is started at boot by a cron job (RebootCronjob)
        self += batou.lib.service.Service("bin/app", pidfile="var/app.pid")
"""

CRON_FILES: dict[str, str | bytes] = {
    "components/app/component.py": APP,
    # the class itself: batou looks platform components up on the exact class
    "components/crontab/component.py": "from batou.lib.cron import CronTab\n",
    # debian's Logrotate: batou's common settings and a nightly cron job (LogrotateCronjob)
    "components/logrotate/component.py": "from batou.lib.debian import Logrotate\n",
    "components/nagios/component.py": "from batou.lib.nagios import NagiosServer, NRPEHost\n",
    "environments/dev/environment.cfg": (
        "[environment]\nconnect_method = local\nplatform = debian\nservice_user = root\n\n"
        # NRPEHost writes /etc/nagios/nrpe/local/root.cfg: the sandbox keeps it in the work tree
        "[vfs]\nsandbox = Developer\n\n"
        "[hosts]\nlocalhost = app, crontab, logrotate, nrpehost, nagiosserver\n\n"
        '[component:crontab]\nmailto = ops@example.com\nenv = {"PATH": "/usr/bin:/bin"}\n'
    ),
    "environments/nojobs/environment.cfg": (
        "[environment]\nconnect_method = local\nplatform = debian\n\n[hosts]\nlocalhost = crontab\n"
    ),
}

# batou sorts the jobs by command and arguments; the boot job comes from the debian platform
# of Service (RebootCronjob), the nightly logrotate run from debian's Logrotate
EXPECTED_CRONTAB = "".join(
    line + "\n"
    for line in [
        "# Generated by batou. Do not edit.",
        "MAILTO=ops@example.com",
        "",
        "PATH=/usr/bin:/bin",
        "",
        "@reboot WORK/app/bin/app  2>&1 | logger -t app",
        "45 2 * * * /usr/sbin/logrotate -s WORK/logrotate/state WORK/logrotate/logrotate.conf ",
        "*/5 * * * * bin/cleanup --quiet 2>&1 | logger -t app",
        "0 6 * * 1 bin/report ",
        "",
    ]
)


def installed(spools: tuple[Path, Path], pair: Pair) -> list[str]:
    """What Debian's crontab holds for root in each tool's spool, base paths replaced."""
    return [
        installed_crontab(spool).replace(str(work), "WORK")
        for spool, work in zip(spools, pair.work_trees, strict=True)
    ]


@pytest.fixture
def short_path() -> Iterator[Path]:
    """A work tree with a short path, whatever pytest's base directory: supervisord's socket
    lives in it (AF_UNIX allows 108 bytes), and Debian's ``crontab FILE`` cuts a file name
    at 100 bytes (``.../work/crontab/cro: No such file or directory``)."""
    path = Path(tempfile.mkdtemp(prefix="sv-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_cron_logrotate_nagios_and_the_debian_platform(short_path: Path, state: Path) -> None:
    spools = (cron_spool(short_path / "spool-batou"), cron_spool(short_path / "spool-deployd"))
    pair = Pair(short_path / "pair", CRON_FILES, state,
                wrappers=(cron_namespace(spools[0]), cron_namespace(spools[1])))  # fmt: skip
    pair.converge()
    first = installed(spools, pair)
    pair.converge()

    def drift(work: Path) -> None:
        (work / "logrotate" / "logrotate.conf").write_text("edited by hand\n")
        for spool in spools:
            (spool / "root").unlink(missing_ok=True)  # crontab -r: InstallCrontab reinstalls

    pair.converge(drift=drift)
    assert_same(pair)
    (batou, deployd), (batou_again, _), (batou_drift, _) = pair.rounds
    assert batou.status == deployd.status == 0
    tree = batou.tree
    assert tree["crontab/crontab"][3].decode() == EXPECTED_CRONTAB
    # Debian's crontab really installed it for both, and again after the drift
    assert first == installed(spools, pair) == [EXPECTED_CRONTAB, EXPECTED_CRONTAB]
    assert (
        b"WORK/app/var/log/*.log  {\nrotate 3\nsize 1M\npostrotate\n"
        in (tree["logrotate/logrotate.conf"][3])
    )
    assert tree["logrotate/logrotate.conf"][3].startswith(b"daily\nrotate 14\n")
    assert b"command[load]=check_load \n" in tree["_/etc/nagios/nrpe/local/root.cfg"][3]
    server = tree["nagiosserver/nagios-server-root.cfg"][3]
    assert b"service_description HTTP_ public" in server and b"contact_groups ops,dev" in server
    # batou 2.7.1's InstallCrontab compares `crontab -l` with its file after dropping comment
    # lines, and the blank lines of its own template keep them apart: it installs every time.
    assert batou_again.components == ["CronTab > DebianInstallCrontab"]
    assert "Logrotate > File('work/logrotate/logrotate.conf') > Content('logrotate.conf')" in (
        batou_drift.components
    )


def test_a_crontab_without_jobs_is_batous_configuration_error(tmp_path: Path, state: Path) -> None:
    pair = Pair(tmp_path / "pair", CRON_FILES, state)
    batou, deployd = pair.converge("nojobs")
    assert batou.status != 0 and deployd.status == 2
    assert "No cron jobs found." in error_text(batou.output)
    assert "No cron jobs found." in error_text(deployd.output)


# -- mysql ------------------------------------------------------------------------------------

PASSWORD_HASH = "*D821809F681A40A6E379B50D0463EFAE20BDD122"  # MariaDB's PASSWORD('pw')

DATABASE = f"""\
from batou.component import Component
from batou.lib.mysql import Command, Database, Grant, User


class Db(Component):
    def configure(self):
        admin = dict(admin_password="{ADMIN_PASSWORD}")
        self += Database("shop", **admin)
        self += User("app", password="{PASSWORD_HASH}", allow_from_hostname="%", **admin)
        self += Grant("shop", user="app", allow_from_hostname="%", **admin)
        self += Command("CREATE TABLE IF NOT EXISTS items (id int)", db="shop",
                        unless="SHOW TABLES LIKE 'items'", **admin)
"""


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MariaDB, MariaDB]]:
    """One MariaDB server for batou, one for deployd, for the module."""
    base = tmp_path_factory.mktemp("mariadb")
    with mariadb(base / "batou") as for_batou, mariadb(base / "deployd") as for_deployd:
        yield for_batou, for_deployd


def test_mysql_database_user_grant_and_command(
    tmp_path: Path, state: Path, servers: tuple[MariaDB, MariaDB]
) -> None:
    dbs = servers
    pair = Pair(tmp_path / "pair", {
        "components/db/component.py": DATABASE,
        "environments/dev/environment.cfg": "[environment]\nconnect_method = local\n\n"
                                            "[hosts]\nlocalhost = db\n",
    }, state, envs=({"MYSQL_HOME": str(dbs[0].home)},
                    {"MYSQL_HOME": str(dbs[1].home)}))  # fmt: skip
    pair.converge()
    pair.converge()
    assert_same(pair)
    (batou, _), (batou_again, _) = pair.rounds
    assert batou.status == 0
    assert [line.split(" > ", 1)[1] for line in batou.components] == [
        "Database('shop') > Command('CREATE DATABASE')",
        "User('app') > Command('CREATE USER')",
        "User('app') > Command('SET PASSWORD')",
        "Grant('GRANT ALL')",
        "Command('CREATE TABLE')",
    ]
    # without `unless`, a Command runs every time; with it, only until it holds
    assert "Db > Command('CREATE TABLE')" not in batou_again.components
    assert "Db > Grant('GRANT ALL')" in batou_again.components
    for server in dbs:
        grants = server.sql("SHOW GRANTS FOR 'app'@'%'")
        assert "GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`" in grants
        assert server.sql("SHOW TABLES FROM shop") == "items\n"


# -- package (DPKG) ---------------------------------------------------------------------------

PACKAGES = f"""\
from batou.component import Component
from batou.lib.package import DPKG


class Packages(Component):
    def configure(self):
        self += DPKG("{TEST_PACKAGE}")
"""


def test_dpkg_installs_a_local_package(tmp_path: Path, state: Path) -> None:
    apts = (private_apt(tmp_path / "apt-batou"), private_apt(tmp_path / "apt-deployd"))
    pair = Pair(tmp_path / "pair", {
        "components/packages/component.py": PACKAGES,
        "environments/dev/environment.cfg": "[environment]\nconnect_method = local\n\n"
                                            "[hosts]\nlocalhost = packages\n",
    }, state, envs=apts)  # fmt: skip
    pair.converge()
    pair.converge()
    assert_same(pair)
    (batou, _), (batou_again, _) = pair.rounds
    assert batou.components == [f"Packages > DPKG('{TEST_PACKAGE}')"]
    assert batou_again.components == []
    for env in apts:
        assert package_selections(env).split() == [TEST_PACKAGE, "install"]


# -- supervisor -------------------------------------------------------------------------------

SUPERVISED = """\
from batou.component import Component
from batou.lib.supervisor import Eventlistener, Program, Supervisor


class App(Component):
    def configure(self):
        self += Program("sleeper", command="/bin/sleep", command_absolute=False, args="600",
                        options={"startsecs": 1}, priority=20)
        # superlance's memmon, from the supervisor's own buildout
        self += Eventlistener("memmon", command="bin/memmon", args="-p sleeper=1GB")
"""


def test_supervisor_programs_and_an_eventlistener(short_path: Path, state: Path) -> None:
    env = offline_buildout(short_path / "buildout-home")
    pair = Pair(short_path / "pair", {
        "components/app/component.py": SUPERVISED,
        "components/logrotate/component.py": "from batou.lib.logrotate import Logrotate\n",
        "environments/dev/environment.cfg": (
            "[environment]\nconnect_method = local\n\n"
            "[hosts]\nlocalhost = supervisor, app, logrotate\n\n"
            "[component:supervisor]\npidfile = var/supervisord.pid\nlogrotate = True\n"
        ),
    }, state, envs=(env, env))  # fmt: skip
    try:
        batou, deployd = pair.converge()
        assert batou.status == deployd.status == 0, batou.output[-3000:] + deployd.output[-3000:]
        status = [supervisor_status(work) for work in pair.work_trees]
        pair.converge()
    finally:
        for work in pair.work_trees:
            stop_supervisor(work / "supervisor")
    assert_same(pair)
    (batou, deployd), (batou_again, _) = pair.rounds
    assert batou.status == deployd.status == 0, deployd.output[-3000:]
    for lines in status:
        assert lines == {"memmon": "RUNNING", "sleeper": "RUNNING"}
    tree = batou.tree
    assert (
        b"[eventlistener:memmon]\ncommand = WORK/supervisor/bin/memmon -p sleeper=1GB\n"
        in (tree["supervisor/etc/supervisor.d/memmon.conf"][3])
    )
    assert b"priority = 20\n" in tree["supervisor/etc/supervisor.d/sleeper.conf"][3]
    assert batou_again.components == []


def supervisor_status(work: Path) -> dict[str, str]:
    import subprocess

    ctl = work / "supervisor" / "bin" / "supervisorctl"
    done = subprocess.run([str(ctl), "status"], capture_output=True, text=True, timeout=60)
    return {line.split()[0]: line.split()[1] for line in done.stdout.splitlines() if line}
