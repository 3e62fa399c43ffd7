"""The decrypted secrets.cfg read by deployd and by batou 2.7.1 itself (its ``SecretProvider``
parsing with ConfigUpdater, run in the batou venv): the same overrides, host data and secret
words for every text, and an error wherever batou has one."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from components_runtime.secrets import parse_secrets
from components_runtime.secrets.guard import secret_words
from tests.support.parity_helpers import batou_venv

pytestmark = pytest.mark.slow

BATOU_READER = """
import json, sys
from batou.secrets import ConfigFileSecretProvider

class Clear:
    def __init__(self, text): self.cleartext = text
    def __enter__(self): return self
    def __exit__(self, *args): pass

class Provider(ConfigFileSecretProvider):
    def __init__(self, text): self.config_file = Clear(text)
    def read_secret_files(self): return {}

out = []
for text in json.load(sys.stdin):
    try:
        blob = Provider(text).read()
    except Exception as error:
        out.append({"error": type(error).__name__})
        continue
    out.append({"overrides": blob.component_overrides, "host_data": blob.host_data,
                "words": sorted(blob.secret_data)})
print(json.dumps(out))
"""

TEXTS = [
    "[batou]\nmembers = a,\n  b\n\n[component:app]\nPassWord = s3cret value  \nport = 80\n",
    "[app]\nkey = plain section name\n[host:web]\ndata-token = t\nplain = p\nmydata-x = y\n",
    "[component:app]\nmulti = first\n  second\n\n  fourth\n\nnext = n\n",
    "[component:app]\nk = 1\n  # an indented comment is part of the value\nj = 2\n",
    "[component:app]\nk = 1\n# a comment\n  continued\n",
    "[component:app]\nk = 1\n; dropped comment\n\nj = 2\n",
    "[component:app]\nk : colon = and equals\nempty =\n",
    "[DEFAULT]\nshared = 1\n[component:app]\nk = v\n",
    "[component:app]\nk = 1\n[component:app]\nj = 2\n",
    "[component:app]\nnot a key value line\n",
    "text before any section\n[component:app]\nk = v\n",
    "[component:app]\n= no key\n",
    "[component:component:app]\nk = v\n",
]


def _ours(text: str) -> dict[str, Any]:
    config = parse_secrets(text, "secrets.cfg")
    if config.errors:
        return {"error": True}
    overrides = {
        c: {k: v.text for k, v in values.items()} for c, values in config.overrides.items()
    }
    host_data = {
        h: {k: v.text for k, v in values.items()} for h, values in config.host_data.items()
    }
    values = [v for section in overrides.values() for v in section.values()]
    return {"overrides": overrides, "host_data": host_data, "words": sorted(secret_words(values))}


def test_every_text_reads_as_batou_reads_it() -> None:
    python = batou_venv() / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", BATOU_READER],
        input=json.dumps(TEXTS),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    theirs = json.loads(done.stdout)
    for text, batou in zip(TEXTS, theirs, strict=True):
        ours = _ours(text)
        if "error" in batou:
            assert "error" in ours, f"batou refuses {text!r} ({batou['error']}), deployd reads it"
        else:
            assert ours == batou, text
