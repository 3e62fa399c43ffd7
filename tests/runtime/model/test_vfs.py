"""[vfs] sandboxes: Developer under the deployment root, Map prefix rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from components_runtime.envconfig.types import Origin, VfsConfig
from components_runtime.model.vfs import DeveloperMapper, build_mapper

ORIGIN = Origin("environments/dev/environment.cfg", 1, "vfs")


def developer() -> VfsConfig:
    return VfsConfig("Developer", (), ORIGIN)


def test_no_vfs_section_no_mapper(tmp_path: Path) -> None:
    assert build_mapper(None, tmp_path) is None


DEVELOPER_PATHS = {
    "absolute path moves under work/_": ("/etc/nginx/nginx.conf", "work/_/etc/nginx/nginx.conf"),
    "relative path unchanged": ("conf/app.ini", None),
    "root of the work dir unchanged": ("{root}/work", None),
    "inside the work dir unchanged": ("{root}/work/nginx/x.conf", None),
    "a sibling of work is mapped": ("{root}/workshop/x", "work/_{root}/workshop/x"),
}


@pytest.mark.parametrize(("path", "expected"), DEVELOPER_PATHS.values(), ids=DEVELOPER_PATHS.keys())
def test_developer(tmp_path: Path, path: str, expected: str | None) -> None:
    mapper = build_mapper(developer(), tmp_path)
    assert mapper is not None
    path = path.format(root=tmp_path)
    wanted = path if expected is None else f"{tmp_path}/{expected.format(root=tmp_path)}"
    assert mapper(path) == wanted


def test_developer_creates_the_parent_like_batou(tmp_path: Path) -> None:
    mapper = build_mapper(developer(), tmp_path)
    assert mapper is not None
    mapped = mapper("/var/lib/app/state.db")
    assert Path(mapped).parent.is_dir()
    assert not Path(mapped).exists()  # only the directory, never the file


def test_developer_without_side_effects_until_asked(tmp_path: Path) -> None:
    mapper = build_mapper(developer(), tmp_path, eager=False)
    assert isinstance(mapper, DeveloperMapper)
    mapped = mapper("/var/lib/app/state.db")
    assert not (tmp_path / "work").exists()
    mapper.ensure_directories()
    assert Path(mapped).parent.is_dir()
    assert mapper.needed_directories == set()


MAP_RULES = (("/srv", "/tmp/srv"), ("/srv/app", "/opt/app"), ("/etc", "/tmp/etc"))
MAP_PATHS = {
    "longest prefix wins": ("/srv/app/x", "/opt/app/x"),
    "shorter prefix": ("/srv/other", "/tmp/srv/other"),
    "plain string prefix, as batou": ("/srvdata/x", "/tmp/srvdata/x"),
    "only the first occurrence": ("/etc/etc/x", "/tmp/etc/etc/x"),
    "no rule: unchanged": ("/var/x", "/var/x"),
    "relative: unchanged": ("etc/x", "etc/x"),
}


@pytest.mark.parametrize(("path", "expected"), MAP_PATHS.values(), ids=MAP_PATHS.keys())
def test_map(tmp_path: Path, path: str, expected: str) -> None:
    mapper = build_mapper(VfsConfig("Map", MAP_RULES, ORIGIN), tmp_path)
    assert mapper is not None
    assert mapper(path) == expected
    assert not (tmp_path / "work").exists()
