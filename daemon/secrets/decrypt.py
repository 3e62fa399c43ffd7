"""Decrypting an environment's secrets on the host, with the host's own key, in memory.

``decrypt_secrets`` reads the files a host needs (``components_runtime.secrets.find_secrets``:
the environment's ``secrets.cfg.*``, its ``secret-NAME`` files, the host's own host-scoped file)
and returns their cleartext as a :class:`SecretsPayload` for the worker's stdin. A file this host
cannot decrypt is a :class:`SecretsFailure` that names the file, the host's key and what to do;
the caller refuses the run (``apply``, the daemon) or checks without the values (``check``).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, replace
from pathlib import Path

from components_runtime.protocol import ErrorInfo, SecretsPayload
from components_runtime.secrets import (
    SecretFile,
    SecretsLayout,
    age_stanzas,
    diffable_values,
    find_secrets,
    rebuild_diffable,
)
from daemon.secrets import gpg
from daemon.secrets.identities import Identities, load_identities

_UNKNOWN_HOST = "HOST"


@dataclass(frozen=True)
class SecretsOptions:
    """Where the host's keys are: ``identities`` None means its SSH host keys."""

    identities: tuple[Path, ...] | None = None
    gnupg_home: Path | None = None


@dataclass(frozen=True)
class SecretsFailure:
    file: str
    message: str
    hint: str
    not_recipient: bool = False
    # the file itself is wrong (not an age / gpg file, a broken age-diffable value, not text):
    # an error for `deployd check` too, which otherwise goes on without the values
    damaged: bool = False

    def to_error(self) -> ErrorInfo:
        kind = "NotARecipient" if self.not_recipient else "SecretsDecryptError"
        return ErrorInfo(kind=kind, message=self.message, file=self.file, hint=self.hint)


@dataclass(frozen=True)
class Decryption:
    payload: SecretsPayload | None  # None: the environment has no secrets
    failures: tuple[SecretsFailure, ...] = ()
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def naming(self, host: str | None) -> Decryption:
        """The failures' hints with the host's own name (decryption did not need to know it)."""
        if host is None:
            return self
        failures = tuple(
            replace(f, hint=f.hint.replace(f" {_UNKNOWN_HOST} --key", f" {host} --key"))
            for f in self.failures
        )
        return replace(self, failures=failures)

    def errors(self) -> tuple[ErrorInfo, ...]:
        return tuple(failure.to_error() for failure in self.failures)


class _Decryptor:
    """One decryption pass: identities are loaded once, when the first age file needs them."""

    def __init__(
        self, checkout: Path, environment: str, host: str | None, options: SecretsOptions
    ) -> None:
        self.checkout = checkout
        self.environment = environment
        self.host = host
        self.options = options
        self._identities: Identities | None = None

    @property
    def identities(self) -> Identities:
        if self._identities is None:
            self._identities = load_identities(self.options.identities)
        return self._identities

    def text(self, secret: SecretFile) -> str:
        """The cleartext of one file; raises SecretsFailure."""
        data = self._read(secret)
        if secret.format == "age-diffable":
            return self._diffable(secret, data)
        clear = self._gpg(secret) if secret.format == "gpg" else self._age(secret, data)
        try:
            return clear.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptFailed(
                SecretsFailure(
                    secret.path,
                    f"{secret.path} does not hold UTF-8 text",
                    "batou reads secrets (and secret files) as UTF-8 text; store binary data "
                    "base64-encoded",
                    damaged=True,
                )
            ) from None

    def _read(self, secret: SecretFile) -> bytes:
        try:
            return (self.checkout / secret.path).read_bytes()
        except OSError as error:
            raise DecryptFailed(
                SecretsFailure(
                    secret.path, f"cannot read {secret.path}: {error.strerror}", "", damaged=True
                )
            ) from None

    def _age(self, secret: SecretFile, data: bytes) -> bytes:
        if not data:
            return b""  # batou: an empty file decrypts to nothing
        import pyrage

        if age_stanzas(data) is None:  # damaged, whether or not there is a key to try
            raise DecryptFailed(_not_age(secret, "no age header"))
        identities = self.identities
        if not identities.keys:
            raise DecryptFailed(_no_keys(secret, identities))
        clear = io.BytesIO()
        try:
            # decrypt_io, not decrypt: pyrage's decrypt() parses a header of many recipients in
            # quadratic time (40 ms for 50 recipients), decrypt_io in under a millisecond
            pyrage.decrypt_io(io.BytesIO(data), clear, identities.pyrage())
            return clear.getvalue()
        except pyrage.DecryptError as error:
            failure = _age_failure(secret, data, identities, str(error), self.host)
            raise DecryptFailed(failure) from None

    def _diffable(self, secret: SecretFile, data: bytes) -> str:
        text = data.decode("utf-8", errors="replace")
        values, errors = diffable_values(text, secret.path)
        if errors:  # the worker reports the details; here it only must not converge
            raise DecryptFailed(
                SecretsFailure(secret.path, errors[0].message, errors[0].hint or "", damaged=True)
            )
        decrypted = []
        for value in values:
            clear = self._age(secret, value.ciphertext)
            try:
                decrypted.append((value, clear.decode("utf-8")))
            except UnicodeDecodeError:
                raise DecryptFailed(
                    SecretsFailure(secret.path, f"{value.key} is not UTF-8 text", "", damaged=True)
                ) from None
        return rebuild_diffable(text, decrypted)

    def _gpg(self, secret: SecretFile) -> bytes:
        home = self.options.gnupg_home
        try:
            return gpg.decrypt(self.checkout / secret.path, home)
        except gpg.GpgError as error:
            raise DecryptFailed(_gpg_failure(secret, error, home)) from None


class DecryptFailed(Exception):
    """One file could not be decrypted: ``failure`` says which, why and what to do."""

    def __init__(self, failure: SecretsFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def decrypt_file(
    checkout: Path, secret: SecretFile, options: SecretsOptions, host: str | None = None
) -> str:
    """The cleartext of one file; raises :class:`DecryptFailed`."""
    environment = secret.path.split("/")[1]
    return _Decryptor(checkout, environment, host, options).text(secret)


def decrypt_secrets(
    checkout: Path,
    environment: str,
    host: str | None,
    options: SecretsOptions = SecretsOptions(),
    layout: SecretsLayout | None = None,
) -> Decryption:
    """Decrypt what ``host`` needs (every shared file, and its own host-scoped one)."""
    started = time.perf_counter()
    layout = layout or find_secrets(checkout, environment)
    if layout.empty:
        return Decryption(None)
    decryptor = _Decryptor(checkout, environment, host, options)
    texts: list[tuple[str, str]] = []
    failures: list[SecretsFailure] = []
    for secret in layout.needed_by(host):
        try:
            texts.append((secret.path, decryptor.text(secret)))
        except DecryptFailed as failed:
            failures.append(failed.failure)
    payload = SecretsPayload(tuple(texts), complete=not failures)
    return Decryption(payload, tuple(failures), time.perf_counter() - started)


def run_host(
    checkout: Path, environment: str, requested: str | None
) -> tuple[str | None, list[str]]:
    """The host a run converges (as the worker will select it) and every host's name; (None,
    [...]) when it cannot be told: then only the shared files are needed, and the worker
    reports the host problem itself."""
    from components_runtime.envconfig import load_environment_config, select_host
    from components_runtime.errors import ConfigurationError

    try:
        config = load_environment_config(checkout, environment)
    except ConfigurationError:
        return None, []
    try:
        return select_host(config, requested).name, list(config.hosts)
    except ConfigurationError:
        return None, list(config.hosts)


def _add_host_hint(environment: str, public: str | None, host: str | None) -> str:
    key = f'"{public}"' if public else '"$(cat /etc/ssh/ssh_host_ed25519_key.pub)"'
    return (
        "make this host a recipient, where the secrets can be decrypted: `deployd secrets "
        f"add-host {environment} {host or _UNKNOWN_HOST} --key {key}`, then commit and push "
        "(docs/secrets.md)"
    )


def _environment_of(secret: SecretFile) -> str:
    return secret.path.split("/")[1]


def _no_keys(secret: SecretFile, identities: Identities) -> SecretsFailure:
    tried = ", ".join(str(p) for p in identities.tried) or "none"
    problems = f" ({'; '.join(identities.problems)})" if identities.problems else ""
    return SecretsFailure(
        secret.path,
        f"cannot decrypt {secret.path}: no usable age identity on this host (tried: "
        f"{tried}){problems}",
        "set secrets_identities in deployd.toml (or pass --identity FILE) to the host's SSH "
        "host key or an age identity file",
    )


def _not_age(secret: SecretFile, reason: str) -> SecretsFailure:
    return SecretsFailure(
        secret.path,
        f"{secret.path} is not an age file ({reason})",
        "restore it from git history, or re-create it with `deployd secrets edit`",
        damaged=True,
    )


def _age_failure(
    secret: SecretFile, data: bytes, identities: Identities, reason: str, host: str | None
) -> SecretsFailure:
    stanzas = age_stanzas(data)
    if stanzas is None:
        return _not_age(secret, reason)
    keys = ", ".join(f"{i.fingerprint} ({i.path})" for i in identities.keys)
    first = identities.keys[0].public if identities.keys else None
    return SecretsFailure(
        secret.path,
        f"this host is not a recipient of {secret.path}: its key {keys} is not among the "
        f"file's {len(stanzas)} recipients",
        _add_host_hint(_environment_of(secret), first, host),
        not_recipient=True,
    )


def _gpg_failure(secret: SecretFile, error: gpg.GpgError, home: Path | None) -> SecretsFailure:
    keyring = str(home) if home else "gpg's default keyring"
    if not error.not_recipient:
        damaged = "no valid OpenPGP data" in str(error)
        return SecretsFailure(
            secret.path, f"{secret.path}: {error}", f"keyring: {keyring}", damaged=damaged
        )
    return SecretsFailure(
        secret.path,
        f"this host is not a recipient of {secret.path}: no secret key for it in {keyring}",
        "import the host's gpg key into that keyring, or add the host's key id to "
        f"[batou] members and re-encrypt (`batou secrets add KEYID --environments "
        f"{_environment_of(secret)}`)",
        not_recipient=True,
    )


__all__ = [
    "DecryptFailed",
    "Decryption",
    "decrypt_file",
    "SecretsFailure",
    "SecretsOptions",
    "decrypt_secrets",
    "run_host",
]
