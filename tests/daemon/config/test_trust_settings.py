"""The [trust] table: what it accepts, and errors that name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import SettingsError
from daemon.config.settings import parse_settings
from daemon.config.trust import PathRule, glob_regex

TOP = 'repository = "/srv/repo"\nenvironment = "production"\n'


def settings_with(tmp_path: Path, trust: str) -> str:
    (tmp_path / "signers").write_text("")
    return TOP + trust.replace("SIGNERS", str(tmp_path / "signers"))


def test_a_full_policy(tmp_path: Path) -> None:
    text = settings_with(
        tmp_path,
        '[trust]\nallowed_signers = "SIGNERS"\nverify = "head"\n'
        '[trust.groups]\nops = ["olga@example.com", "0xabcdef0123456789"]\napp = ["anton"]\n'
        '[trust.paths]\n"environments/production/**" = ["ops"]\n'
        '"components/app" = ["ops", "app"]\n',
    )
    policy = parse_settings(text, tmp_path / "x.toml").trust
    assert policy.enabled and policy.verify == "head" and policy.gpg_keyring is None
    assert policy.members("ops") == ("olga@example.com", "ABCDEF0123456789")
    assert [r.groups for r in policy.rules_for("components/app/component.py")] == [("ops", "app")]
    assert policy.rules_for("environments/production/environment.cfg")[0].groups == ("ops",)
    assert policy.rules_for("environments/staging/environment.cfg") == ()


def test_no_table_no_policy(tmp_path: Path) -> None:
    assert not parse_settings(TOP, tmp_path / "x.toml").trust.enabled


@pytest.mark.parametrize(
    ("trust", "message"),
    [
        ('[trust]\nallowed_signers = "signers"\n', r"x.toml:4: trust.allowed_signers: must be an"),
        ('[trust]\ngpg_keyring = "/nonexistent"\n', r"x.toml:4: trust.gpg_keyring: cannot read"),
        ('[trust]\nallowed_signers = "SIGNERS"\nverify = "tip"\n', r"x.toml:5: trust.verify: must"),
        ('[trust]\nverify = "head"\n', r"trust.allowed_signers: a policy needs allowed_signers"),
        (
            '[trust]\nallowed_signers = "SIGNERS"\n[trust.paths]\n"a/**" = ["ops"]\n',
            r"x.toml:6: trust.paths.a/\*\*: unknown group 'ops' \(groups: none defined\)",
        ),
        (
            '[trust]\nallowed_signers = "SIGNERS"\n[trust.groups]\nops = "olga"\n',
            r"x.toml:6: trust.groups.ops: must be a list of signers",
        ),
        (
            '[trust]\nallowed_signers = "SIGNERS"\n[trust.groups]\nops = ["o"]\n'
            '[trust.paths]\n"/etc/**" = ["ops"]\n',
            r"x.toml:8: trust.paths./etc/\*\*: a path inside the repository",
        ),
        ("[trust]\ngroups = 3\n", r"x.toml:4: trust.groups: must be a table"),
        ('[trust]\nsigners = "x"\n', r"trust.signers: unknown key; did you mean 'allowed_signers'"),
    ],
)
def test_bad_values_name_file_line_and_key(tmp_path: Path, trust: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(settings_with(tmp_path, trust), tmp_path / "x.toml")


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("environments/production/**", "environments/production/environment.cfg", True),
        ("environments/production/**", "environments/production/secrets/a.cfg", True),
        ("environments/production/**", "environments/staging/environment.cfg", False),
        ("environments/*/environment.cfg", "environments/x/environment.cfg", True),
        ("environments/*/environment.cfg", "environments/x/y/environment.cfg", False),
        ("**/requirements.txt", "requirements.txt", True),
        ("**/requirements.txt", "components/app/requirements.txt", True),
        ("components/app", "components/app/component.py", True),  # a directory covers its tree
        ("components/app", "components/application/component.py", False),
        ("components/ap?/x", "components/app/x", True),
    ],
)
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    assert PathRule(pattern, ("g",), glob_regex(pattern)).matches(path) is matches
