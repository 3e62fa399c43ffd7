"""Where deployd does not deliberately differ, it reads environment.cfg exactly as batou 2.7.1.

Real batou (the cached reference venv of ``parity_helpers``) loads each environment below and
dumps hosts, roots, overrides and resolver entries as JSON; deployd's reader must produce the
same. The differences listed in docs/environment-config.md are kept out of these files.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components_runtime.envconfig.load import load_environment_config
from tests.support.parity_helpers import batou_venv, write_repo

COMPONENTS = """\
from batou.component import Component
class Nginx(Component): pass
class App(Component): pass
class Backup(Component): pass
class Postgres(Component): pass
"""

ENVIRONMENTS = {
    "both host styles": """\
[environment]
connect_method = local
host_domain = example.com
service_user = app

[hosts]
lb = nginx
!spare = nginx, app:x

[host:web1]
components =
    nginx
    app:workers
    !backup
    app:more
data-role = primary
data-Mixed = a = b # c

[host:db]
components = postgres, backup:nightly
platform = ubuntu
service_user = postgres
require_sudo = False
ignore = True
""",
    "reading rules": """\
[environment]
connect_method = local
platform = debian
; a comment
[host:web]
components = nginx,
    app:a,
    app:b
data-url: http://example.com/x # kept
data-multi = one

    two
    # not part of the value
    three
[component:nginx]
Port = 8080
path = %(here)s/x
""",
    "defaults outside hosts and resolver": """\
[DEFAULT]
data-zone = eu
[environment]
connect_method = local
[host:a]
components = nginx
[host:b]
components = app
data-zone = us
[component:nginx]
port = 1
""",
    "resolver": """\
[environment]
connect_method = local
require_v6 = optional
[hosts]
localhost = nginx
[resolver]
db = 10.0.0.1
    2001:db8::1
    10.0.0.2
cache = fd00::1
""",
}

DUMP = """\
import json, sys, batou.utils
from batou.environment import Environment
result = {}
for name in sys.argv[1:]:
    e = Environment(name, basedir=".")
    try:
        e.load()
    except Exception as exc:
        result[name] = {"crash": repr(exc)}
        continue
    hosts = {}
    for host_name, h in e.hosts.items():
        roots = [[r.name, list(r.features), r.ignore] for r in e.root_components if r.host is h]
        hosts[host_name] = [h.fqdn, h.platform, h.service_user, h.require_sudo, h.ignore,
                            h.data, roots]
    result[name] = {"hosts": hosts, "order": list(e.hosts), "overrides": e.overrides,
                    "v4": dict(batou.utils.resolve_override),
                    "v6": dict(batou.utils.resolve_v6_override),
                    "errors": [str(x) for x in e.exceptions]}
print(json.dumps(result))
"""


def ours(repo: Path, name: str) -> dict[str, Any]:
    config = load_environment_config(repo, name)
    hosts = {
        host.name: [
            host.fqdn,
            host.platform,
            host.service_user,
            host.require_sudo,
            host.ignore,
            dict(host.data),
            [[ref.name, list(ref.features), ref.ignore] for ref in host.components],
        ]
        for host in config.hosts.values()
    }
    return {
        "hosts": hosts,
        "order": list(config.hosts),
        "overrides": {name: config.override_strings(name) for name in config.overrides},
        "v4": dict(config.resolver_v4),
        "v6": dict(config.resolver_v6),
        "errors": [str(error) for error in config.errors],
    }


# The documented differences ("deployd differs from batou"): batou really behaves that way.
DIFFERENCES = {
    "domain twice": "[environment]\nconnect_method = local\nhost_domain = example.com\n"
    "[host:web.example.com]\ncomponents = nginx\n",
    "require_sudo string": "[environment]\nconnect_method = local\nrequire_sudo = False\n"
    "[hosts]\nweb = nginx\n",
    "phantom host": "[DEFAULT]\nplatform = debian\n[environment]\nconnect_method = local\n"
    "[hosts]\nweb = nginx\n",
    "mixed list": "[environment]\nconnect_method = local\n[hosts]\nweb = nginx, app\n    backup\n",
    "no components": "[environment]\nconnect_method = local\n[host:web]\nplatform = x\n",
    "trailing comma": "[environment]\nconnect_method = local\n[hosts]\nweb = nginx,\n",
}
ALL_CASES = {**ENVIRONMENTS, **DIFFERENCES}


@pytest.fixture(scope="module")
def batou_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    files: dict[str, str | bytes] = {"components/all/component.py": COMPONENTS}
    names = {case: f"env{i}" for i, case in enumerate(ALL_CASES)}
    for case, text in ALL_CASES.items():
        files[f"environments/{names[case]}/environment.cfg"] = text
    repo = write_repo(tmp_path_factory.mktemp("parity-envconfig"), files)
    done = subprocess.run(
        [str(batou_venv() / "bin" / "python"), "-c", DUMP, *names.values()],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    dumped = json.loads(done.stdout)
    return repo, {case: dumped[names[case]] for case in ALL_CASES}


@pytest.mark.slow
@pytest.mark.parametrize("case", ENVIRONMENTS)
def test_same_reading_as_batou(batou_results: tuple[Path, dict[str, Any]], case: str) -> None:
    repo, expected = batou_results
    name = f"env{list(ALL_CASES).index(case)}"
    assert expected[case]["errors"] == []
    assert ours(repo, name) == expected[case]


@pytest.mark.slow
def test_the_documented_differences_are_real(batou_results: tuple[Path, dict[str, Any]]) -> None:
    repo, batou = batou_results

    def deployd(case: str) -> dict[str, Any]:
        return ours(repo, f"env{list(ALL_CASES).index(case)}")

    assert batou["domain twice"]["hosts"]["web.example.com"][0] == "web.example.com.example.com"
    assert deployd("domain twice")["hosts"]["web.example.com"][0] == "web.example.com"

    assert batou["require_sudo string"]["hosts"]["web"][3] == "False"
    assert deployd("require_sudo string")["hosts"]["web"][3] is False

    assert batou["phantom host"]["order"] == ["web", "platform"]
    assert batou["phantom host"]["errors"] == ["Missing component: debian"]
    assert deployd("phantom host")["order"] == ["web"]

    assert batou["mixed list"]["errors"] == ["Missing component: app\nbackup"]
    assert "mixes commas and line breaks" in deployd("mixed list")["errors"][0]

    assert batou["no components"] == {"crash": "KeyError('components')"}
    assert "has no components key" in deployd("no components")["errors"][0]

    assert batou["trailing comma"]["errors"] == ["Missing component: "]
    assert deployd("trailing comma")["hosts"]["web"][6] == [["nginx", [], False]]
