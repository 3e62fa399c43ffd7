"""The examples in docs/debugging.md, docs/timeouts.md and docs/third-party-libraries.md run
and mean what the pages say."""

from __future__ import annotations

import configparser
import re
import socket
import textwrap
import tomllib
from pathlib import Path
from typing import Any

from daemon.config.limits import Limits
from daemon.venvs.requirements import read_requirements
from daemon.worker.spawn import run_worker
from tests.support.debug_client import next_event, read_until, start_run
from tests.support.paths import REPO_ROOT
from tests.support.worker_repos import repo, request

DOCS = REPO_ROOT / "docs"


def blocks(page: str, language: str) -> list[str]:
    found = re.findall(rf"```{language}\n(.*?)```", (DOCS / page).read_text(), flags=re.DOTALL)
    return [textwrap.dedent(block) for block in found]


def test_the_debugging_example_stops_where_the_page_says(tmp_path: Path) -> None:
    (source,) = blocks("debugging.md", "python")
    checkout = repo(tmp_path / "repo", {"app": source})
    thread, events, done = start_run(checkout, tmp_path, Limits(grace=1), debug=True, debug_port=0)
    waiting = next_event(events, "debugger-waiting")
    assert (waiting["file"], waiting["line"]) == ("components/app/component.py", 8)
    with socket.create_connection(("127.0.0.1", waiting["port"]), timeout=30) as connection:
        prompt = read_until(connection, b"(Pdb) ").decode()
        assert "component.py(9)configure()" in prompt
        connection.sendall(b"p settings\r\n")
        assert "{'workers': 4}" in read_until(connection, b"(Pdb) ").decode()
        connection.sendall(b"c\r\n")
    thread.join(timeout=30)
    assert done[0].outcome == "succeeded", done[0].errors
    assert (tmp_path / "root/work/app/app.conf").read_text() == "workers = 4\n"


def test_the_limit_examples_parse() -> None:
    toml_block = next(b for b in blocks("timeouts.md", "toml") if "[limits]" in b)
    settings = Limits().overlay(tomllib.loads(toml_block)["limits"])
    assert (settings.run, settings.component) == (7200, 2700)
    ini = configparser.RawConfigParser()
    ini.read_string(next(b for b in blocks("timeouts.md", "ini") if "[deployd]" in b))
    environment = settings.overlay(dict(ini["deployd"]))
    assert (environment.run, environment.component, environment.venv_build) == (7200, 1200, 1800)


def test_the_component_limit_example_reaches_the_runner(tmp_path: Path) -> None:
    (source,) = blocks("timeouts.md", "python")
    checkout = repo(tmp_path / "repo", {"database": source.replace("...", "pass")})
    events: list[dict[str, Any]] = []
    done = run_worker(request(checkout, tmp_path), events.append, limits=Limits(grace=1))
    assert done.outcome == "succeeded", done.errors
    started = next(e for e in events if e["event"] == "component-started")
    assert started["timeout"] == 3 * 3600


def test_the_requirements_example_reads_as_described(tmp_path: Path) -> None:
    (text,) = [b for b in blocks("third-party-libraries.md", "") if "batou_myapp" in b]
    checkout = tmp_path / "repo"
    (checkout / "batou_myapp").mkdir(parents=True)
    (checkout / "batou_myapp/pyproject.toml").write_text("[project]\nname = 'batou_myapp'\n")
    (checkout / "requirements.txt").write_text(text)
    result = read_requirements(checkout)
    assert result.lines == (
        "batou==2.7.1",
        "batou_ext @ https://github.com/flyingcircusio/batou_ext/archive/refs/tags/2.4.10.zip",
        "requests>=2.31",
        f"-e {checkout.resolve() / 'batou_myapp'}",
    )
    assert result.pins_batou and result.notices == ()
