from pathlib import Path

import pytest

from daemon.config.limits import Limits
from daemon.config.settings import SettingsError, load_settings, parse_settings

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
        ("pol_interval = 5\n", r"x.toml:3: pol_interval: unknown key; did you mean 'poll_i"),
        ("[webhok]\nport = 1\n", r"x.toml:3: webhok: unknown key; did you mean 'webhook'\?"),
        (
            "zzz = 1\n",
            r"x.toml:3: zzz: unknown key \(known: branch, .*, "
            r"\[limits\], \[webhook\], \[rollout\], \[trust\]\)",
        ),
        ("poll_interval = -1\n", r"x.toml:3: poll_interval: must be a positive number"),
        ("debug = 'yes'\n", r"x.toml:3: debug: must be true or false, not 'yes'"),
        ("poll_interval = '60s'\n", r"x.toml:3: poll_interval: must be a number, not '60s'"),
        ("branch = 5\n", r"x.toml:3: branch: must be a string, not 5"),
        ("webhook.port = 0\n", r"x.toml:3: webhook.port: must be a positive number"),
        ("[limits]\nrun = 'soon'\n", r"x.toml:4: limits.run: 'soon' is not a duration"),
        ("[limits]\nruns = 3\n", r"x.toml:4: limits.runs: unknown key"),
        ("[webhook]\nenabled = true\n", r"x.toml:4: webhook.secret_file: an enabled webhook"),
        ("[webhook]\nport = 'x'\n", r"x.toml:4: webhook.port: must be a whole number, not 'x'"),
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


def test_venv_and_debugger_options(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    text = MINIMAL + f'wheelhouse = "{wheels}"\nno_index = true\ndebug_allow_remote = true\n'
    settings = parse_settings(text, Path("x.toml"))
    assert settings.wheelhouse == wheels and settings.no_index is True
    assert settings.debug_allow_remote is True
    defaults = parse_settings(MINIMAL, Path("x.toml"))
    assert defaults.wheelhouse is None and defaults.no_index is False
    assert defaults.debug_allow_remote is False


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("wheels", r"x.toml:3: wheelhouse: must be an absolute path, not 'wheels'"),
        ("/nonexistent/wheels", r"x.toml:3: wheelhouse: /nonexistent/wheels is not a directory"),
    ],
)
def test_a_bad_wheelhouse_is_named(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(MINIMAL + f'wheelhouse = "{value}"\n', Path("x.toml"))


def test_the_debugger_address_comes_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "deployd.toml"
    config.write_text(MINIMAL + "debug_port = 5000\n")
    plain = load_settings(config, environ={})
    assert (plain.debug_host, plain.debug_port) == ("127.0.0.1", 5000)
    empty = load_settings(config, environ={"REMOTE_PDB_HOST": "", "REMOTE_PDB_PORT": ""})
    assert (empty.debug_host, empty.debug_port) == ("127.0.0.1", 5000)
    env = {"REMOTE_PDB_HOST": "::1", "REMOTE_PDB_PORT": "0"}
    chosen = load_settings(config, environ=env)
    assert (chosen.debug_host, chosen.debug_port) == ("::1", 0)
    with pytest.raises(SettingsError, match=r"REMOTE_PDB_PORT='x' is not a port number"):
        load_settings(config, environ={"REMOTE_PDB_PORT": "x"})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[webhook]\nport = 99999\n", r"x.toml:4: webhook.port: not a port number: 99999"),
        ("debug_port = 70000\n", r"x.toml:3: debug_port: not a port number"),
        ("splay = inf\n", r"x.toml:3: splay: must be a finite number, not inf"),
        ("poll_interval = nan\n", r"x.toml:3: poll_interval: must be a finite number"),
        ('state_dir = ""\n', r"x.toml:3: state_dir: must be an absolute path, not ''"),
        ('root = "srv"\n', r"x.toml:3: root: must be an absolute path, not 'srv'"),
        ('socket = "d.sock"\n', r"x.toml:3: socket: must be an absolute path"),
        ('inbox = "in"\n', r"x.toml:3: inbox: must be an absolute path"),
    ],
)
def test_ports_numbers_and_paths_are_checked(extra: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(MINIMAL + extra, Path("x.toml"))


def test_ssh_files(tmp_path: Path) -> None:
    key, known = tmp_path / "deploy key", tmp_path / "known_hosts"
    key.write_text("a private key\n")
    key.chmod(0o600)
    known.write_text("")
    text = MINIMAL + f'ssh_key = "{key}"\nssh_known_hosts = "{known}"\n'
    settings = parse_settings(text, Path("x.toml"))
    assert settings.ssh_key == key and settings.ssh_known_hosts == known
    defaults = parse_settings(MINIMAL + 'ssh_key = ""\n', Path("x.toml"))
    assert defaults.ssh_key is None and defaults.ssh_known_hosts is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ssh_key", "id_deploy", r"x.toml:3: ssh_key: must be an absolute path, not 'id_deploy'"),
        (
            "ssh_known_hosts",
            "/nonexistent/known_hosts",
            r"x.toml:3: ssh_known_hosts: cannot read /nonexistent/known_hosts: No such file or "
            r"directory \(create it, or leave ssh_known_hosts empty\)",
        ),
        ("ssh_key", "{tmp}", r"x.toml:3: ssh_key: .* is not a file"),
        ("ssh_key", "{tmp}/open_key", r"readable by others, so ssh would ignore it: chmod 600"),
        (
            "ssh_known_hosts",
            "/etc/${{HOST}}/known",
            r"ssh would read '\$\{' in /etc/\$\{HOST\}/kno",
        ),
    ],
)
def test_a_bad_ssh_file_is_named(tmp_path: Path, key: str, value: str, message: str) -> None:
    (tmp_path / "open_key").write_text("a private key\n")
    (tmp_path / "open_key").chmod(0o644)
    text = MINIMAL + f'{key} = "{value.format(tmp=tmp_path)}"\n'
    with pytest.raises(SettingsError, match=message):
        parse_settings(text, Path("x.toml"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ssh://git@[::1/ops/deploy.git", "Invalid IPv6 URL"),
        ("https://user:s3cret@git.example.com:99999/deploy.git", "Port out of range 0-65535"),
    ],
)
def test_a_repository_url_git_cannot_use_is_named_without_its_secret(
    url: str, message: str
) -> None:
    text = f'repository = "{url}"\nenvironment = "production"\n'
    with pytest.raises(
        SettingsError, match=rf"x.toml:1: repository: not a valid URL: {message}"
    ) as caught:
        parse_settings(text, Path("x.toml"))
    assert "s3cret" not in str(caught.value)


def test_a_password_in_an_ssh_url_is_refused_unechoed() -> None:
    text = 'repository = "ssh://git:s3cret@host/r.git"\nenvironment = "production"\n'
    with pytest.raises(
        SettingsError, match=r"x.toml:1: repository: a password in a ssh://"
    ) as caught:
        parse_settings(text, Path("x.toml"))
    assert "s3cret" not in str(caught.value)
