from pathlib import Path

import pytest

from daemon.limits import Limits
from daemon.settings import SettingsError, load_settings, parse_settings

MINIMAL = 'repository = "https://git.example.com/deploy.git"\nenvironment = "production"\n'


def test_minimal_file_gets_every_default() -> None:
    settings = parse_settings(MINIMAL, Path("deployd.toml"))
    assert settings.branch == "main"
    assert settings.state_dir == Path("/var/lib/deployd")
    assert settings.inbox == Path("/var/lib/deployd/inbox")
    assert settings.poll_interval == 60.0
    assert settings.converge_interval == 1800.0
    assert settings.limits == Limits()
    assert settings.webhook.enabled is False
    assert settings.host_name  # this machine's


def test_all_tables_are_read() -> None:
    text = MINIMAL + (
        'state_dir = "/tmp/s"\npoll_interval = 5\nhost = "web1"\n'
        '[limits]\nrun = "2m"\nfetch = 30\n'
        '[webhook]\nenabled = true\nsecret_file = "/etc/deployd/hook"\nport = 9000\n'
    )
    settings = parse_settings(text, Path("x.toml"))
    assert settings.inbox == Path("/tmp/s/inbox")
    assert settings.limits.run == 120.0 and settings.limits.fetch == 30.0
    assert settings.webhook.port == 9000 and settings.host_name == "web1"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("pol_interval = 5\n", r"x.toml:3: pol_interval: unknown key"),
        ("poll_interval = -1\n", r"x.toml:3: poll_interval: must be a positive number"),
        ("debug = 'yes'\n", r"x.toml:3: debug: must be a bool"),
        ("[limits]\nrun = 'soon'\n", r"x.toml:4: limits.run: 'soon' is not a duration"),
        ("[limits]\nruns = 3\n", r"x.toml:4: limits.runs: unknown key"),
        ("[webhook]\nenabled = true\n", r"x.toml: webhook.secret_file: an enabled webhook"),
        ("[webhook]\nport = 'x'\n", r"x.toml:4: webhook.port: must be a int"),
        ("metrics_listen = 'nonsense'\n", r"x.toml:3: metrics_listen: "),
        ("branch = '-x'\n", r"x.toml:3: branch: not a valid branch name"),
    ],
)
def test_bad_values_name_file_line_and_key(extra: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(MINIMAL + extra, Path("x.toml"))


def test_missing_required_key_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="environment: is required"):
        parse_settings('repository = "/srv/repo"\n', Path("x.toml"))
    with pytest.raises(SettingsError, match="not valid TOML"):
        parse_settings("repository = \n", Path("x.toml"))
    with pytest.raises(SettingsError, match="cannot read the settings file"):
        load_settings(tmp_path / "missing.toml")
