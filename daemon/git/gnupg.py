"""The GnuPG home directory git verifies OpenPGP signatures with: only the policy's keyring.

``STATE/gnupg`` is built from the ``gpg_keyring`` file (public keys, armored or binary): the
keys are imported and marked as trusted, because the keyring *is* the list of allowed signers
(an imported key that gpg does not trust would give git's ``U``, not ``G``). The home is rebuilt
when the file's content changes (its SHA-256 is kept in ``STATE/gnupg/.keyring-sha256``), in a
new directory renamed into place, so a key taken out of the file is gone from the home too.
Without a keyring the home is empty: every OpenPGP signature is then "signer not allowed".
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

_STAMP = ".keyring-sha256"


class KeyringError(Exception):
    """The keyring file cannot be read or imported (names the file and what gpg said)."""


def gnupg_home(state_dir: Path, keyring: Path | None, timeout: float = 60.0) -> Path:
    """``STATE/gnupg`` holding exactly the keys of ``keyring`` (none when it is None)."""
    home = state_dir / "gnupg"
    try:
        digest = hashlib.sha256(keyring.read_bytes()).hexdigest() if keyring else "none"
    except OSError as error:
        raise KeyringError(f"cannot read the keyring {keyring}: {error.strerror}") from None
    try:
        if (home / _STAMP).read_text().strip() == digest:
            return home
    except OSError:
        pass
    fresh = state_dir / f".gnupg.{os.getpid()}.tmp"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(mode=0o700, parents=True)
    try:
        if keyring is not None:
            _import(fresh, keyring, timeout)
        (fresh / _STAMP).write_text(digest + "\n")
        old = state_dir / f".gnupg.{os.getpid()}.old"
        if home.exists():
            os.replace(home, old)
        os.replace(fresh, home)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return home


def _import(home: Path, keyring: Path, timeout: float) -> None:
    _gpg(home, timeout, "--import", str(keyring))
    listing = _gpg(home, timeout, "--with-colons", "--fingerprint", "--list-keys")
    primaries, expect = [], False
    for line in listing.splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            expect = True
        elif fields[0] == "fpr" and expect:
            primaries.append(fields[9])
            expect = False
    if not primaries:
        raise KeyringError(f"the keyring {keyring} holds no OpenPGP public key")
    trust = "".join(f"{fpr}:6:\n" for fpr in primaries)  # 6: ultimate, as for one's own keys
    _gpg(home, timeout, "--import-ownertrust", stdin=trust)


def _gpg(home: Path, timeout: float, *args: str, stdin: str = "") -> str:
    # --no-autostart: public keys need no gpg-agent, and one started here would outlive us
    command = ["gpg", "--batch", "--no-tty", "--quiet", "--no-autostart", "--homedir", str(home)]
    command += args
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise KeyringError(f"gpg {args[0]}: {error}") from None
    if done.returncode != 0:
        raise KeyringError(f"gpg {args[0]}: {done.stderr.strip() or done.returncode}")
    return done.stdout
