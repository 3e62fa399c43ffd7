"""``batou.lib.file``: re-exports of the file library (``components_runtime.lib.file``)."""

from components_runtime.lib.file import *  # noqa: F403
from components_runtime.lib.file import __all__  # noqa: F401
