"""``batou.environment``: the runtime environment class."""

from components_runtime.model import Environment

__all__ = ["Environment"]
