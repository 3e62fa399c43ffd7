"""Decrypted secrets applied to the runtime environment as batou applies them, and guarded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components_runtime.errors import (
    DuplicateOverride,
    SecretsError,
    SuperfluousSecretsSection,
    UnknownHostSecretsSection,
)
from components_runtime.secrets import (
    MASK,
    PLACEHOLDER,
    SecretGuard,
    apply_host_scoped,
    apply_shared,
    find_secrets,
    guard_for_texts,
    parse_secrets,
    read_secrets,
)

CONFIG = "environments/prod/secrets.cfg.age"


class FakeHost:
    def __init__(self, name: str) -> None:
        self.name = name
        self.data: dict[str, str] = {"existing": "1"}


class FakeEnvironment:
    def __init__(self, overrides: dict[str, dict[str, str]] | None = None) -> None:
        self.overrides = overrides or {}
        self.hosts = {"web": FakeHost("web")}
        self.secret_files: dict[str, str] = {}
        self.secret_data: set[str] = set()
        self.secret_guard: Any = None


def _layout(tmp_path: Path, *names: str) -> Any:
    folder = tmp_path / "environments" / "prod"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return find_secrets(tmp_path, "prod")


def test_overrides_host_data_and_files_apply(tmp_path: Path) -> None:
    layout = _layout(tmp_path, "secrets.cfg.age", "secret-tls.key.age")
    text = (
        "[batou]\nmembers = a, b\n\n[component:app]\nPassWord = one two\n\n"
        "[host:web]\ndata-token = t0k3n\nplain = p\n"
    )
    texts = {CONFIG: text, "environments/prod/secret-tls.key.age": "line one\nline two\n"}
    secrets = read_secrets(layout, texts, "web")
    environment = FakeEnvironment({"app": {"other": "x"}})
    errors, locations = apply_shared(environment, secrets, ["app"], "environments/prod/env.cfg")
    assert errors == []
    assert environment.overrides == {"app": {"other": "x", "password": "one two"}}
    assert locations == {"app": {"password": (CONFIG, 5)}}
    assert environment.hosts["web"].data == {"existing": "1", "token": "t0k3n", "plain": "p"}
    assert environment.secret_files == {"tls.key": "line one\nline two\n"}
    # batou's secret_data: words of the override values, lines of the files; and the host data
    assert {"one", "two", "line one", "line two", "t0k3n", "p"} <= environment.secret_data
    assert environment.secret_guard.holds_secret("url=https://x:t0k3n@host")


def test_a_key_in_the_environment_and_the_secrets_is_an_error(tmp_path: Path) -> None:
    secrets = read_secrets(
        _layout(tmp_path, "secrets.cfg.age"), {CONFIG: "[app]\nport = 1\n"}, None
    )
    environment = FakeEnvironment({"app": {"port": "2"}})
    (error,), _ = apply_shared(environment, secrets, ["app"], "environments/prod/environment.cfg")
    assert isinstance(error, DuplicateOverride)
    assert (error.file, error.line, error.component) == (CONFIG, 2, "app")
    assert environment.overrides["app"]["port"] == "2"
    assert "1" not in error.message  # never the value


def test_unknown_components_and_hosts_are_errors(tmp_path: Path) -> None:
    text = "[component:ghost]\na = 1\n[host:nowhere]\nb = 2\n"
    secrets = read_secrets(_layout(tmp_path, "secrets.cfg.age"), {CONFIG: text}, None)
    environment = FakeEnvironment()
    errors, _ = apply_shared(environment, secrets, ["app"], "env.cfg")
    assert [type(e) for e in errors] == [UnknownHostSecretsSection, SuperfluousSecretsSection]
    assert environment.overrides == {"ghost": {"a": "1"}}  # stored anyway, as batou does


def test_a_missing_cleartext_is_an_error_unless_checking_without_keys(tmp_path: Path) -> None:
    layout = _layout(tmp_path, "secrets.cfg.age", "secret-k.age")
    (error, _) = read_secrets(layout, {}, None).errors
    assert isinstance(error, SecretsError) and error.message.endswith("was not decrypted")
    secrets = read_secrets(layout, {}, None, complete=False)
    assert secrets.errors == ()
    path = "environments/prod/secret-k.age"
    assert secrets.files == {"k": PLACEHOLDER.format(path=path)}


def test_parse_errors_never_quote_the_line(tmp_path: Path) -> None:
    config = parse_secrets("[app]\nhunter2-password-line\n", CONFIG)
    (error,) = config.errors
    assert error.line == 2 and "hunter2" not in error.message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("login with s3cr3t-pw now", f"login with {MASK} now"),
        ("pw=s3cr3t-pw", f"pw={MASK}"),
        ("two words: alpha-secret beta", f"two words: {MASK}"),
        ("only alpha-secret", f"only {MASK}"),
        ("an ordinary sentence", "an ordinary sentence"),
    ],
)
def test_the_guard_redacts_values_words_and_lines(text: str, shown: str) -> None:
    guard = SecretGuard(["s3cr3t-pw", "alpha-secret beta"])
    assert guard.redact(text) == shown


def test_the_guard_of_decrypted_texts() -> None:
    texts = {
        CONFIG: "[batou]\nmembers = ssh-ed25519 AAAA\n[app]\npw = v4lue-one\n",
        "environments/prod/secret-x.age": "file-line-1\nfile-line-2\n",
    }
    guard = guard_for_texts(texts)
    assert guard.redact("v4lue-one file-line-2") == f"{MASK} {MASK}"
    assert "ssh-ed25519" not in guard.needles  # [batou] members are not secret
    assert guard.redact_data({"a": ["v4lue-one", 3], "b": ("file-line-1",)}) == {
        "a": [MASK, 3],
        "b": (MASK,),
    }
    assert repr(guard) == "<SecretGuard: 3 values>"


class FakeRoot:
    def __init__(self, name: str, host: str) -> None:
        self.name = name
        self.host = FakeHost(host)
        self.host_overrides: dict[str, str] = {}
        self.override_locations: dict[str, tuple[str, int | None]] = {}


def test_host_scoped_overrides_reach_only_the_hosts_own_roots(tmp_path: Path) -> None:
    layout = _layout(tmp_path, "secrets.cfg.age", "secrets-web.cfg.age")
    own = "environments/prod/secrets-web.cfg.age"
    texts = {CONFIG: "[app]\na = 1\n", own: "[app]\nport = 81\nplain = x\n[host:web]\nk = v\n"}
    secrets = read_secrets(layout, texts, "web")
    environment = FakeEnvironment({"app": {"plain": "env"}})
    environment.root_components = [FakeRoot("app", "web"), FakeRoot("app", "db")]  # type: ignore[attr-defined]
    apply_shared(environment, secrets, ["app"], "env.cfg")
    (error,) = apply_host_scoped(environment, secrets, "web")
    assert isinstance(error, DuplicateOverride) and error.file == own  # plain: environment.cfg
    mine, other = environment.root_components  # type: ignore[attr-defined]
    assert mine.host_overrides == {"port": "81"} and other.host_overrides == {}
    assert mine.override_locations["port"] == (own, 2)
    assert environment.hosts["web"].data["k"] == "v"


def test_a_host_scoped_file_holds_only_its_own_host(tmp_path: Path) -> None:
    layout = _layout(tmp_path, "secrets-web.cfg.age")
    texts = {"environments/prod/secrets-web.cfg.age": "[host:db]\nk = v\n"}
    (error,) = read_secrets(layout, texts, "web").errors
    assert isinstance(error, UnknownHostSecretsSection)
    assert error.hint == "a host-scoped file holds data for its own host only: use [host:web]"
