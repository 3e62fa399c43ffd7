"""Address and NetLoc give what batou 2.7.1's give (real batou, the cached reference venv)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components_runtime.model.resolver import (
    Address,
    NetLoc,
    install_overrides,
    set_address_defaults,
)
from tests.support.parity_helpers import batou_venv

# Each probe is an expression over Address, NetLoc and (for overrides) `ov`; evaluated in
# batou (with `batou.utils` names) and here. Only localhost, literals and overrides.
PROBES = [
    "str(Address('localhost:8080').listen)",
    "repr(Address('localhost:8080').listen.port)",
    "repr(Address('localhost', 8080).listen.port)",
    "str(Address('localhost:8080', 9090))",
    "str(Address('127.0.0.1', 80).connect)",
    "[str(a) for a in sorted([Address('localhost:1'), Address('127.0.0.5:1'), Address('a:2')])]",
    "[str(n) for n in sorted([NetLoc('b'), NetLoc('a', 2), NetLoc('a')])]",
    "str(NetLoc('::1', 80)), str(NetLoc('::1')), repr(NetLoc('h', '1'))",
    "NetLoc('h', 1) == 'h:1', Address('a:1') == Address('a', 1)",
    "str(Address('db:5', require_v6=True).listen_v6)",
    "str(Address('db:5').listen)",
    "Address('localhost:1').require_v4, Address('localhost:1').require_v6",
    "Address('127.0.0.1:1', require_v6='optional').listen_v6",
]

DUMP = """\
import json, sys
import batou.utils
from batou.utils import Address, NetLoc
batou.utils.resolve_override.update({"db": "10.1.1.1"})
batou.utils.resolve_v6_override.update({"db": "fd00::1"})
print(json.dumps([repr(eval(p)) for p in json.loads(sys.argv[1])]))
"""


@pytest.fixture
def overrides() -> Iterator[None]:
    install_overrides({}, {})
    set_address_defaults(True, False)
    install_overrides({"db": "10.1.1.1"}, {"db": "fd00::1"})
    yield
    install_overrides({}, {})


@pytest.mark.slow
def test_probes_agree_with_batou(overrides: None) -> None:
    done = subprocess.run(
        [str(batou_venv() / "bin" / "python"), "-c", DUMP, json.dumps(PROBES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    names: dict[str, Any] = {"Address": Address, "NetLoc": NetLoc}
    evaluate: Callable[[str], Any] = lambda probe: repr(eval(probe, names))  # noqa: E731, S307
    assert [evaluate(probe) for probe in PROBES] == expected
