"""Session fixtures: the Debian package is built once for every test that installs it, in
whichever test process asks first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.debian_root import base_root, build_packages, depends, overlay_root
from tests.support.made_once import filled_once, shared_by_this_run


@pytest.fixture(scope="session")
def debian_packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(previous, current) builds of the .deb (``tests/support/debian_root.py``), built by the
    first test process that needs them and reused by the others of the same run."""

    def build(out: Path) -> None:
        built = build_packages(out)
        (out / "built.txt").write_text("".join(f"{deb.relative_to(out)}\n" for deb in built))

    out = filled_once(shared_by_this_run(tmp_path_factory, "debs"), build)
    previous, current = (out / name for name in (out / "built.txt").read_text().split())
    return previous, current


@pytest.fixture
def debian_root(debian_packages: tuple[Path, Path], tmp_path: Path) -> Iterator[Path]:
    """A fresh Debian 12 root with the package's dependencies, both builds in its /tmp."""
    base = base_root([*depends(debian_packages[1]), "systemd"])
    with overlay_root(base, tmp_path / "overlay") as mounted:
        for deb in debian_packages:
            (mounted / "tmp" / deb.name).write_bytes(deb.read_bytes())
        yield mounted
