"""The full `deployd check` report of a broken repository, pinned word for word.

tests/fixtures/broken is a batou repository with one of each configuration mistake. Every
error must be reported in one run, sorted, each with its file, line, section, component and
hint. To accept a deliberate change of the report: DEPLOYD_UPDATE_GOLDEN=1 pytest this file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.paths import FIXTURES, REPO_ROOT

FIXTURE = FIXTURES / "broken"
GOLDEN = FIXTURE / "expected-check.txt"


def run_check(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A fresh state dir each time: the report of a first run (venv note included) must not
    # depend on what an earlier test or an earlier CI run left behind.
    command = ["check", str(FIXTURE), "-e", "broken", "--state-dir", str(state), *args]
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", *command],
        capture_output=True,
        text=True,
        timeout=60,
    )


def normalise(text: str, state: Path) -> str:
    text = text.replace(str(state), "STATE")
    text = re.sub(r"STATE/venvs/[0-9a-f]+", "STATE/venvs/HASH", text)
    return re.sub(r"\(\d+\.\d+s\)", "(TIME)", text)


def test_check_reports_every_error_at_once(tmp_path: Path) -> None:
    done = run_check(tmp_path / "state", "--all-hosts")
    report = normalise(done.stdout, tmp_path / "state")
    if os.environ.get("DEPLOYD_UPDATE_GOLDEN"):
        GOLDEN.write_text(report)
    assert done.stderr == ""
    assert report == GOLDEN.read_text()
    assert done.returncode == 2


def test_check_of_one_host_still_reports_errors_of_the_whole_environment(tmp_path: Path) -> None:
    done = run_check(tmp_path / "state", "--host", "web1")
    assert done.returncode == 2
    report = normalise(done.stdout, tmp_path / "state")
    # Configure covers every host: app1's resource errors show up when checking web1.
    assert "Unsatisfied resource 'cache:url'" in report
    assert "check FAILED: environment broken, web1 (TIME)" in report


def test_every_error_batou_reports_is_reported(tmp_path: Path) -> None:
    """fixtures/broken/error_kinds has one of each error kind batou's examples/errors2 shows.
    batou 2.7.1 reports 10 errors for it (with `connect_method = local` added): IPv6 not
    configured, an expansion error, two conversion errors, a bad file mode, an undefined
    override, unused resources (one error for 3 keys), an unsatisfied resource, a cycle, and
    9 unconfigured components. deployd reports each (unused keys one by one: 12 errors)."""
    state = tmp_path / "state"
    done = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "check", str(FIXTURE / "error_kinds"), "-e", "kinds",
         "--all-hosts", "--state-dir", str(state)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    expected = [
        "IPAddressConfigurationError: Trying to access address family IPv6",
        "Attribute `text` of Banner: cannot expand '{{host.aliases.missing}}'",
        "Attribute `enabled` of Cart: cannot convert 'no' with convert_literal()",
        "Mode-string should be between `---------` and `rwxrwxrwx`.",
        "Attribute `bind` of Listener: cannot convert 'localhost' with Address(): "
        "ValueError: Need port for service address.",
        "Overrides for undefined attributes: colour",
        "Unused resource 'catalog:url'",
        "Unused resource 'catalog:db'",
        "Unused resource 'catalog:item'",
        "Unsatisfied resource 'payment:gateway': required by payment (localhost)",
        "Found dependency cycle: ping (localhost) -> pong (localhost)",
        "    location:  components/loop/component.py:6\n",  # ping's require("pong")
        "ping (localhost) depends on pong (localhost): ping requires 'pong' at "
        "components/loop/component.py:6\n",
        "9 remaining unconfigured component(s): cart (localhost), checkout (localhost), "
        "payment (localhost), banner (localhost), ping (localhost), pong (localhost), "
        "listener (localhost), v4only (localhost), config (localhost)",
    ]
    missing = [text for text in expected if text not in done.stdout]
    assert missing == [], done.stdout
    assert "\n12 errors\n" in done.stdout


def test_the_resource_error_example_in_the_docs_is_this_report() -> None:
    """docs/component-model.md shows fixtures/broken's Needy and its error, line included."""
    page = (REPO_ROOT / "docs" / "component-model.md").read_text()
    needy = (FIXTURE / "components" / "needy" / "component.py").read_text()
    assert f"```python\n{needy}```" in page
    start = GOLDEN.read_text().index("Error: ResourceError: Unsatisfied resource 'cache:url'")
    block = GOLDEN.read_text()[start:].split("\n\n")[0]
    assert "location:  components/needy/component.py:6" in block
    assert block in page


def test_the_cycle_example_in_the_docs_is_this_report() -> None:
    """docs/component-model.md shows fixtures/broken's cycle components and both cycle errors."""
    page = (REPO_ROOT / "docs" / "component-model.md").read_text()
    cycle = (FIXTURE / "components" / "cycle" / "component.py").read_text()
    assert f"```python\n{cycle}```" in page
    golden = GOLDEN.read_text()
    blocks = golden[golden.index("Error: CycleError:") :].split("\n\n")[:2]
    assert "chicken requires 'egg' at components/cycle/component.py:6" in blocks[0]
    assert "selfish requires 'self:me' at components/cycle/component.py:19" in blocks[1]
    assert "\n\n".join(blocks) in page
