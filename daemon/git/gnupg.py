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
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_STAMP = ".keyring-sha256"
# Without /run/user/UID, gpg looks for its agent's sockets in the home directory, and a socket
# path has room for 107 bytes: with a longer home, gpg fails ("can't connect to the agent: File
# name too long"), --no-autostart or not.
_SOCKET_ROOM = 107 - len("/S.gpg-agent.browser")


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


@contextmanager
def within_reach(home: Path) -> Iterator[Path]:
    """``home``, or, when its path is too long for gpg's sockets, a short path to it: a symbolic
    link in a private temporary directory of /tmp, removed afterwards."""
    if len(os.fsencode(home.absolute())) <= _SOCKET_ROOM:
        yield home
        return
    short = Path(tempfile.mkdtemp(prefix="deployd-gpg-", dir="/tmp"))
    try:
        link = short / "home"
        link.symlink_to(home.resolve())
        yield link
    finally:
        shutil.rmtree(short, ignore_errors=True)


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
    with within_reach(home) as reachable:
        command = ["gpg", "--batch", "--no-tty", "--quiet", "--no-autostart"]
        command += ["--homedir", str(reachable), *args]
        try:
            done = subprocess.run(
                command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise KeyringError(f"gpg {args[0]}: {error}") from None
    if done.returncode != 0:
        raise KeyringError(f"gpg {args[0]}: {done.stderr.strip() or done.returncode}")
    return done.stdout
