"""Every ini example in docs/environment-config.md loads as the page says it does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components_runtime.envconfig.load import load_environment_config
from tests.support.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "environment-config.md"
EXAMPLES = re.findall(r"```ini\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example(tmp_path: Path, text: str) -> None:
    path = tmp_path / "environments" / "doc" / "environment.cfg"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    config = load_environment_config(tmp_path, "doc")
    broken = re.match(r"# broken: (\d+) errors", text)
    if broken:
        assert len(config.errors) == int(broken.group(1)), config.errors
        assert all(e.line for e in config.errors)
    else:
        assert config.errors == ()


def test_the_complete_example_means_what_the_page_says(tmp_path: Path) -> None:
    (complete,) = [text for text in EXAMPLES if "[host:db.example.com]" in text]
    path = tmp_path / "environments" / "prod" / "environment.cfg"
    path.parent.mkdir(parents=True)
    path.write_text(complete)
    config = load_environment_config(tmp_path, "prod")
    assert list(config.hosts) == ["lb", "spare", "web1", "db.example.com"]
    web1, db = config.hosts["web1"], config.hosts["db.example.com"]
    assert (web1.fqdn, web1.platform, dict(web1.data)) == (
        "web1.example.com",
        "debian",
        {"role": "primary", "weight": "10"},
    )
    assert [(c.name, c.features, c.ignore) for c in web1.components] == [
        ("nginx", (), False),
        ("app", ("workers",), False),
        ("backup", (), True),
    ]
    assert (db.fqdn, db.platform, db.service_user, db.require_sudo) == (
        "db.example.com",
        "ubuntu",
        "postgres",
        False,
    )
    assert config.hosts["spare"].ignore
    assert config.override_strings("app")["public_url"] == "https://{{host.fqdn}}/"
    assert (config.resolver_v4["db.example.com"], config.resolver_v6["db.example.com"]) == (
        "10.0.0.5",
        "2001:db8::5",
    )
    assert config.vfs is not None and config.vfs.rules[0] == (
        "/etc/nginx",
        "/srv/staging/nginx-etc",
    )
    assert [w.level for w in config.warnings] == ["info", "info", "info"]
