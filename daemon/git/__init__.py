"""The repository on the host: the bare mirror, ssh without prompts, git bundles."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.git.bundles import import_bundle, pending_bundles
    from daemon.git.mirror import FetchError, Mirror, decide, local_repository_path, redact
    from daemon.git.ssh import SshOptions

__all__ = [
    "decide",
    "FetchError",
    "import_bundle",
    "local_repository_path",
    "Mirror",
    "pending_bundles",
    "redact",
    "SshOptions",
]

__getattr__ = lazy_exports(__name__, __file__)
