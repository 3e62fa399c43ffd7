"""The repository on the host: the bare mirror, ssh without prompts, git bundles."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.git.bundles import import_bundle, pending_bundles
    from daemon.git.gnupg import KeyringError, gnupg_home
    from daemon.git.mirror import FetchError, Mirror, decide
    from daemon.git.signatures import (
        CommitSignature,
        SignatureError,
        Verifier,
        changed_paths,
        check_commits,
        judge,
        read_signatures,
    )
    from daemon.git.ssh import SshOptions, is_ssh_url
    from daemon.git.ssh import explain as explain_git_failure
    from daemon.git.urls import git_environment, local_repository_path, redact, split_credentials

__all__ = [
    "changed_paths",
    "check_commits",
    "CommitSignature",
    "gnupg_home",
    "judge",
    "KeyringError",
    "read_signatures",
    "SignatureError",
    "Verifier",
    "decide",
    "explain_git_failure",
    "FetchError",
    "git_environment",
    "import_bundle",
    "is_ssh_url",
    "local_repository_path",
    "Mirror",
    "pending_bundles",
    "redact",
    "split_credentials",
    "SshOptions",
]

__getattr__ = lazy_exports(__name__, __file__)
