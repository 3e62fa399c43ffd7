"""environment.cfg into frozen values: sections, keys, errors with file and line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components_runtime.envconfig.load import (
    EnvironmentConfig,
    list_environments,
    load_environment_config,
    validate_component_names,
)
from components_runtime.errors import (
    DuplicateHostError,
    EnvironmentConfigError,
    InvalidIPAddressError,
    MissingComponent,
    MissingEnvironment,
    SuperfluousComponentSection,
    SuperfluousSection,
)

CFG = "environments/dev/environment.cfg"


def load(tmp_path: Path, text: str, name: str = "dev") -> EnvironmentConfig:
    path = tmp_path / "environments" / name / "environment.cfg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return load_environment_config(tmp_path, name)


def errors(config: EnvironmentConfig) -> list[tuple[str, int | None, str | None]]:
    return [(type(e).__name__, e.line, e.section) for e in config.errors]


# -- finding the file ------------------------------------------------------------------------


def test_missing_environment_lists_the_existing_ones(tmp_path: Path) -> None:
    load(tmp_path, "[hosts]\n", "prod")
    (tmp_path / "environments" / "old.cfg").write_text("[hosts]\n")
    with pytest.raises(MissingEnvironment) as caught:
        load_environment_config(tmp_path, "staging")
    assert "staging" in caught.value.message
    assert caught.value.hint == "Existing environments: old, prod."
    assert list_environments(tmp_path) == ["old", "prod"]
    (tmp_path / "environments" / "odd" / "environment.cfg").mkdir(parents=True)
    assert list_environments(tmp_path) == ["old", "prod"]  # a directory is not an environment


def test_no_environments_at_all(tmp_path: Path) -> None:
    with pytest.raises(MissingEnvironment) as caught:
        load_environment_config(tmp_path, "dev")
    assert "no environment at all" in (caught.value.hint or "")


@pytest.mark.parametrize("name", ["../dev", "", "."])
def test_odd_names_are_missing_environments(tmp_path: Path, name: str) -> None:
    load(tmp_path, "[hosts]\n")
    with pytest.raises(MissingEnvironment):
        load_environment_config(tmp_path, name)


def test_cfg_suffix_is_stripped_and_flat_layout_is_read(tmp_path: Path) -> None:
    load(tmp_path, "[hosts]\na = x\n")
    assert load_environment_config(tmp_path, "dev.cfg").name == "dev"
    (tmp_path / "environments" / "legacy.cfg").write_text("[hosts]\nb = y\n")
    legacy = load_environment_config(tmp_path, "legacy.cfg")
    assert (legacy.name, legacy.layout, list(legacy.hosts)) == ("legacy", "flat", ["b"])
    assert any("old flat layout" in w.message for w in legacy.warnings)
    assert legacy.hosts["b"].origin.file == "environments/legacy.cfg"


# -- [environment] ---------------------------------------------------------------------------

ENVIRONMENT_VALUES = {
    "require_sudo False is False": ("require_sudo = False", "require_sudo", False),
    "require_sudo true": ("require_sudo = true", "require_sudo", True),
    "require_sudo unset": ("", "require_sudo", None),
    "require_v4 default": ("", "require_v4", True),
    "require_v6 default": ("", "require_v6", False),
    "require_v6 optional": ("require_v6 = optional", "require_v6", "optional"),
    "require_v4 False": ("require_v4 = False", "require_v4", False),
    "timeout": ("timeout = 30", "timeout", 30),
    "jobs": ("jobs = 2", "jobs", 2),
    "platform": ("platform = debian", "platform", "debian"),
    "host_domain": ("host_domain = example.com", "host_domain", "example.com"),
    "branch": ("branch = production", "branch", "production"),
    "service_user": ("service_user = app", "service_user", "app"),
    "inline # stays in the value": ("branch = main # prod", "branch", "main # prod"),
}


@pytest.mark.parametrize(
    ("line", "key", "value"), ENVIRONMENT_VALUES.values(), ids=ENVIRONMENT_VALUES.keys()
)
def test_environment_keys(tmp_path: Path, line: str, key: str, value: object) -> None:
    config = load(tmp_path, f"[environment]\n{line}\n")
    assert config.errors == ()
    assert getattr(config.settings, key) == value


BAD_ENVIRONMENT_VALUES = [
    "require_sudo = maybe",
    "require_v4 = sometimes",
    "timeout = soon",
    "jobs = 1.5",
]


@pytest.mark.parametrize("line", BAD_ENVIRONMENT_VALUES)
def test_bad_environment_values_are_errors_with_a_line(tmp_path: Path, line: str) -> None:
    config = load(tmp_path, f"[environment]\nplatform = x\n{line}\n")
    assert errors(config) == [("EnvironmentConfigError", 3, "environment")]


def test_push_only_and_unknown_keys_are_accepted(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[environment]\nconnect_method = ssh\nupdate_method = rsync\ntarget_directory = ~/d\n"
        "repository_url = x\nrepository_root = ..\nplatfrom = debian\n",
    )
    assert config.errors == ()
    levels = [(w.level, w.origin.line) for w in config.warnings]
    assert levels == [
        ("info", 2),
        ("info", 3),
        ("info", 4),
        ("info", 5),
        ("info", 6),
        ("warning", 7),
    ]
    assert config.warnings[-1].hint == "Did you mean 'platform'?"
    assert config.settings.values["connect_method"].text == "ssh"
    assert config.settings.origin_of("platfrom") == config.warnings[-1].origin


# -- hosts -----------------------------------------------------------------------------------


def test_hosts_in_both_styles_in_file_order(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[host:c]\ncomponents = z\n[hosts]\nb = x\n!a = y\n[host:d]\ncomponents = w\n",
    )
    assert list(config.hosts) == ["b", "a", "c", "d"]
    assert config.hosts["a"].ignore and not config.hosts["b"].ignore
    assert config.hosts["c"].origin.line == 1


def test_host_section_keys(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[environment]\nservice_user = app\nrequire_sudo = True\n"
        "[host:web]\ncomponents = nginx\nservice_user = www\nrequire_sudo = False\n"
        "ignore = True\ndata-role = primary\ndata-Mixed-Case = a = b\n"
        "provisioner = default\nprovision-aliases = one two\nprovision-dynamic-hostname = False\n"
        "[host:db]\ncomponents = postgres\n",
    )
    assert config.errors == ()
    web, db = config.hosts["web"], config.hosts["db"]
    assert (web.service_user, web.require_sudo, web.ignore) == ("www", False, True)
    assert dict(web.data) == {"role": "primary", "Mixed-Case": "a = b"}
    assert web.aliases == ("one", "two")
    assert (db.service_user, db.require_sudo, db.ignore, dict(db.data)) == ("app", True, False, {})


def test_unknown_host_key_is_a_warning_with_a_hint(tmp_path: Path) -> None:
    config = load(tmp_path, "[host:web]\ncomponents = a\nplatfrom = debian\n")
    (warning,) = config.warnings
    assert (warning.origin.line, warning.hint) == (3, "Did you mean 'platform'?")


def test_host_section_without_components_is_an_error(tmp_path: Path) -> None:
    config = load(tmp_path, "[host:web]\nplatform = debian\n")
    assert errors(config) == [("EnvironmentConfigError", 1, "host:web")]
    assert "components" in config.errors[0].message


def test_host_in_both_styles_is_a_duplicate(tmp_path: Path) -> None:
    config = load(tmp_path, "[hosts]\nweb = a\n[host:web]\ncomponents = b\n")
    assert errors(config) == [("DuplicateHostError", 3, "host:web")]
    assert isinstance(config.errors[0], DuplicateHostError)
    assert [c.name for c in config.hosts["web"].components] == ["a"]


COMPONENT_LISTS = {
    "plain": ("a, b", [("a", (), False), ("b", (), False)]),
    "features collected": ("a:x\n a:y\n b", [("a", ("x", "y"), False), ("b", (), False)]),
    "one ! ignores all": ("a:x, !a:y, b", [("a", ("x", "y"), True), ("b", (), False)]),
    "! without feature": ("!a", [("a", (), True)]),
    "feature keeps colons": ("a:b:c", [("a", ("b:c",), False)]),
}


@pytest.mark.parametrize(("value", "refs"), COMPONENT_LISTS.values(), ids=COMPONENT_LISTS.keys())
def test_component_lists(tmp_path: Path, value: str, refs: list[tuple[object, ...]]) -> None:
    config = load(tmp_path, f"[host:web]\ncomponents = {value}\n")
    assert config.errors == ()
    found = [(r.name, r.features, r.ignore) for r in config.hosts["web"].components]
    assert found == refs


def test_component_refs_know_their_line(tmp_path: Path) -> None:
    config = load(tmp_path, "[host:web]\ncomponents =\n    nginx\n    app:fast\n")
    assert [r.origin.line for r in config.hosts["web"].components] == [3, 4]


def test_mixed_commas_and_lines_is_an_error(tmp_path: Path) -> None:
    config = load(tmp_path, "[hosts]\nweb = a, b\n    c\n")
    assert errors(config) == [("EnvironmentConfigError", 2, "hosts")]
    assert "mixes commas and line breaks" in config.errors[0].message


PLATFORMS = {
    "host wins": ("platform = env\nhost_domain = d.com", "platform = own", "own"),
    "environment": ("platform = env\nhost_domain = d.com", "", "env"),
    "host_domain": ("host_domain = d.com", "", "d.com"),
    "none": ("", "", None),
    "empty means no platform": ("platform =\nhost_domain = d.com", "", ""),
}


@pytest.mark.parametrize(("env", "host", "platform"), PLATFORMS.values(), ids=PLATFORMS.keys())
def test_platform(tmp_path: Path, env: str, host: str, platform: str | None) -> None:
    config = load(tmp_path, f"[environment]\n{env}\n[host:web]\ncomponents = a\n{host}\n")
    assert config.hosts["web"].platform == platform


FQDNS = {
    "domain appended": ("web", "example.com", "web.example.com"),
    "no domain": ("web", None, "web"),
    "written with the domain": ("web.example.com", "example.com", "web.example.com"),
    "other domain": ("web.other.org", "example.com", "web.other.org.example.com"),
}


@pytest.mark.parametrize(("name", "domain", "fqdn"), FQDNS.values(), ids=FQDNS.keys())
def test_fqdn(tmp_path: Path, name: str, domain: str | None, fqdn: str) -> None:
    env = f"[environment]\nhost_domain = {domain}\n" if domain else ""
    config = load(tmp_path, f"{env}[hosts]\n{name} = a\n")
    assert config.hosts[name].fqdn == fqdn


def test_default_section_makes_no_phantom_hosts(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[DEFAULT]\nplatform = debian\n[environment]\nhost_domain = d.com\n"
        "[hosts]\nweb = a\n[host:db]\ncomponents = b\n[resolver]\nx = 1.2.3.4\n",
    )
    assert config.errors == ()
    assert list(config.hosts) == ["web", "db"]
    assert config.settings.platform == "debian"
    assert config.hosts["db"].own_platform == "debian"
    assert dict(config.resolver_v4) == {"x": "1.2.3.4"}
    assert [w.origin.section for w in config.warnings] == ["DEFAULT"]


# -- [component:X], [resolver], [vfs], others ------------------------------------------------


def test_overrides_are_raw_strings_with_origin(tmp_path: Path) -> None:
    config = load(tmp_path, "[component:nginx]\nport = 8080\nWorkers = 4 # four\n")
    assert config.override_strings("nginx") == {"port": "8080", "Workers": "4 # four"}
    assert config.overrides["nginx"]["Workers"].origin.line == 3
    assert config.override_strings("other") == {}


def test_resolver(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[resolver]\ndb = 10.0.0.1\n    ::1\n    10.0.0.2\nweb = 2001:db8::1\n"
        "bad = localhost\n    300.1.1.1\n    10.0.0.3\n",
    )
    assert dict(config.resolver_v4) == {"db": "10.0.0.2", "bad": "10.0.0.3"}
    assert dict(config.resolver_v6) == {"db": "::1", "web": "2001:db8::1"}
    assert errors(config) == [
        ("InvalidIPAddressError", 6, "resolver"),
        ("InvalidIPAddressError", 7, "resolver"),
    ]
    assert isinstance(config.errors[0], InvalidIPAddressError)


VFS = {
    "developer": ("sandbox = Developer", ("Developer", ()), []),
    "map sorted longest first": (
        "sandbox = Map\n/srv = /tmp/srv\n/srv/app = /tmp/app",
        ("Map", (("/srv/app", "/tmp/app"), ("/srv", "/tmp/srv"))),
        [],
    ),
    "misspelled sandbox": ("sandbox = developer", None, [("EnvironmentConfigError", 2, "vfs")]),
    "missing sandbox": ("/srv = /tmp", None, [("EnvironmentConfigError", 1, "vfs")]),
}


@pytest.mark.parametrize(("body", "expected", "errs"), VFS.values(), ids=VFS.keys())
def test_vfs(
    tmp_path: Path, body: str, expected: tuple[object, ...] | None, errs: list[tuple[str, int, str]]
) -> None:
    config = load(tmp_path, f"[vfs]\n{body}\n")
    assert errors(config) == errs
    if expected is None:
        assert config.vfs is None
    else:
        assert config.vfs is not None
        assert (config.vfs.sandbox, config.vfs.rules) == expected


def test_misspelled_sandbox_suggests_the_right_one(tmp_path: Path) -> None:
    config = load(tmp_path, "[vfs]\nsandbox = Developper\n")
    assert config.errors[0].hint == "Did you mean 'Developer'?"


def test_unknown_section_is_an_error_and_provisioners_are_ignored(tmp_path: Path) -> None:
    config = load(tmp_path, "[provisioner:default]\nmethod = x\n[host]\na = b\n")
    assert errors(config) == [("SuperfluousSection", 3, "host")]
    assert isinstance(config.errors[0], SuperfluousSection)
    assert [(w.level, w.origin.section) for w in config.warnings] == [
        ("info", "provisioner:default")
    ]


# -- all errors, together, located ----------------------------------------------------------

BROKEN = """\
stray = line
[environment]
require_sudo = perhaps
timeout = 3s
[hosts]
web = a, b
    c
[host:web]
components = x
[host:db]
platform = debian
[resolver]
db = nowhere
[vfs]
sandbox = Nope
[bogus]
[environment]
"""


def test_every_error_of_a_file_comes_back_together_with_file_and_line(tmp_path: Path) -> None:
    config = load(tmp_path, BROKEN)
    assert [e.line for e in config.errors] == [1, 3, 4, 6, 8, 10, 13, 15, 16, 17]
    for error in config.errors:
        assert isinstance(error, EnvironmentConfigError)
        assert error.file == CFG
        assert error.line is not None
        assert error.message
    assert all(e.section for e in config.errors if e.line != 1)


# -- component names (checked once the loader knows them) -----------------------------------


def test_validate_component_names(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[hosts]\nweb = nginx, ngnix\n[host:db]\ncomponents =\n    Postgres\n"
        "[component:nginx]\nport = 1\n[component:redis]\nport = 2\n",
    )
    found = validate_component_names(config, {"nginx", "postgres"})
    assert [(type(e), e.line, e.section, e.component, e.host) for e in found] == [
        (MissingComponent, 2, "hosts", "ngnix", "web"),
        (MissingComponent, 5, "host:db", "Postgres", "db"),
        (SuperfluousComponentSection, 8, "component:redis", "redis", None),
    ]
    assert found[0].hint == "Did you mean 'nginx'?"
    assert found[1].hint == "Did you mean 'postgres'?"
    assert all(e.file == CFG for e in found)


# -- frozen ----------------------------------------------------------------------------------


def test_everything_returned_is_frozen(tmp_path: Path) -> None:
    config = load(tmp_path, "[hosts]\nweb = a\n[component:a]\nx = 1\n[resolver]\nh = ::1\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hosts["web"].ignore = True  # type: ignore[misc]
    for mapping in (
        config.hosts,
        config.overrides,
        config.overrides["a"],
        config.resolver_v6,
        config.hosts["web"].data,
        config.settings.values,
    ):
        with pytest.raises(TypeError):
            mapping["new"] = None  # type: ignore[index]
    assert isinstance(config.hosts["web"].components, tuple)


def test_a_file_that_is_not_utf8_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "environments" / "dev" / "environment.cfg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"[hosts]\nweb = a\n# caf\xe9\n[bogus]\n")
    config = load_environment_config(tmp_path, "dev")
    assert errors(config) == [
        ("EnvironmentConfigError", 3, None),
        ("SuperfluousSection", 4, "bogus"),
    ]
    assert "UTF-8" in config.errors[0].message
    assert list(config.hosts) == ["web"]


def test_a_byte_order_mark_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "environments" / "dev" / "environment.cfg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf[hosts]\nweb = a\n")
    config = load_environment_config(tmp_path, "dev")
    assert (config.errors, list(config.hosts)) == ((), ["web"])


def test_deployd_section_is_kept_raw_with_its_lines(tmp_path: Path) -> None:
    env = tmp_path / "environments" / "limits"
    env.mkdir(parents=True)
    (env / "environment.cfg").write_text(
        "[host:a]\ncomponents = x\n\n[deployd]\nrun_timeout = 5m\ncomponent_timeout = 90\n"
    )
    config = load_environment_config(tmp_path, "limits")
    assert config.errors == ()
    assert {k: v.text for k, v in config.deployd.items()} == {
        "run_timeout": "5m",
        "component_timeout": "90",
    }
    assert config.deployd["component_timeout"].origin.line == 6
