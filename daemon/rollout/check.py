"""What ``deployd check`` says about a checkout's rollout policy beyond its errors: the waves'
warnings (``waves.wave_warnings``), read with the runtime's own environment reader."""

from __future__ import annotations

from pathlib import Path

from components_runtime.envconfig import load_environment_config
from components_runtime.errors import DeploydError
from daemon.rollout.policy import PolicyProblem, read_policy
from daemon.rollout.waves import wave_warnings


def wave_warnings_of_checkout(checkout: Path, environment: str) -> list[PolicyProblem]:
    """``deployd check``'s warnings about the waves of a checkout (see ``waves.wave_warnings``);
    none when the environment cannot be read (the check reports that itself)."""
    try:
        config = load_environment_config(checkout, environment)
    except DeploydError:
        return []
    policy, _ = read_policy(dict(config.deployd))
    return wave_warnings(policy.waves, tuple(config.hosts))
