"""The control API over its real unix socket, with httpx as the clients use it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from daemon_helpers import make_deploy_repo, run_daemon

from daemon.client import Client, ClientError
from daemon.records import StatusSnapshot


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
