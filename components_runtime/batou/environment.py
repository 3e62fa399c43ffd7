"""``batou.environment``: the runtime environment class."""

from components_runtime.environment import Environment

__all__ = ["Environment"]
