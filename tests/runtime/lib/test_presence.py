"""ensure_path_nonexistent, Presence, Directory and FileComponent on a real filesystem."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from components_runtime.errors import UpdateNeeded
from components_runtime.lib.file import Directory, FileComponent, Presence, ensure_path_nonexistent
from tests.support.lib_root import LibRoot, lib_root


@pytest.fixture
def root(tmp_path: Path) -> Iterator[LibRoot]:
    yield from lib_root(tmp_path)


def test_clearing_removes_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    ensure_path_nonexistent(str(target))
    assert not target.exists()


def test_clearing_removes_a_symlink_but_not_its_target(tmp_path: Path) -> None:
    (tmp_path / "target").write_text("keep")
    os.symlink("target", tmp_path / "link")
    ensure_path_nonexistent(str(tmp_path / "link"))
    assert not os.path.lexists(tmp_path / "link")
    assert (tmp_path / "target").read_text() == "keep"


def test_clearing_removes_a_dangling_symlink(tmp_path: Path) -> None:
    os.symlink("nowhere", tmp_path / "link")
    ensure_path_nonexistent(str(tmp_path / "link"))
    assert not os.path.lexists(tmp_path / "link")


def test_clearing_removes_a_directory_tree(tmp_path: Path) -> None:
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "sub" / "f").write_text("x")
    ensure_path_nonexistent(str(tmp_path / "dir"))
    assert not (tmp_path / "dir").exists()
    assert os.listdir(tmp_path) == []  # the scratch directory is gone too


def test_clearing_a_missing_path_is_fine(tmp_path: Path) -> None:
    ensure_path_nonexistent(str(tmp_path / "missing"))
    assert os.listdir(tmp_path) == []


def test_presence_creates_an_empty_file(root: LibRoot) -> None:
    presence = root.add(Presence("path"))
    root.deploy()
    assert Path(presence.path).read_text() == ""
    assert presence.path == str(root.path("path"))


def test_presence_keeps_the_content_of_an_existing_file(root: LibRoot) -> None:
    presence = root.add(Presence("path"))
    root.path("path").write_text("Hello there!")
    root.deploy()
    assert root.path("path").read_text() == "Hello there!"
    assert not presence.changed


def test_presence_creates_leading_directories_when_asked(root: LibRoot) -> None:
    root.add(Presence("directory/file", leading=True))
    root.deploy()
    assert root.path("directory/file").read_text() == ""


def test_presence_does_not_create_leading_directories_by_default(root: LibRoot) -> None:
    root.add(Presence("directory/file"))
    with pytest.raises(FileNotFoundError):
        root.deploy()


def test_presence_replaces_a_symlink(root: LibRoot) -> None:
    presence = root.add(Presence("link"))
    os.symlink("target", presence.path)
    root.deploy()
    assert not os.path.islink(presence.path)
    assert root.path("link").read_text() == ""


def test_presence_replaces_a_directory(root: LibRoot) -> None:
    presence = root.add(Presence("dir"))
    os.mkdir(presence.path)
    root.deploy()
    assert root.path("dir").is_file()


def test_presence_says_why_it_needs_an_update(root: LibRoot) -> None:
    presence = root.add(Presence("dir"))
    with pytest.raises(UpdateNeeded, match="is missing"):
        presence.verify()
    os.mkdir(presence.path)
    with pytest.raises(UpdateNeeded, match="not a regular file"):
        presence.verify()


def test_presence_last_updated_is_the_mtime_or_none(root: LibRoot) -> None:
    presence = root.add(Presence("path"))
    assert presence.last_updated() is None
    root.deploy()
    os.utime(presence.path, (5, 7))
    assert presence.last_updated() == 7
    assert presence.last_updated(key="st_atime") == 5


def test_directory_creates_a_directory(root: LibRoot) -> None:
    directory = root.add(Directory("dir"))
    assert not root.path("dir").exists()
    root.deploy()
    assert os.path.isdir(directory.path)
    root.deploy()
    assert not directory.changed


def test_directory_creates_leading_directories_when_asked(root: LibRoot) -> None:
    root.add(Directory("directory/path", leading=True))
    root.deploy()
    assert root.path("directory/path").is_dir()


def test_directory_does_not_create_leading_directories_by_default(root: LibRoot) -> None:
    root.add(Directory("directory/path"))
    with pytest.raises(FileNotFoundError):
        root.deploy()


def test_directory_replaces_a_file(root: LibRoot) -> None:
    root.path("dir").write_text("in the way")
    root.add(Directory("dir"))
    root.deploy()
    assert root.path("dir").is_dir()


def test_directory_last_updated_follows_the_newest_file(root: LibRoot) -> None:
    directory = root.add(Directory("dir"))
    root.deploy()
    assert directory.last_updated() == 0
    (root.path("dir") / "a").write_text("a")
    os.utime(root.path("dir") / "a", (0, 100))
    (root.path("dir") / "sub").mkdir()
    (root.path("dir") / "sub" / "b").write_text("b")
    os.utime(root.path("dir") / "sub" / "b", (0, 200))
    assert directory.last_updated() == 200


def test_file_component_keeps_the_path_as_given(root: LibRoot) -> None:
    component = root.add(FileComponent("path"))
    assert component.original_path == "path"
    assert component.path == str(root.path("path"))
