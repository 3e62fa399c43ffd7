"""Mode (with convert_mode), Owner and Group on a real filesystem (the tests run as root)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from stat import S_IMODE

import pytest

from components_runtime.errors import ConfigurationError, OverrideError, UpdateNeeded
from components_runtime.lib.file import File, Group, Mode, Owner, convert_mode
from tests.support.lib_root import LibRoot, lib_root

NOBODY = 65534  # uid of "nobody" and gid of "nogroup" on Debian


@pytest.fixture
def root(tmp_path: Path) -> Iterator[LibRoot]:
    yield from lib_root(tmp_path)


def mode_of(path: Path) -> int:
    return S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---------", 0o000),
        ("rwxrwxrwx", 0o777),
        ("rw-r--r--", 0o644),
        ("rwxr-x---", 0o750),
        ("r--------", 0o400),
        ("--x--x--x", 0o111),
    ],
)
def test_convert_mode_reads_ls_notation(text: str, expected: int) -> None:
    assert convert_mode(text) == expected


@pytest.mark.parametrize("text", ["rwx", "rwxrwxrwxr", "abcdefghi", "rwxrwxrwt", ""])
def test_convert_mode_refuses_anything_else(text: str) -> None:
    with pytest.raises(SyntaxError, match="between `---------` and `rwxrwxrwx`"):
        convert_mode(text)


def test_mode_of_a_missing_file_needs_an_update(root: LibRoot) -> None:
    mode = root.add(Mode("asdf", mode=0o000))
    with pytest.raises(UpdateNeeded, match="missing"):
        mode.verify()


def test_mode_is_set_on_files_and_converges(root: LibRoot) -> None:
    root.path("path").touch()
    mode = root.add(Mode("path", mode=0o000))
    root.deploy()
    assert mode_of(root.path("path")) == 0o000
    mode.mode = 0o777
    root.deploy()
    assert mode_of(root.path("path")) == 0o777
    assert mode.changed
    root.deploy()
    assert not mode.changed


def test_mode_is_set_on_directories(root: LibRoot) -> None:
    root.path("dir").mkdir()
    mode = root.add(Mode("dir", mode=0o700))
    root.deploy()
    assert mode_of(root.path("dir")) == 0o700
    root.deploy()
    assert not mode.changed


@pytest.mark.parametrize(
    ("given", "expected"),
    [("rwx------", 0o700), ("500", 0o500), ("0644", 0o644), (0o640, 0o640), (420, 0o644)],
)
def test_mode_accepts_ints_octal_strings_and_letters(
    root: LibRoot, given: object, expected: int
) -> None:
    mode = root.add(Mode("path", mode=given))
    assert mode.mode == expected


def test_mode_is_required(root: LibRoot) -> None:
    with pytest.raises(ConfigurationError) as error:
        root.add(Mode("path"))
    assert str(error.value) == "`mode` is required and `None` is not a valid value.`"


def test_a_bad_mode_string_is_a_conversion_error(root: LibRoot) -> None:
    with pytest.raises(OverrideError, match="Mode-string should be between"):
        root.add(Mode("path", mode="rwxrwxrwz"))


def test_mode_leaves_symlinks_alone_without_lchmod(root: LibRoot) -> None:
    assert not hasattr(os, "lchmod")  # Linux: a symlink's own mode cannot be changed
    root.path("target").touch()
    os.chmod(root.path("target"), 0o644)
    mode = root.add(Mode("link", mode=0o000))
    os.symlink(root.path("target"), mode.path)
    root.deploy()
    assert not mode.changed
    assert mode_of(root.path("target")) == 0o644


def test_file_sets_the_mode_before_writing_content(root: LibRoot) -> None:
    file = root.add(File("path", content="x", mode=0o400))
    assert [type(sub).__name__ for sub in file.sub_components] == ["Presence", "Mode", "Content"]


def test_owner_by_name_is_resolved_lazily(root: LibRoot) -> None:
    root.path("path").touch()
    owner = root.add(Owner("path", owner="nobody"))
    assert owner.owner == "nobody"  # a user created later in the run still works
    root.deploy()
    assert owner.owner == NOBODY
    assert root.path("path").stat().st_uid == NOBODY


def test_owner_keeps_the_group_and_converges(root: LibRoot) -> None:
    root.path("path").touch()
    group_before = root.path("path").stat().st_gid
    owner = root.add(Owner("path", owner=NOBODY))
    root.deploy()
    assert root.path("path").stat().st_gid == group_before
    assert owner.changed
    root.deploy()
    assert not owner.changed


def test_owner_of_an_unknown_user_can_be_configured(root: LibRoot) -> None:
    owner = root.add(Owner("path", owner="no-such-user-here"))
    root.path("path").touch()
    with pytest.raises(KeyError):
        owner.verify()


def test_group_by_name_is_resolved_lazily(root: LibRoot) -> None:
    root.path("path").touch()
    group = root.add(Group("path", group="nogroup"))
    assert group.group == "nogroup"
    root.deploy()
    assert group.group == NOBODY
    assert root.path("path").stat().st_gid == NOBODY


def test_group_keeps_the_owner_and_converges(root: LibRoot) -> None:
    root.path("path").touch()
    owner_before = root.path("path").stat().st_uid
    group = root.add(Group("path", group=NOBODY))
    root.deploy()
    assert root.path("path").stat().st_uid == owner_before
    root.deploy()
    assert not group.changed


def test_group_of_an_unknown_group_can_be_configured(root: LibRoot) -> None:
    group = root.add(Group("path", group="no-such-group-here"))
    root.path("path").touch()
    with pytest.raises(KeyError):
        group.verify()


def test_owner_and_group_need_the_file(root: LibRoot) -> None:
    owner = root.add(Owner("missing", owner=0))
    group = root.add(Group("missing", group=0))
    for component in (owner, group):
        with pytest.raises(UpdateNeeded, match="missing"):
            component.verify()


def test_file_adds_owner_and_group_last(root: LibRoot) -> None:
    file = root.add(File("path", content="x", owner="nobody", group="nogroup"))
    kinds = [type(sub).__name__ for sub in file.sub_components]
    assert kinds == ["Presence", "Content", "Owner", "Group"]
    root.deploy()
    info = root.path("path").stat()
    assert (info.st_uid, info.st_gid) == (NOBODY, NOBODY)
