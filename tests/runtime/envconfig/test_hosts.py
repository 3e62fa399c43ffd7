"""Choosing this machine's host from the environment."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from components_runtime.envconfig.load import EnvironmentConfig, load_environment_config
from components_runtime.envconfig.this_host import machine_names, select_host
from components_runtime.errors import HostSelectionError

ENVIRONMENT = """\
[environment]
host_domain = example.com

[hosts]
web = nginx
!spare = nginx

[host:db.example.com]
components = postgres

[host:cache]
components = redis
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentConfig:
    base = tmp_path_factory.mktemp("repo")
    path = base / "environments" / "prod" / "environment.cfg"
    path.parent.mkdir(parents=True)
    path.write_text(ENVIRONMENT)
    loaded = load_environment_config(base, "prod")
    assert loaded.errors == ()
    return loaded


SELECTIONS = {
    "short name": (None, "web", "web.localdomain", "web"),
    "gethostname returns the FQDN": (None, "web.example.com", "web.example.com", "web"),
    "only the FQDN matches": (None, "box", "cache.example.com", "cache"),
    "config written as FQDN": (None, "db", "db.localdomain", "db.example.com"),
    "ignored hosts are selected too": (None, "spare", "spare", "spare"),
    "requested by name": ("cache", "web", "web", "cache"),
    "requested by FQDN": ("web.example.com", "x", "x", "web"),
    "requested short for FQDN entry": ("db", "x", "x", "db.example.com"),
    "case differs": (None, "CACHE", "CACHE.localdomain", "cache"),
    "case differs in the FQDN": (None, "x", "Web.Example.COM", "web"),
}


@pytest.mark.parametrize(
    ("requested", "hostname", "fqdn", "expected"), SELECTIONS.values(), ids=SELECTIONS.keys()
)
def test_select_host(
    config: EnvironmentConfig, requested: str | None, hostname: str, fqdn: str, expected: str
) -> None:
    assert select_host(config, requested, hostname, fqdn).name == expected


def test_unknown_machine_lists_the_hosts_and_suggests_host(config: EnvironmentConfig) -> None:
    with pytest.raises(HostSelectionError) as caught:
        select_host(config, None, "laptop", "laptop.home")
    error = caught.value
    assert "laptop, laptop.home" in error.message and "'prod'" in error.message
    assert error.hint == (
        "Hosts in this environment: web, spare, db.example.com, cache. Pick one with --host NAME."
    )
    assert error.file == "environments/prod/environment.cfg"


def test_unknown_requested_host(config: EnvironmentConfig) -> None:
    with pytest.raises(HostSelectionError) as caught:
        select_host(config, "mail")
    assert caught.value.host == "mail"
    assert "web, spare" in (caught.value.hint or "")


def test_machine_names_default_to_the_os() -> None:
    names = machine_names()
    assert names[0] == socket.gethostname().split(".")[0]
    assert socket.getfqdn() in names
    assert machine_names("a.b.c", "a.b.c") == ("a", "a.b.c")


def test_selected_host_carries_what_components_see(config: EnvironmentConfig) -> None:
    db = select_host(config, "db")
    assert (db.name, db.fqdn, db.platform, db.ignore) == (
        "db.example.com",
        "db.example.com",
        "example.com",
        False,
    )
    assert [ref.name for ref in db.components] == ["postgres"]
    assert db.component("postgres") is db.components[0] and db.component("x") is None


def test_no_hosts_at_all(tmp_path: Path) -> None:
    path = tmp_path / "environments" / "empty" / "environment.cfg"
    path.parent.mkdir(parents=True)
    path.write_text("[environment]\n")
    with pytest.raises(HostSelectionError) as caught:
        select_host(load_environment_config(tmp_path, "empty"), None, "a", "a")
    assert "(none)" in (caught.value.hint or "")
