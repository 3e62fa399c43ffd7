"""batou's encrypted secrets on the host: decrypting them with the host's own key (age through
pyrage, gpg through the gpg binary), who can decrypt which file, and the repository owners'
``deployd secrets`` commands. See docs/secrets.md."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.secrets.decrypt import (
        DecryptFailed,
        Decryption,
        SecretsFailure,
        SecretsOptions,
        decrypt_file,
        decrypt_secrets,
        run_host,
    )
    from daemon.secrets.identities import (
        DEFAULT_IDENTITIES,
        Identities,
        Identity,
        load_identities,
    )
    from daemon.secrets.manage import Environment, ManageError, operator_identities, run_editor
    from daemon.secrets.operations import (
        add_host,
        edit_config,
        edit_file,
        edit_host,
        rekey,
        remove_host,
    )
    from daemon.secrets.recipients import environment_recipients, render

__all__ = [
    "DEFAULT_IDENTITIES",
    "DecryptFailed",
    "Decryption",
    "Environment",
    "ManageError",
    "add_host",
    "decrypt_file",
    "edit_config",
    "edit_file",
    "edit_host",
    "operator_identities",
    "rekey",
    "remove_host",
    "run_editor",
    "Identities",
    "Identity",
    "SecretsFailure",
    "SecretsOptions",
    "decrypt_secrets",
    "environment_recipients",
    "load_identities",
    "render",
    "run_host",
]

__getattr__ = lazy_exports(__name__, __file__)
