"""``batou.host``: the runtime host class."""

from components_runtime.model import Host

__all__ = ["Host"]
