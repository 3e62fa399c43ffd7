"""``batou.host``: the runtime host class."""

from components_runtime.environment import Host

__all__ = ["Host"]
