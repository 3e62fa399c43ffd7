"""Where the repository's parts are, for tests at any depth."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
TESTS = REPO_ROOT / "tests"
FIXTURES = TESTS / "fixtures"
DOCS = REPO_ROOT / "docs"
