"""batou's encrypted secrets: which files, their cleartext, how they apply, keeping them hidden.

Pure: nothing here decrypts (the daemon does, with the host's own key, and hands the cleartext
to the worker in memory; see docs/secrets.md).
"""

from components_runtime.secrets.apply import (
    PLACEHOLDER,
    Secrets,
    apply_host_scoped,
    apply_shared,
    guard_for_texts,
    read_secrets,
)
from components_runtime.secrets.cleartext import SecretsConfig, parse_secrets, split_members
from components_runtime.secrets.formats import (
    DiffableValue,
    Stanza,
    ValueSpan,
    age_stanzas,
    diffable_members,
    diffable_values,
    rebuild_diffable,
    replace_values,
    ssh_fingerprint,
    ssh_key_tag,
    value_spans,
)
from components_runtime.secrets.guard import MASK, SecretGuard
from components_runtime.secrets.layout import (
    FILE_SUFFIX,
    Format,
    SecretFile,
    SecretsLayout,
    find_secrets,
)

__all__ = [
    "FILE_SUFFIX",
    "Format",
    "MASK",
    "PLACEHOLDER",
    "DiffableValue",
    "SecretFile",
    "SecretGuard",
    "Secrets",
    "SecretsConfig",
    "SecretsLayout",
    "Stanza",
    "age_stanzas",
    "apply_host_scoped",
    "apply_shared",
    "diffable_members",
    "diffable_values",
    "find_secrets",
    "guard_for_texts",
    "parse_secrets",
    "read_secrets",
    "rebuild_diffable",
    "replace_values",
    "split_members",
    "ssh_fingerprint",
    "ssh_key_tag",
    "value_spans",
    "ValueSpan",
]
