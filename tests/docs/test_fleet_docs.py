"""docs/fleet.md: every [deployd] example is a valid rollout policy (read by the runtime's own
reader, as the daemon reads it), every settings example parses, and the alert rules it shows are
the ones in docs/monitoring/alerts.yml."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from components_runtime.envconfig import load_environment_config
from daemon.config.settings import parse_settings
from daemon.rollout import host_schedule, read_policy
from tests.support.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "fleet.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def test_every_deployd_example_is_a_valid_policy(tmp_path: Path) -> None:
    examples = [b for b in blocks("ini") if b.startswith("[deployd]")]
    assert len(examples) == 3
    for number, example in enumerate(examples):
        repo = tmp_path / str(number)
        cfg = repo / "environments" / "production" / "environment.cfg"
        cfg.parent.mkdir(parents=True)
        cfg.write_text("[host:web01]\ncomponents = app\n\n" + example)
        config = load_environment_config(repo, "production")
        policy, problems = read_policy(dict(config.deployd))
        assert problems == [], example
        assert policy.checks or policy.schedule.declared or policy.waves


def test_the_examples_mean_what_the_text_says(tmp_path: Path) -> None:
    checks, windows, waves = (b for b in blocks("ini") if b.startswith("[deployd]"))
    section = dict(re.findall(r"^(\S+) = (.*)$", checks, re.M))
    policy, _ = read_policy(section)
    app, queue = policy.checks
    assert app.url.endswith("/healthz") and app.retries == 3 and app.timeout == 5.0
    assert queue.command and queue.hosts == ("worker1", "worker2")
    assert [c.name for c in policy.checks_for("web01")] == ["app"]
    section = dict(re.findall(r"^(\S+) = (.*)$", waves, re.M))
    policy, _ = read_policy(section)
    assert [(w.name, w.delay) for w in policy.waves] == [
        ("canary", 0.0),
        ("early", 1800.0),
        ("rest", 7200.0),
    ]


def test_every_settings_example_parses(tmp_path: Path) -> None:
    examples = blocks("toml")
    assert len(examples) == 2
    for example in examples:
        if "repository" not in example:
            example = 'repository = "/srv/repo"\nenvironment = "production"\n' + example
        settings = parse_settings(example, tmp_path / "deployd.toml")
        host_schedule(settings)  # the windows and freezes are valid too


def test_the_alert_rules_shown_are_the_real_ones() -> None:
    shown = yaml.safe_load(blocks("yaml")[0])
    real = {
        rule["alert"]: rule
        for group in yaml.safe_load((REPO_ROOT / "docs/monitoring/alerts.yml").read_text())[
            "groups"
        ]
        for rule in group["rules"]
    }
    for rule in shown:
        assert rule["expr"].split() == real[rule["alert"]]["expr"].split()
        assert rule["labels"] == real[rule["alert"]]["labels"]
