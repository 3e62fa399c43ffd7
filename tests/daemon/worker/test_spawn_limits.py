"""Time limits: one place for defaults, overlays from settings and environment.cfg."""

from __future__ import annotations

from pathlib import Path

import pytest

from components_runtime.envconfig.load import load_environment_config
from daemon.config.limits import Limits, LimitsError, parse_duration
from tests.support.helpers import write_tree


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (30, 30.0),
        (2.5, 2.5),
        ("45", 45.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        (" 1.5 m ", 90.0),
    ],
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["soon", "10d", "", "-5", 0, True, "1h30m"])
def test_bad_durations_name_the_key(raw: object) -> None:
    with pytest.raises(LimitsError) as caught:
        Limits().overlay({"run": raw}, source="deployd.toml")
    assert caught.value.key == "run" and str(caught.value).startswith("deployd.toml: run: ")


def test_overlay_takes_field_names_and_environment_spelling() -> None:
    limits = Limits().overlay({"run": "2h", "component_timeout": "20m", "grace_period": 5})
    assert (limits.run, limits.component, limits.grace) == (7200, 1200, 5)
    assert limits.venv_build == Limits().venv_build  # untouched keys keep their value


def test_unknown_key_is_refused_with_the_known_ones() -> None:
    with pytest.raises(LimitsError, match="unknown time limit .*component_timeout"):
        Limits().overlay({"compnent_timeout": "5m"})


def test_environment_section_overlays_with_file_and_line(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "environments/prod/environment.cfg": (
                "[host:web1]\ncomponents = app\n\n"
                "[deployd]\nrun_timeout = 2h\ncomponent_timeout = soon\n"
            )
        },
    )
    config = load_environment_config(tmp_path, "prod")
    assert config.errors == ()
    with pytest.raises(LimitsError) as caught:
        Limits().overlay_environment(config.deployd)
    assert str(caught.value) == (
        "environments/prod/environment.cfg:6 [deployd]: component_timeout: 'soon' is not a "
        "duration (write seconds, or e.g. 90s, 15m, 2h)"
    )
    good = {k: v for k, v in config.deployd.items() if k == "run_timeout"}
    assert Limits(run=60).overlay_environment(good).run == 7200


def test_the_fetch_limit_is_refused_in_an_environment() -> None:
    with pytest.raises(LimitsError, match="fetch_timeout: the fetch limit cannot be set per env"):
        Limits().overlay_environment({"fetch_timeout": "5m"})


def test_a_component_declared_limit() -> None:
    assert Limits(component=5).component_limit(None) == 5
    assert Limits(component=5).component_limit(300) == 300
