"""Every name of batou's ``batou.lib.file``; ``batou.lib.file`` re-exports this module.

The implementation lives in ``components_runtime.lib.files``, one module per concern.
"""

from components_runtime.lib.files.composite import BinaryFile, File
from components_runtime.lib.files.content import Content, ManagedContentBase
from components_runtime.lib.files.diffs import limited_buffer
from components_runtime.lib.files.directories import Directory, SyncDirectory
from components_runtime.lib.files.links import Symlink
from components_runtime.lib.files.paths import ensure_path_nonexistent
from components_runtime.lib.files.permissions import Group, Mode, Owner, convert_mode
from components_runtime.lib.files.presence import FileComponent, Presence
from components_runtime.lib.files.purge import Purge
from components_runtime.lib.files.structured import JSONContent, YAMLContent
from components_runtime.support import dict_merge

__all__ = [
    "BinaryFile",
    "Content",
    "Directory",
    "File",
    "FileComponent",
    "Group",
    "JSONContent",
    "ManagedContentBase",
    "Mode",
    "Owner",
    "Presence",
    "Purge",
    "Symlink",
    "SyncDirectory",
    "YAMLContent",
    "convert_mode",
    "dict_merge",
    "ensure_path_nonexistent",
    "limited_buffer",
]
