"""``deployd secrets``: the repository owners' commands for batou's encrypted secrets.

    deployd secrets edit ENV [NAME] [--host HOST] [--editor CMD]
    deployd secrets add-host ENV HOST (--key "ssh-ed25519 AAAA..." | --keyscan FILE)
    deployd secrets remove-host ENV HOST
    deployd secrets recipients ENV
    deployd secrets rekey ENV
    all: [-C REPOSITORY] [--identity FILE ...] [--gnupg-home DIR]

They work on the repository in the current directory (``-C`` for another), decrypt with the
operator's keys (``--identity``, else ``$BATOU_AGE_IDENTITIES``, else ``~/.ssh/id_*``, as
batou) and write what ``batou secrets edit`` reads. Exit status: 0 done, 2 nothing was written:
bad usage or input, or a file this operator cannot decrypt (the message says which and why).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    secrets = subparsers.add_parser(
        "secrets", help="edit batou's encrypted secrets; make hosts recipients",
        description="Edit an environment's encrypted secrets and manage who can decrypt them.",
    )  # fmt: skip
    commands = secrets.add_subparsers(dest="secrets_command", metavar="COMMAND", required=True)

    edit = commands.add_parser("edit", help="decrypt into $EDITOR, then encrypt again")
    _common(edit)
    edit.add_argument("name", nargs="?", metavar="NAME",
                      help="a secret file (secret-NAME.*) instead of secrets.cfg")  # fmt: skip
    edit.add_argument("--host", help="the host-scoped file secrets-HOST.cfg.* of this host")
    edit.add_argument("--editor", help="the editor command (default $VISUAL, $EDITOR, vi)")
    edit.set_defaults(func=_edit)

    add = commands.add_parser("add-host", help="make a host a recipient (its SSH host key)")
    _common(add)
    add.add_argument("host", metavar="HOST", help="the host's name in environment.cfg")
    key = add.add_mutually_exclusive_group(required=True)
    key.add_argument("--key", help='its public key: "ssh-ed25519 AAAA..."')
    key.add_argument(
        "--keyscan", metavar="FILE",
        help="ssh-keyscan output to take its ed25519 (else RSA) key from; - = stdin",
    )  # fmt: skip
    add.set_defaults(func=_add_host)

    remove = commands.add_parser("remove-host", help="a host no longer decrypts the secrets")
    _common(remove)
    remove.add_argument("host", metavar="HOST")
    remove.set_defaults(func=_remove_host)

    recipients = commands.add_parser("recipients", help="which hosts and people can decrypt what")
    _common(recipients)
    recipients.set_defaults(func=_recipients)

    rekey = commands.add_parser("rekey", help="encrypt every file anew to its members")
    _common(rekey)
    rekey.set_defaults(func=_rekey)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("environment", metavar="ENV", help="the environment")
    parser.add_argument(
        "-C", dest="repository", default=".", metavar="REPOSITORY",
        help="the deployment repository (default: the current directory)",
    )  # fmt: skip
    parser.add_argument(
        "--identity", action="append", dest="identities", metavar="FILE",
        help="decrypt with this SSH private key or age identity file "
        "(repeatable; default $BATOU_AGE_IDENTITIES, else ~/.ssh/id_*)",
    )  # fmt: skip
    parser.add_argument("--gnupg-home", metavar="DIR", help="the gpg keyring for .gpg secrets")


def _environment(args: argparse.Namespace) -> Any:
    from daemon.secrets import Environment, SecretsOptions, operator_identities

    repository = Path(args.repository).absolute()
    if not (repository / "environments" / args.environment / "environment.cfg").is_file():
        raise _Usage(
            f"{repository}: no environments/{args.environment}/environment.cfg (run it in the "
            "deployment repository, or pass -C REPOSITORY)"
        )
    home = Path(os.path.abspath(args.gnupg_home)) if args.gnupg_home else None
    options = SecretsOptions(operator_identities(args.identities), home)
    return Environment(repository, args.environment, options)


class _Usage(Exception):
    pass


def _done(run: Any, args: argparse.Namespace) -> int:
    from daemon.secrets import ManageError

    try:
        written = run(_environment(args))
    except _Usage as error:
        print(f"deployd: {error}", file=sys.stderr)
        return 2
    except ManageError as error:
        print(f"deployd secrets: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("no changes")
    return 0


def _edit(args: argparse.Namespace) -> int:
    from daemon.secrets import edit_config, edit_file, edit_host, run_editor

    if args.name and args.host:
        print("deployd: edit NAME and --host HOST exclude each other", file=sys.stderr)
        return 2
    editor = args.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"

    def edit(text: str, name: str) -> str:
        return run_editor(editor, text, name)

    if args.host:
        return _done(lambda env: edit_host(env, args.host, edit), args)
    if args.name:
        return _done(lambda env: edit_file(env, args.name, edit), args)
    return _done(lambda env: edit_config(env, edit), args)


def _add_host(args: argparse.Namespace) -> int:
    from daemon.secrets import add_host

    key = args.key
    if args.keyscan:
        try:
            key = _from_keyscan(args.keyscan)
        except (OSError, ValueError) as error:
            print(f"deployd: --keyscan {args.keyscan}: {error}", file=sys.stderr)
            return 2
    return _done(lambda env: add_host(env, args.host, key), args)


def _from_keyscan(source: str) -> str:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    keys: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 3 and not line.startswith("#"):
            keys.setdefault(words[1], f"{words[1]} {words[2]}")
    for kind in ("ssh-ed25519", "ssh-rsa"):
        if kind in keys:
            return keys[kind]
    raise ValueError("no ssh-ed25519 or ssh-rsa key in it")


def _remove_host(args: argparse.Namespace) -> int:
    from daemon.secrets import remove_host

    return _done(lambda env: remove_host(env, args.host), args)


def _rekey(args: argparse.Namespace) -> int:
    from daemon.secrets import rekey

    return _done(rekey, args)


def _recipients(args: argparse.Namespace) -> int:
    from components_runtime.envconfig import load_environment_config
    from components_runtime.errors import ConfigurationError
    from daemon.secrets import environment_recipients, render

    try:
        env = _environment(args)
        hosts = list(load_environment_config(env.repository, env.name).hosts)
    except (_Usage, ConfigurationError) as error:
        print(f"deployd: {error}", file=sys.stderr)
        return 2
    layout = env.layout
    if layout.empty:
        print(f"environments/{env.name} has no secrets")
        return 0
    found = environment_recipients(env.repository, layout, set(hosts), env.options.gnupg_home)
    for line in render(found, hosts):
        print(line)
    return 0


__all__ = ["register"]
