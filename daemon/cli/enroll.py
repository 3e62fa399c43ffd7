"""``deployd init``: enrol this host in one command, and ``deployd configured`` for the unit.

    deployd init --repository URL --environment ENV [--host NAME] [--branch B] [--force]

In this order, stopping at the first failure with what to do:

1. refuse to replace a settings file that already sets something (``--force`` replaces it and
   keeps the old one as ``FILE.old``); the package's template sets nothing;
2. for an ssh repository: make the deploy key ``deploy_key`` next to the settings file and print
   its public half, and record the git server's host keys in ``known_hosts`` (both reused when
   they exist, so running init again never changes a key the server already knows);
3. print this host's SSH public key: what secrets are encrypted to;
4. fetch the branch into a temporary directory and run ``deployd check`` on it for this host
   (in the daemon's state dir, so its first converge reuses the venv the check built);
5. only then write the settings file (mode 0600: the URL may hold a token) and print the next
   command.

``deployd configured`` is the unit's ``ExecCondition=``: exit 0 when the settings file sets a
repository, 1 (systemd: "condition failed", the unit stays inactive, nothing is logged as a
failure) when it does not yet.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from daemon.cli.enroll_keys import (
    HOST_KEYS,
    EnrollError,
    deploy_key,
    host_public_key,
    known_hosts,
    ssh_server,
)
from daemon.config import ROOT, SETTINGS_FILE, STATE_DIR, settings_path

NEXT_COMMAND = "systemctl enable --now deployd"


def register(subparsers: Any) -> None:
    init = subparsers.add_parser(
        "init",
        help="enrol this host: write its settings after checking the repository",
        description="Write deployd's settings for this host, after checking that the "
        "repository can be fetched and that the environment has this host.",
    )
    init.add_argument("--repository", required=True, metavar="URL", help="the git repository")
    init.add_argument(
        "--environment", "-e", required=True, metavar="ENV", help="environments/ENV/environment.cfg"
    )
    init.add_argument(
        "--host",
        default="",
        metavar="NAME",
        help="the [host:NAME] section (default: this machine's short name)",
    )
    init.add_argument("--branch", default="main", metavar="B", help="default: main")
    init.add_argument(
        "--force", action="store_true", help="replace a settings file that already sets something"
    )
    _config_argument(init)
    init.add_argument(
        "--state-dir", metavar="DIR", help=f"written as state_dir (default {STATE_DIR})"
    )
    init.add_argument("--root", metavar="DIR", help=f"written as root (default {ROOT})")
    init.add_argument(
        "--host-key",
        type=Path,
        action="append",
        metavar="FILE",
        help="this host's SSH public key to print (default: "
        f"{', then '.join(map(str, HOST_KEYS))})",
    )
    init.set_defaults(func=run_init)

    configured = subparsers.add_parser(
        "configured",
        help="exit 0 when the settings set a repository (the unit's ExecCondition)",
    )
    _config_argument(configured)
    configured.set_defaults(func=run_configured)


def _config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        help=f"the settings file (default: $DEPLOYD_CONFIG or {SETTINGS_FILE})",
    )


def run_configured(args: argparse.Namespace) -> int:
    args.config = settings_path(args.config)
    try:
        data = tomllib.loads(args.config.read_text())
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError):
        return 0  # `deployd run` says what is wrong with the file, with its line
    if isinstance(data.get("repository"), str) and data["repository"].strip():
        return 0
    print(
        f"deployd: {args.config} sets no repository yet, so the service does not start; "
        "enrol this host with `deployd init --repository URL --environment ENV`",
        file=sys.stderr,
    )
    return 1


def run_init(args: argparse.Namespace) -> int:
    args.config = settings_path(args.config)
    try:
        return _enrol(args)
    except EnrollError as error:
        print(f"deployd: {error}", file=sys.stderr)
        print(f"deployd: {args.config} was not written.", file=sys.stderr)
        return 2


def _enrol(args: argparse.Namespace) -> int:
    from daemon.config import SettingsError, holds_settings, parse_settings, settings_text
    from daemon.git import SshOptions, is_ssh_url

    previous = _refuse_to_replace(args.config, args.force, holds_settings)
    values: dict[str, str] = {"repository": args.repository, "branch": args.branch}
    values["environment"] = args.environment
    if args.host:
        values["host"] = args.host
    for key in ("root", "state_dir"):
        if getattr(args, key):
            values[key] = os.path.abspath(getattr(args, key))
    ssh = SshOptions()
    if is_ssh_url(args.repository):
        ssh = _ssh_files(args, values)
    _show_host_key(tuple(args.host_key or HOST_KEYS))
    text = settings_text(values)
    try:
        parse_settings(text, args.config)  # every value checked before anything is fetched
    except SettingsError as error:
        raise EnrollError(str(error)) from None
    code = _check(args, ssh, values.get("state_dir", str(STATE_DIR)))
    if code != 0:
        print(
            f"deployd: the check failed (above): {args.config} was not written. Fix the "
            "repository, --environment or --host, and run this command again.",
            file=sys.stderr,
        )
        return code
    _write(args.config, text, previous)
    print(f"Wrote {args.config}.")
    print(f"Next: {NEXT_COMMAND}   (then `deployd status`)")
    return 0


def _refuse_to_replace(path: Path, force: bool, holds_settings: Any) -> str | None:
    """The old file's text when --force replaces one that sets something, else None."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise EnrollError(f"cannot read {path}: {error.strerror}") from None
    if not holds_settings(text):
        return None  # the package's template: nothing to lose
    if not force:
        raise EnrollError(
            f"{path} already holds settings: not replaced. Pass --force to replace it (the "
            f"old file is kept as {path}.old), or edit it by hand"
        )
    return text


def _ssh_files(args: argparse.Namespace, values: dict[str, str]) -> Any:
    from daemon.git import SshOptions

    folder = args.config.parent
    key_file, hosts_file = folder / "deploy_key", folder / "known_hosts"
    host_name = args.host or os.uname().nodename.split(".")[0]
    public, made = deploy_key(key_file, f"deployd@{host_name}")
    print(
        f"Deploy key ({'new' if made else 'existing'}: {key_file}); give the repository this "
        f"public key, read-only:\n    {public}"
    )
    server, port = ssh_server(args.repository)
    fingerprints, scanned = known_hosts(hosts_file, server, port)
    state = "recorded now: compare them with the server's own" if scanned else "already recorded"
    print(f"Host keys of {server} in {hosts_file} ({state}):")
    for line in fingerprints:
        print(f"    {line}")
    values["ssh_key"], values["ssh_known_hosts"] = str(key_file), str(hosts_file)
    return SshOptions(key=key_file, known_hosts=hosts_file)


def _show_host_key(candidates: tuple[Path, ...]) -> None:
    found = host_public_key(candidates)
    if found is None:
        print(
            f"note: this host has no SSH host key ({', '.join(map(str, candidates))}); "
            "secrets encrypted to hosts need one: `ssh-keygen -A` makes it"
        )
        return
    path, key = found
    print(f"This host's SSH public key ({path}), the recipient for its secrets:\n    {key}")


def _check(args: argparse.Namespace, ssh: Any, state_dir: str) -> int:
    """Fetch the branch into a temporary directory and run ``deployd check`` there."""
    from daemon.cli.local import run_check
    from daemon.cli.main import build_parser

    with tempfile.TemporaryDirectory(prefix="deployd-init-") as scratch:
        checkout = Path(scratch) / "repository"
        _fetch(args.repository, args.branch, checkout, ssh)
        # Through the real parser: every option of `check` gets its default.
        words = ["check", str(checkout), "-e", args.environment, "--state-dir", state_dir]
        check = build_parser().parse_args(words + (["--host", args.host] if args.host else []))
        print(
            f"Checking environment {args.environment} of {_shown(args.repository)} "
            f"({args.branch}) for this host:"
        )
        return run_check(check)


def _fetch(url: str, branch: str, target: Path, ssh: Any) -> None:
    from daemon.git import explain_git_failure, git_environment, split_credentials

    plain = split_credentials(url)[0]
    env = {**os.environ, **git_environment(url, ssh)}
    command = ["git", "clone", "--quiet", "--depth", "1", "--single-branch", "--branch", branch]
    try:
        done = subprocess.run(
            [*command, "--", plain, str(target)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        raise EnrollError(f"fetching {_shown(url)} took longer than 5 minutes") from None
    if done.returncode == 0:
        return
    if f"Remote branch {branch} not found" in done.stderr:
        raise EnrollError(
            f"{_shown(url)} has no branch {branch!r}: pass the right one with --branch"
        )
    why = explain_git_failure(done.stderr, url, ssh)
    hint = why.hint or (
        "check the URL, that this host can reach the server, and its credentials (a token "
        "in an https URL, the deploy key above for ssh)"
    )
    raise EnrollError(f"cannot fetch {_shown(url)}: {why.summary}. What to do: {hint}")


def _shown(url: str) -> str:
    from daemon.git import redact

    return redact(url)


def _write(path: Path, text: str, previous: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if previous is not None:
        old = path.with_name(path.name + ".old")
        old.write_text(previous)
        os.chmod(old, 0o600)
        print(f"Kept the previous settings as {old}.")
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


__all__ = ["register", "run_configured", "run_init"]
