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
from parity_helpers import batou_venv, write_repo

from components_runtime.envconfig import load_environment_config

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
    e.load()
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


@pytest.fixture(scope="module")
def batou_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    files: dict[str, str | bytes] = {"components/all/component.py": COMPONENTS}
    names = {case: f"env{i}" for i, case in enumerate(ENVIRONMENTS)}
    for case, text in ENVIRONMENTS.items():
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
    return repo, {case: dumped[names[case]] for case in ENVIRONMENTS}


@pytest.mark.slow
@pytest.mark.parametrize("case", ENVIRONMENTS)
def test_same_reading_as_batou(batou_results: tuple[Path, dict[str, Any]], case: str) -> None:
    repo, expected = batou_results
    name = f"env{list(ENVIRONMENTS).index(case)}"
    assert expected[case]["errors"] == []
    assert ours(repo, name) == expected[case]
