"""Symlink, Purge, SyncDirectory and the File composite's dispatch by ``ensure``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from components_runtime.errors import ComponentUsageError, UpdateNeeded
from components_runtime.lib.file import (
    Directory,
    File,
    Presence,
    Purge,
    Symlink,
    SyncDirectory,
)
from tests.support.lib_root import LibRoot, lib_root


@pytest.fixture
def root(tmp_path: Path) -> Iterator[LibRoot]:
    yield from lib_root(tmp_path)


def kinds(component: File) -> list[str]:
    return [type(sub).__name__ for sub in component.sub_components]


def test_symlink_is_created_with_an_absolute_target(root: LibRoot) -> None:
    link = root.add(Symlink("path", source="link_to"))
    root.deploy()
    assert os.readlink(root.path("path")) == str(root.path("link_to")) == link.source


def test_symlink_is_repointed(root: LibRoot) -> None:
    link = root.add(Symlink("path", source="first"))
    root.deploy()
    link.source = str(root.path("second"))
    with pytest.raises(UpdateNeeded, match="points to"):
        link.verify()
    root.deploy()
    assert os.readlink(root.path("path")) == str(root.path("second"))
    root.deploy()
    assert not link.changed


def test_symlink_replaces_a_file_or_directory(root: LibRoot) -> None:
    root.path("file").write_text("x")
    root.path("dir").mkdir()
    root.add(Symlink("file", source="/etc/hostname"))
    root.add(Symlink("dir", source="/etc"))
    root.deploy()
    assert os.readlink(root.path("file")) == "/etc/hostname"
    assert os.readlink(root.path("dir")) == "/etc"


def test_file_ensure_file_adds_presence(root: LibRoot) -> None:
    file = root.add(File("path", content=""))
    assert kinds(file) == ["Presence"]
    root.deploy()
    assert root.path("path").is_file()


def test_file_ensure_directory_adds_directory(root: LibRoot) -> None:
    file = root.add(File("path", ensure="directory"))
    assert kinds(file) == ["Directory"]
    root.deploy()
    assert root.path("path").is_dir()


def test_file_ensure_symlink_adds_symlink(root: LibRoot) -> None:
    file = root.add(File("path", ensure="symlink", link_to="/etc/hostname"))
    assert kinds(file) == ["Symlink"]
    root.deploy()
    assert os.readlink(root.path("path")) == "/etc/hostname"


def test_file_refuses_other_ensure_values(root: LibRoot) -> None:
    with pytest.raises(ValueError) as error:
        root.add(File("path", ensure="pipe"))
    assert str(error.value) == "Ensure must be one of: file, directory, symlink not pipe"


def test_file_leading_creates_parent_directories(root: LibRoot) -> None:
    root.add(File("a/b/c.txt", content="x", leading=True))
    root.deploy()
    assert root.path("a/b/c.txt").read_text() == "x"


def test_file_paths_are_mapped_into_the_workdir(root: LibRoot) -> None:
    file = root.add(File("path", content="x"))
    assert file.path == str(root.path("path"))
    assert file._unmapped_path == "path"


def test_file_last_updated(root: LibRoot) -> None:
    file = root.add(File("path", content="x"))
    assert file.last_updated() is None
    root.deploy()
    os.utime(root.path("path"), (1, 2))
    assert file.last_updated() == 2


def test_file_content_holds_the_rendered_bytes(root: LibRoot) -> None:
    root.component.name = "world"
    file = root.add(File("path", content="hello {{component.name}}"))
    assert file.content == b"hello world"


def test_breadcrumbs_read_like_batous(root: LibRoot) -> None:
    file = root.add(File("path", content="x"))
    directory = root.add(Directory("sub"))
    assert file._breadcrumbs == "Holder > File('work/probe/path')"
    assert file.sub_components[0]._breadcrumbs == (
        "Holder > File('work/probe/path') > Presence('path')"
    )
    assert directory._breadcrumbs == "Holder > Directory('work/probe/sub')"


def test_purge_removes_matching_files_and_trees(root: LibRoot) -> None:
    (root.path("x-tree") / "inner").mkdir(parents=True)
    (root.path("x-tree") / "inner" / "f").write_text("x")
    root.path("x-file").write_text("x")
    root.path("keep").write_text("x")
    purge = root.add(Purge("x-*"))
    with pytest.raises(UpdateNeeded, match="2 path"):
        purge.verify()
    root.deploy()
    assert sorted(os.listdir(root.workdir)) == ["keep"]
    root.deploy()
    assert not purge.changed


def test_purge_unlinks_a_symlink_to_a_directory(root: LibRoot) -> None:
    root.path("real").mkdir()
    (root.path("real") / "f").write_text("kept")
    os.symlink(root.path("real"), root.path("x-link"))
    root.add(Purge("x-*"))
    root.deploy()
    assert not os.path.lexists(root.path("x-link"))
    assert (root.path("real") / "f").read_text() == "kept"


def test_sync_directory_needs_a_source(root: LibRoot) -> None:
    with pytest.raises(ComponentUsageError, match="requires a source"):
        root.add(SyncDirectory("target"))


def test_sync_directory_copies_a_tree_and_converges(root: LibRoot) -> None:
    root.source("tree/a.txt", "a")
    root.source("tree/sub/b.txt", "b")
    sync = root.add(SyncDirectory("target", source="tree"))
    assert sync.source == str(root.defdir / "tree")
    with pytest.raises(UpdateNeeded, match="missing"):
        sync.verify()
    root.deploy()
    assert root.path("target/a.txt").read_text() == "a"
    assert root.path("target/sub/b.txt").read_text() == "b"
    root.deploy()
    assert not sync.changed
    root.source("tree/sub/b.txt", "changed")
    root.deploy()
    assert sync.changed
    assert root.path("target/sub/b.txt").read_text() == "changed"


def test_directory_with_source_syncs_all_files(root: LibRoot) -> None:
    root.source("tree/a.txt", "a")
    file = root.add(File("target", ensure="directory", source="tree"))
    assert kinds(file.sub_components[0]) == ["SyncDirectory"]
    root.deploy()
    assert root.path("target/a.txt").read_text() == "a"


def test_directory_excludes_are_not_copied(root: LibRoot) -> None:
    root.source("tree/keep.txt", "k")
    root.source("tree/skip.log", "s")
    root.add(Directory("target", source="tree", exclude=("*.log",)))
    root.deploy()
    assert sorted(os.listdir(root.path("target"))) == ["keep.txt"]


def test_directory_passes_rsync_options_on(root: LibRoot) -> None:
    root.source("tree/a.txt", "a")
    directory = root.add(
        Directory("target", source="tree", verify_opts="-rcln", sync_opts="-r --inplace")
    )
    sync = directory.sub_components[0]
    assert (sync.verify_opts, sync.sync_opts) == ("-rcln", "-r --inplace")
    plain = root.add(Directory("other", source="tree"))
    assert plain.sub_components[0].sync_opts == SyncDirectory.sync_opts


def test_directory_last_updated_reflects_synced_changes(root: LibRoot) -> None:
    root.source("tree/a.txt", "a")
    directory = root.add(Directory("target", source="tree"))
    root.deploy()
    os.utime(root.path("target/a.txt"), (0, 10))
    assert directory.last_updated() == 10


def test_presence_inside_file_uses_the_short_name(root: LibRoot) -> None:
    presence = root.add(Presence("alone"))
    assert presence.namevar_for_breadcrumb == "work/probe/alone"


def test_symlink_without_source_is_a_usage_error(root: LibRoot) -> None:
    with pytest.raises(ComponentUsageError, match="requires a source"):
        root.add(Symlink("path"))


def test_every_leaf_can_say_why_it_was_unchanged(root: LibRoot) -> None:
    root.source("tree/a.txt", "a")
    root.add(File("f.txt", content="abc", mode=0o640, owner="nobody", group="nogroup"))
    root.add(File("d", ensure="directory", source="tree"))
    root.add(Symlink("l", source="/etc"))
    root.add(Purge("nothing-*"))
    root.deploy()
    root.deploy()
    leaves = [c for c in root.component.recursive_sub_components if not c.sub_components]
    assert not any(leaf.changed for leaf in leaves)
    reasons = {type(leaf).__name__: leaf.why_unchanged() for leaf in leaves}
    assert reasons == {
        "Presence": f"{root.path('f.txt')} exists",
        "Mode": "mode already 0640",
        "Content": f"content of {root.path('f.txt')} is up to date (3 bytes)",
        "Owner": "owner already uid 65534",
        "Group": "group already gid 65534",
        "SyncDirectory": f"{root.path('d')} is in sync with {root.defdir / 'tree'}",
        "Symlink": f"{root.path('l')} already points to /etc",
        "Purge": f"nothing matches {root.path('nothing-*')}",
    }
    directory = root.component.sub_components[1].sub_components[0]
    assert directory.why_unchanged() == f"directory {root.path('d')} exists"
