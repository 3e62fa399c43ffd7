"""Which secrets files an environment has, and what batou 2.4+ would make of the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from components_runtime.errors import SecretsError
from components_runtime.secrets import find_secrets


def _env(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "environments" / "prod"
    folder.mkdir(parents=True)
    (folder / "environment.cfg").write_text("[hosts]\nweb = app\n")
    for name in names:
        target = tmp_path / name if "/" in name else folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "provider", "secret_files"),
    [
        ((), None, []),
        (("secrets.cfg.age", "secret-tls.key.age"), "age", [("tls.key", "age")]),
        (("secrets.cfg.gpg", "secret-db.gpg"), "gpg", [("db", "gpg")]),
        # age-diffable keeps whole files in plain age files
        (("secrets.cfg.age-diffable", "secret-a.age"), "age-diffable", [("a", "age")]),
    ],
)
def test_each_provider_and_its_secret_files(
    tmp_path: Path,
    files: tuple[str, ...],
    provider: str | None,
    secret_files: list[tuple[str, str]],
) -> None:
    layout = find_secrets(_env(tmp_path, *files, "age_keys.txt"), "prod")
    assert layout.provider == provider
    assert [(f.name, f.format) for f in layout.files] == secret_files
    assert layout.errors == () and layout.warnings == ()
    if provider:
        assert layout.config is not None
        assert layout.config.path == f"environments/prod/secrets.cfg.{files[0].split('.')[-1]}"


def test_secret_files_of_another_provider_are_not_read(tmp_path: Path) -> None:
    layout = find_secrets(_env(tmp_path, "secrets.cfg.age", "secret-old.gpg"), "prod")
    assert layout.files == ()
    assert layout.warnings == (
        "environments/prod/secret-old.gpg is not read: with age secrets batou reads "
        "secret-NAME.age files only",
    )


def test_secret_files_without_a_secrets_cfg_are_not_read(tmp_path: Path) -> None:
    layout = find_secrets(_env(tmp_path, "secret-lonely.age"), "prod")
    assert layout.empty and layout.files == ()
    assert "there is no secrets.cfg.* next to it" in layout.warnings[0]


def test_two_providers_are_an_error(tmp_path: Path) -> None:
    layout = find_secrets(_env(tmp_path, "secrets.cfg.age", "secrets.cfg.gpg"), "prod")
    (error,) = layout.errors
    assert isinstance(error, SecretsError)
    assert error.message == (
        "Several secrets files in environments/prod: secrets.cfg.age, secrets.cfg.gpg"
    )


def test_an_unknown_suffix_is_an_error(tmp_path: Path) -> None:
    (error,) = find_secrets(_env(tmp_path, "secrets.cfg.bak"), "prod").errors
    assert "'.bak' is no provider" in error.message


@pytest.mark.parametrize(
    ("files", "named"),
    [
        (("secrets/prod.cfg",), "secrets/prod.cfg"),
        (("secrets/prod.cfg", "secrets/prod-tls.key"), "secrets/prod.cfg, secrets/prod-tls.key"),
        (("secrets.cfg",), "environments/prod/secrets.cfg"),
    ],
)
def test_layouts_before_batou_2_4_say_what_to_do(
    tmp_path: Path, files: tuple[str, ...], named: str
) -> None:
    (error,) = find_secrets(_env(tmp_path, *files), "prod").errors
    assert error.message.startswith(f"Secrets in batou's layout before 2.4 ({named})")
    assert error.hint is not None and "batou migrate" in error.hint


def test_host_scoped_files_belong_to_their_host(tmp_path: Path) -> None:
    base = _env(
        tmp_path, "secrets.cfg.age", "secrets-web01.example.com.cfg.age", "secrets-db.cfg.gpg"
    )
    layout = find_secrets(base, "prod")
    assert [(f.name, f.format) for f in layout.host_files] == [
        ("db", "gpg"),
        ("web01.example.com", "age"),
    ]
    needed = [f.path for f in layout.needed_by("db")]
    assert needed == ["environments/prod/secrets.cfg.age", "environments/prod/secrets-db.cfg.gpg"]
    assert [f.path for f in layout.needed_by(None)] == ["environments/prod/secrets.cfg.age"]
