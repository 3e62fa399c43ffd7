"""The pure parts of ``deployd secrets``: members in the cleartext, hosts told from people,
the private temporary file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components_runtime.secrets import parse_secrets
from daemon.secrets.manage import comment_of, members_of, private_file, with_members


@pytest.mark.parametrize(
    "text",
    [
        "[batou]\nmembers = a,\n  b\nsecret_provider = age\n\n[app]\nx = 1\n",
        "[batou]\nsecret_provider = age\n\n[app]\nx = 1\n",
        "[app]\nx = 1\n",
    ],
)
def test_members_are_set_wherever_they_were(text: str) -> None:
    members = ["ssh-ed25519 AAAA web01", "age1qqqq"]
    updated = with_members(text, members)
    assert members_of(updated, "secrets.cfg") == members
    config = parse_secrets(updated, "secrets.cfg")
    assert {k: v.text for k, v in config.overrides["app"].items()} == {"x": "1"}


def test_a_host_is_a_key_with_the_host_name_as_comment() -> None:
    assert comment_of("ssh-ed25519 AAAA web01") == "web01"
    assert comment_of("ssh-ed25519 AAAA alice@laptop") == "alice@laptop"
    assert comment_of("age1qqqq") == ""
    assert comment_of("ops@example.com") == ""  # a gpg member


def test_the_private_file_is_private_and_gone_afterwards() -> None:
    with private_file("secrets.cfg", "cleartext") as path:
        assert path.read_text() == "cleartext"
        assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)
        folder = path.parent
    assert not folder.exists()
    with pytest.raises(RuntimeError), private_file("x", "y") as path:
        raise RuntimeError("the editor failed")
    assert not path.exists() and not path.parent.exists()
    if os.access("/dev/shm", os.W_OK):
        assert Path("/dev/shm") in path.parents  # in memory, where the system offers it
