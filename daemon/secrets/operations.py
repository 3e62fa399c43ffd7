"""The ``deployd secrets`` operations, each on one environment; they return what they wrote.

Nothing is written unless every step before it succeeded (decrypting, the edited text parsing,
encrypting); a failure raises :class:`ManageError` and leaves the repository as it was.
"""

from __future__ import annotations

from components_runtime.secrets import FILE_SUFFIX, Format, SecretFile
from daemon.secrets.manage import (
    NEW_CONFIG,
    Edit,
    Environment,
    ManageError,
    comment_of,
    members_of,
    previous_values,
    with_members,
)

PROVIDERS: tuple[Format, ...] = ("age", "age-diffable", "gpg")


def edit_config(env: Environment, edit: Edit) -> list[str]:
    """``secrets.cfg.*``: edit, check, encrypt to its (possibly new) members and provider."""
    config = env.layout.config
    old = env.read(config) if config else NEW_CONFIG
    new = edit(old, "secrets.cfg")
    if new == old:
        return []
    path = config.path if config else f"environments/{env.name}/secrets.cfg"
    members = members_of(new, path)
    provider = _provider(new, path, config.format if config else "age")
    target = env.folder / f"secrets.cfg.{provider}"
    keys_changed = config is None or members != members_of(old, config.path)
    previous = None
    if config is not None and config.format == provider == "age-diffable" and not keys_changed:
        previous = previous_values(env, config, old)
    convert = config is not None and FILE_SUFFIX[config.format] != FILE_SUFFIX[provider]
    if keys_changed or convert:  # the secret files follow the members and the provider
        env.reencrypt_files(members, provider)
    env.write(target, provider, new, members, previous)
    if config is not None:
        env.remove(env.repository / config.path)  # kept when it is the target itself
    return env.commit()


def edit_file(env: Environment, name: str, edit: Edit) -> list[str]:
    """``secret-NAME.*``: encrypted to the shared config's members."""
    config, shared = env.shared()
    existing = next((f for f in env.layout.files if f.name == name), None)
    old = env.read(existing) if existing else ""
    new = edit(old, name)
    if new == old:
        return []
    target = env.folder / f"secret-{name}{FILE_SUFFIX[config.format]}"
    env.write(
        target, "gpg" if config.format == "gpg" else "age", new, members_of(shared, config.path)
    )
    return env.commit()


def edit_host(env: Environment, host: str, edit: Edit) -> list[str]:
    """``secrets-HOST.cfg.*``: encrypted to that host's key and the people of the shared
    members (so they can edit it again), never to another host."""
    existing = env.layout.host_file(host)
    fmt: Format
    if existing is not None:
        old = env.read(existing)
        fmt = existing.format
    else:
        config, shared = env.shared()
        old = _new_host_file(env, host, members_of(shared, config.path))
        fmt = "gpg" if config.format == "gpg" else "age"
    new = edit(old, f"secrets-{host}.cfg")
    if new == old:
        return []
    path = f"environments/{env.name}/secrets-{host}.cfg.{fmt}"
    env.write(env.repository / path, fmt, new, members_of(new, path))
    return env.commit()


def _new_host_file(env: Environment, host: str, members: list[str]) -> str:
    hosts = _hosts(env)
    own = [m for m in members if comment_of(m) == host]
    if not own:
        raise ManageError(
            f"no key of {host} in the members of environments/{env.name}: add it first with "
            f"`deployd secrets add-host {env.name} {host} --key ...`"
        )
    people = [m for m in members if comment_of(m) not in hosts]
    return with_members(f"[batou]\nmembers =\n\n[host:{host}]\n", own + people)


def add_host(env: Environment, host: str, key: str) -> list[str]:
    """``host``'s SSH key into members (replacing an older key of it); everything re-encrypted."""
    if host not in _hosts(env):
        raise ManageError(f"{host} is not a host of environments/{env.name}/environment.cfg")
    words = key.split()
    if len(words) < 2 or not words[0].startswith("ssh-"):
        raise ManageError(f"not an SSH public key: {key[:40]!r} (expected `ssh-ed25519 AAAA...`)")
    entry = f"{words[0]} {words[1]} {host}"
    config, text = env.shared()
    members = [
        m for m in members_of(text, config.path)
        if comment_of(m) != host and m.split()[1:2] != words[1:2]
    ]  # fmt: skip
    _rewrite(env, config, with_members(text, [*members, entry]))
    own = env.layout.host_file(host)
    if own is not None:  # the host's own file follows its new key
        clear = env.read(own)
        keys = [entry, *(m for m in members_of(clear, own.path) if comment_of(m) != host)]
        env.write(env.repository / own.path, own.format, with_members(clear, keys), keys)
    return env.commit()


def remove_host(env: Environment, host: str) -> list[str]:
    config, text = env.shared()
    members = members_of(text, config.path)
    kept = [m for m in members if comment_of(m) != host]
    if kept == members:
        raise ManageError(f"no key of {host} in the members of {config.path}")
    if not kept:
        raise ManageError(f"{host} is the only member of {config.path}: nobody could decrypt it")
    _rewrite(env, config, with_members(text, kept))
    return env.commit()


def rekey(env: Environment) -> list[str]:
    """Every file encrypted anew to its members (new file keys, new ciphertext everywhere)."""
    config, text = env.shared()
    _rewrite(env, config, text)
    for own in env.layout.host_files:
        clear = env.read(own)
        env.write(env.repository / own.path, own.format, clear, members_of(clear, own.path))
    return env.commit()


def _rewrite(env: Environment, config: SecretFile, text: str) -> None:
    members = members_of(text, config.path)
    env.reencrypt_files(members, config.format)
    env.write(env.repository / config.path, config.format, text, members)


def _provider(text: str, path: str, current: Format) -> Format:
    from components_runtime.secrets import parse_secrets

    provider = parse_secrets(text, path).provider or current
    for known in PROVIDERS:
        if provider == known:
            return known
    raise ManageError(f"{path}: secret_provider {provider!r} is none of {', '.join(PROVIDERS)}")


def _hosts(env: Environment) -> set[str]:
    from components_runtime.envconfig import load_environment_config
    from components_runtime.errors import ConfigurationError

    try:
        return set(load_environment_config(env.repository, env.name).hosts)
    except ConfigurationError as error:
        raise ManageError(str(error)) from None


__all__ = ["add_host", "edit_config", "edit_file", "edit_host", "rekey", "remove_host"]
