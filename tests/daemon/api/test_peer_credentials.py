"""Who asks on the control socket (SO_PEERCRED): reading for the socket's group, changing only
for root or the control group. Run as real non-root users, made for the test and removed."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.daemon_helpers import deployd_command, make_deploy_repo, run_daemon

pytestmark = pytest.mark.skipif(
    os.getuid() != 0 or not (shutil.which("setpriv") and shutil.which("useradd")),
    reason="needs root, setpriv and useradd",
)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class People:
    reader: pwd.struct_passwd
    operator: pwd.struct_passwd
    control: grp.struct_group


@pytest.fixture
def people() -> Iterator[People]:
    """Two throwaway users (a reader, an operator) and a throwaway control group."""
    tag = secrets.token_hex(3)
    group, names = f"dctl{tag}", (f"drd{tag}", f"dop{tag}")
    _run("groupadd", group)
    try:
        for name in names:
            _run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name)
        yield People(pwd.getpwnam(names[0]), pwd.getpwnam(names[1]), grp.getgrnam(group))
    finally:
        for name in names:
            subprocess.run(["userdel", name], capture_output=True, timeout=60)
        subprocess.run(["groupdel", group], capture_output=True, timeout=60)


def _as(user: pwd.struct_passwd, groups: list[int], *args: str) -> subprocess.CompletedProcess[str]:
    """``deployd ARGS`` with the real uid, gid and groups of ``user`` (setpriv)."""
    ids = ["--reuid", str(user.pw_uid), "--regid", str(user.pw_gid)]
    command = ["setpriv", *ids, "--groups", ",".join(map(str, groups)), *deployd_command()]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


def test_reading_and_changing_are_told_apart(tmp_path: Path, people: People) -> None:
    reader, operator, control = people.reader, people.operator, people.control
    readers = grp.getgrgid(1)  # "daemon": the socket's group
    top = Path(tempfile.mkdtemp(dir="/tmp"))  # the users cannot enter pytest's tmp_path
    try:
        top.chmod(0o711)
        sock = top / "run" / "api.sock"
        repo = make_deploy_repo(tmp_path / "repo")
        settings = {"socket_group": readers.gr_name, "control_group": control.gr_name}
        with run_daemon(tmp_path, repo, socket=str(sock), **settings) as daemon:
            daemon.wait_run(outcome="succeeded")
            where = ("--socket", str(sock))
            looked = _as(reader, [readers.gr_gid], "status", "--oneline", *where)
            assert looked.returncode == 0 and "testhost" in looked.stdout, looked.stderr
            history = _as(reader, [readers.gr_gid], "history", *where)
            assert history.returncode == 0, history.stderr

            for args in (("converge",), ("suspend", "--reason", "x"), ("trust", "HEAD")):
                denied = _as(reader, [readers.gr_gid], *args, *where)
                assert denied.returncode == 3, (args, denied.stdout, denied.stderr)
                assert "may read but not change" in denied.stderr
                assert f"members of the group {control.gr_name!r}" in denied.stderr
                assert "Traceback" not in denied.stderr
            assert daemon.status()["state"]["suspended_reason"] is None

            groups = [readers.gr_gid, control.gr_gid]
            done = _as(operator, groups, "suspend", "--reason", "maintenance", *where)
            assert done.returncode == 0, done.stderr
            assert daemon.status()["state"]["suspended_reason"] == "maintenance"
            assert _as(operator, groups, "resume", *where).returncode == 0

            log = daemon.output()
            uid = f"(uid {reader.pw_uid}"
            assert f"{reader.pw_name} {uid}" in log and "asks to converge: denied" in log
            assert f"{operator.pw_name} (uid {operator.pw_uid}" in log
            assert "asks to suspend" in log and "asks to resume" in log
            assert f"uid={reader.pw_uid}" in log  # the journal field DEPLOYD_UID
    finally:
        shutil.rmtree(top, ignore_errors=True)
