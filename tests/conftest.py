"""Session fixtures: the Debian package is built once for every test that installs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.debian_root import base_root, build_packages, depends, overlay_root


@pytest.fixture(scope="session")
def debian_packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(previous, current) builds of the .deb (``tests/support/debian_root.py``)."""
    return build_packages(tmp_path_factory.mktemp("debs"))


@pytest.fixture
def debian_root(debian_packages: tuple[Path, Path], tmp_path: Path) -> Iterator[Path]:
    """A fresh Debian 12 root with the package's dependencies, both builds in its /tmp."""
    base = base_root([*depends(debian_packages[1]), "systemd"])
    with overlay_root(base, tmp_path / "overlay") as mounted:
        for deb in debian_packages:
            (mounted / "tmp" / deb.name).write_bytes(deb.read_bytes())
        yield mounted
