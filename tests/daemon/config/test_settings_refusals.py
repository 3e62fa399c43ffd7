"""Settings that parse but cannot be meant are refused at start-up, with the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import SettingsError, load_settings

BASE = 'repository = "https://git.example.com/ops/deploy.git"\nenvironment = "prod"\n'

CASES = [
    ("[limits]\nfetch = 1e308\n", "limits.fetch", "at most 30 days"),
    ('[limits]\nrun = "800h"\n', "limits.run", "at most 30 days"),
    ("converge_interval = 1e12\n", "converge_interval", "more than 30 days"),
    ("poll_interval = 0.001\n", "poll_interval", "1000 times a second"),
    ('inbox = "/"\n', "inbox", "file system root"),
    ('root = "/"\n', "root", "file system root"),
    ('state_dir = "//"\n', "state_dir", "file system root"),
    ('branch = "main:x"\n', "branch", "not a valid branch name"),
    ('branch = "a b"\n', "branch", "not a valid branch name"),
    ('branch = "x.lock"\n', "branch", "not a valid branch name"),
    ('repository = "ftp://git.example.com/x.git"\n', "repository", "cannot fetch ftp://"),
    ('repository = "https://"\n', "repository", "needs a host"),
    ('repository = "htp:/x"\n', "repository", "did you mean http://?"),
    ('repository = "https://git example.com/x"\n', "repository", "holds a space"),
]


@pytest.mark.parametrize(("extra", "key", "fragment"), CASES)
def test_a_value_that_cannot_be_meant_is_refused_with_its_line(
    tmp_path: Path, extra: str, key: str, fragment: str
) -> None:
    lines = [line for line in BASE.splitlines() if not extra.startswith(line.split(" =")[0])]
    text = "\n".join(lines) + "\n" + extra
    config = tmp_path / "deployd.toml"
    config.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(config, environ={})
    line = next(n for n, t in enumerate(text.splitlines(), 1) if key.split(".")[-1] in t)
    assert str(caught.value).startswith(f"{config}:{line}: {key}: "), caught.value
    assert fragment in str(caught.value)


def test_ordinary_values_still_pass(tmp_path: Path) -> None:
    config = tmp_path / "deployd.toml"
    extra = 'branch = "release/2026.12"\npoll_interval = 0.2\n[limits]\nrun = "2h"\n'
    config.write_text(BASE + extra)
    settings = load_settings(config, environ={})
    assert settings.branch == "release/2026.12" and settings.limits.run == 7200.0
    config.write_text(BASE.replace("https://git.example.com/ops/", "git@host:/srv/") + extra)
    assert load_settings(config, environ={}).repository == "git@host:/srv/deploy.git"
