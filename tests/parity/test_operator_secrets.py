"""batou's encrypted secrets are not read by deployd: the operator is told, per file, instead of
a run (or `deployd check`) that silently lacks the overrides they hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from components_runtime.envconfig.load import load_environment_config
from tests.support.helpers import make_repo
from tests.support.paths import REPO_ROOT

REPO_ROOT = REPO_ROOT

FILES = {
    "environments/prod/environment.cfg": "[hosts]\nlocalhost = app\n",
    "environments/prod/secrets.cfg.age": "not really encrypted\n",
    "environments/prod/secret-tls.key.gpg": "not really encrypted\n",
    "environments/prod/notes.txt": "no secret\n",
    "components/app/component.py": (
        "from batou.component import Component\n\n\nclass App(Component):\n    pass\n"
    ),
}


def test_each_secrets_file_is_a_warning(tmp_path: Path) -> None:
    config = load_environment_config(make_repo(tmp_path / "repo", FILES), "prod")
    assert config.errors == ()
    texts = [w.message for w in config.warnings if "secrets" in w.message]
    assert texts == [
        "secret-tls.key.gpg next to it is not read: deployd does not decrypt batou's secrets, "
        "so the overrides and files in it are not applied",
        "secrets.cfg.age next to it is not read: deployd does not decrypt batou's secrets, "
        "so the overrides and files in it are not applied",
    ]
    warning = next(w for w in config.warnings if "secrets.cfg.age" in w.message)
    assert warning.origin.file == "environments/prod/environment.cfg"
    assert warning.level == "warning"
    assert warning.hint is not None and "docs/component-model.md#secrets" in warning.hint


def test_without_secrets_files_there_is_no_warning(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if "secret" not in k}
    config = load_environment_config(make_repo(tmp_path / "repo", files), "prod")
    assert [w for w in config.warnings if "secrets" in w.message] == []


def test_check_shows_the_warning(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    done = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "check", str(repo), "-e", "prod",
         "--host", "localhost", "--state-dir", str(tmp_path / "state")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING: environments/prod/environment.cfg: secrets.cfg.age next to it is not read" in (
        done.stdout
    )
    assert "notes.txt" not in done.stdout
