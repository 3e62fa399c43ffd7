"""``batou.host``: the runtime host class."""

from components_runtime.model.environment import Host

__all__ = ["Host"]
