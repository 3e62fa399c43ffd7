"""Internal module paths in messages become the names a batou user knows."""

from __future__ import annotations

import pytest

from components_runtime.support import batou_names, expand
from components_runtime.worker import aliases


@pytest.fixture(autouse=True, scope="module")
def batou_aliases() -> None:
    aliases.install()
    import batou.host  # noqa: F401  (the alias modules a repository's code imports)
    import batou.lib.file  # noqa: F401
    import batou.utils  # noqa: F401


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "'components_runtime.model.environment.BagOfAttributes object' has no attribute 'x'",
            "'batou.utils.BagOfAttributes object' has no attribute 'x'",
        ),
        ("components_runtime.model.environment.Host", "batou.host.Host"),
        ("components_runtime.model.resolver.Address", "batou.utils.Address"),
        ("a components_runtime.lib.files.composite.File here", "a batou.lib.file.File here"),
        ("components_runtime.batou.utils", "batou.utils"),
        ("components_runtime.engine.ordering.stable_topological_sort", "stable_topological_sort"),
        ("nothing internal", "nothing internal"),
    ],
)
def test_internal_names_become_batou_names(text: str, expected: str) -> None:
    assert batou_names(text) == expected


def test_a_template_error_names_batous_class() -> None:
    from components_runtime.errors import TemplatingError
    from components_runtime.model import BagOfAttributes

    with pytest.raises(TemplatingError) as raised:
        expand("{{ bag.missing }}", {"bag": BagOfAttributes()})
    assert "'batou.utils.BagOfAttributes object' has no attribute 'missing'" in str(raised.value)
    assert "components_runtime" not in str(raised.value)
