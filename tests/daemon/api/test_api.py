"""The control API over its real unix socket, with httpx as the clients use it."""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from daemon.api.client import Client, ClientError
from daemon.records.model import StatusSnapshot
from tests.support.daemon_helpers import deployd_command, make_deploy_repo, run_daemon


def test_routes_and_errors(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    with run_daemon(tmp_path, repo) as daemon:
        run = daemon.wait_run(outcome="succeeded")
        transport = httpx.HTTPTransport(uds=str(daemon.socket))
        with httpx.Client(transport=transport, base_url="http://deployd") as http:
            status = http.get("/status").json()
            snapshot = StatusSnapshot.from_dict(status)
            assert snapshot.last_run and snapshot.last_run.id == run["id"]
            assert snapshot.state.last_good and snapshot.state.last_good.sha == run["commit"]["sha"]
            assert http.get("/runs", params={"limit": 1}).json()["runs"][0]["id"] == run["id"]
            assert http.get(f"/runs/{run['id']}").json() == run
            assert http.get("/runs/../state").status_code == 404
            assert http.get("/nothing").status_code == 404
            assert http.post("/trust", json={}).status_code == 400
            # Values that would be stored in state.json must have its types: else the next
            # start-up would refuse the state file.
            for path, body in (("/suspend", {"reason": 5}), ("/trust", {"sha": ["x"]})):
                refused = http.post(path, json=body)
                assert refused.status_code == 400 and "must be a string" in refused.text, path
            assert http.post("/suspend", json=["x"]).status_code == 400
            assert http.get("/runs", params={"limit": -1}).status_code == 400
            assert http.get("/status").json()["state"]["suspended_reason"] is None
            assert http.post("/converge").json() == {"queued": True}
            metrics = http.get("/metrics")
            assert metrics.status_code == 200 and "deployd_" in metrics.text
        with Client(daemon.socket) as client:
            assert client.suspend("tests")["message"] == "suspended: tests"
            assert client.status()["state"]["suspended_reason"] == "tests"
            answer = client.converge(wait=True)
            assert answer["run_id"] is None and "suspended" in answer["message"]
            assert client.resume()["message"] == "resumed"
    with Client(daemon.socket) as client, pytest.raises(ClientError, match="is not running"):
        client.status()


def _as_nobody(groups: list[int], *args: str) -> subprocess.CompletedProcess[str]:
    """``deployd ARGS`` as user nobody with only ``groups`` (real credentials, via setpriv)."""
    extra = ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
    command = ["setpriv", "--reuid", "65534", "--regid", "65534", *extra, *deployd_command()]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root")
@pytest.mark.parametrize("runtime_directory", [False, True])
def test_members_of_the_socket_group_reach_the_socket(
    tmp_path: Path, runtime_directory: bool
) -> None:
    """The socket's directory gets the group too, when the daemon made it or systemd did
    (RuntimeDirectory= is root:root 0750): else the group could not reach the socket."""
    group = grp.getgrgid(1)  # "daemon" on Debian: any group but root's will do
    top = Path(tempfile.mkdtemp(dir="/tmp"))  # nobody cannot enter pytest's tmp_path
    try:
        top.chmod(0o711)
        run_dir = top / "run"
        env = {}
        if runtime_directory:
            run_dir.mkdir(mode=0o750)
            env["RUNTIME_DIRECTORY"] = str(run_dir)
        sock = run_dir / "api.sock"
        repo = make_deploy_repo(tmp_path / "repo")
        with run_daemon(tmp_path, repo, socket=str(sock), socket_group=group.gr_name, env=env):
            # the socket appears (renamed into place) only once it has its group: the daemon
            # set no race against this first look
            assert run_dir.stat().st_gid == sock.stat().st_gid == group.gr_gid
            assert [p.name for p in run_dir.iterdir()] == ["api.sock"]  # no temporary left
            member = _as_nobody([group.gr_gid], "status", "--oneline", "--socket", str(sock))
            assert member.returncode in (0, 1) and "testhost" in member.stdout, member.stderr
            other = _as_nobody([], "status", "--socket", str(sock))
            assert other.returncode == 3 and "Traceback" not in other.stderr
            assert f"permission denied on {sock}" in other.stderr, other.stderr
            assert "member of the socket's group" in other.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)
