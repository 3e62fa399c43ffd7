"""``batou.environment``: the runtime environment class."""

from components_runtime.model.environment import Environment

__all__ = ["Environment"]
