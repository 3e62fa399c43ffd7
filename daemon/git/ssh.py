"""git over SSH for the mirror: the ssh command git runs, and what its failures mean.

A daemon has nobody to answer a prompt, so git's ssh always runs with ``BatchMode=yes`` and a
connect timeout: a passphrase, an unknown host key or a password prompt fails at once instead
of hanging a poll until the fetch limit kills it. The command reaches git as
``GIT_SSH_COMMAND`` in git's environment (never as a setting in the mirror's config).

The settings ``ssh_key`` and ``ssh_known_hosts`` add ``-i KEY -o IdentitiesOnly=yes`` and
``-o UserKnownHostsFile=FILE -o StrictHostKeyChecking=yes`` (that file only: the system-wide
one is switched off). When neither is set and the operator already chose an ssh command
(``GIT_SSH_COMMAND`` or ``GIT_SSH`` in the daemon's environment, or git's ``core.sshCommand``),
that command is used untouched; the operator's ``~/.ssh/config`` applies either way, since we
never pass ``-F``.

:func:`explain` sorts a failed command's stderr: a server that cannot be reached is transient
(the loop retries with backoff); a refused key, an unknown or changed host key, a bad key file
or a missing repository is permanent and comes with what to do about it.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# git's scp form ``[user@]host:path``: a colon with no slash before it (``./a:b`` is a path).
_SCP_FORM = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>\[[^\]/]+\]|[^:/\[]+):")
_SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")
_OPERATOR_VARIABLES = ("GIT_SSH_COMMAND", "GIT_SSH")


@dataclass(frozen=True)
class SshOptions:
    """The operator's ssh settings for the mirror (both optional)."""

    key: Path | None = None
    known_hosts: Path | None = None
    connect_timeout: float = 15.0

    @property
    def configured(self) -> bool:
        return self.key is not None or self.known_hosts is not None


def is_ssh_url(url: str) -> bool:
    """``ssh://…``, ``git+ssh://…`` or the scp form ``[user@]host:path``."""
    if "://" in url:
        return urlsplit(url).scheme.lower() in _SSH_SCHEMES
    return is_scp_form(url)


def is_scp_form(url: str) -> bool:
    """``[user@]host:path``, as git tells it from a local path: a colon before any slash."""
    return "://" not in url and _SCP_FORM.match(url) is not None


def ssh_command(options: SshOptions) -> str:
    """The ``GIT_SSH_COMMAND`` for ``options``: shell-quoted (git runs it via sh), and each
    path quoted again for ssh's own option parser (see :func:`ssh_path_option`)."""
    timeout = max(1, round(options.connect_timeout))
    words = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={timeout}"]
    if options.key is not None:
        words += [*_identity(options.key), "-o", "IdentitiesOnly=yes"]
    if options.known_hosts is not None:
        words += ["-o", ssh_path_option("UserKnownHostsFile", options.known_hosts)]
        words += ["-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes"]
    return shlex.join(words)


def _identity(key: Path) -> list[str]:
    """``-i KEY``: ssh names a key it cannot read ("not accessible"), where the option form is
    silent until the server refuses. But ssh checks that file before expanding ``%`` tokens
    in it, so no spelling suits both steps: a path with ``%`` takes the option form."""
    if "%" in str(key):
        return ["-o", ssh_path_option("IdentityFile", key)]
    return ["-i", str(key)]


def ssh_path_option(name: str, path: Path) -> str:
    """``NAME="PATH"`` as ssh's option parser reads it back as ``PATH``: ssh splits an
    option's value at blanks (a known hosts value is a list of files), undoes backslash
    escapes and expands ``%`` tokens in file names. So the path goes in double quotes, with
    backslashes and double quotes escaped by a backslash and ``%`` doubled."""
    text = str(path).replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'{name}="{text}"'


def ssh_environment(
    url: str, options: SshOptions, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The variables git needs to reach ``url`` over ssh (empty for other URLs, and when the
    operator's own ssh command is to be used as it is)."""
    if not is_ssh_url(url):
        return {}
    operator = _operator_command(environ)
    if operator and not options.configured:
        log.info("fetch: using the operator's ssh command (%s)", operator)
        return {}
    if operator:
        log.warning(
            "fetch: ssh_key/ssh_known_hosts are set: they replace the ssh command from %s",
            operator,
        )
    return {"GIT_SSH_COMMAND": ssh_command(options)}


def _operator_command(environ: Mapping[str, str]) -> str | None:
    """Where the operator set an ssh command for git, if they did."""
    for name in _OPERATOR_VARIABLES:
        if environ.get(name):
            return name
    try:
        done = subprocess.run(
            ["git", "config", "--get", "core.sshCommand"],
            capture_output=True,
            text=True,
            env={**environ, "GIT_TERMINAL_PROMPT": "0"},
            cwd="/",
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return "core.sshCommand" if done.returncode == 0 and done.stdout.strip() else None


@dataclass(frozen=True)
class Explanation:
    """What a failed git command's stderr means: the lines that say it, retry or not, and
    what the operator can do."""

    summary: str
    transient: bool
    hint: str | None = None


# Checked in order: the first match decides. The hints are filled in by _hint_values.
_PERMANENT: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"host key for .* has changed|remote host identification has changed", re.I),
        "the server's host key changed: if that is expected (a reinstalled server), replace "
        "its line in {known_hosts_in_use} with the output of `ssh-keyscan {port}{host}`; "
        "otherwise the connection may be intercepted",
    ),
    (
        re.compile(r"host key verification failed|no \S+ host key is known", re.I),
        "the server's host key is not trusted: add it to {known_hosts}, e.g. "
        "`ssh-keyscan {port}{host} >> {known_hosts_file}` (compare its fingerprint with the "
        "server's first){set_known_hosts}",
    ),
    (
        re.compile(r"unprotected private key file|bad permissions", re.I),
        "ssh ignores a private key that others can read: chmod 600 {key}",
    ),
    (
        re.compile(r"identity file .* not accessible|no such identity", re.I),
        "{key} cannot be read: check the path and that the daemon's user owns it",
    ),
    (
        re.compile(r"permission denied \(|permission denied, please try again", re.I),
        "the server refused the key: give the server the public key of {key} "
        "(`ssh-keygen -y -f {key_file}`: its authorized_keys, or the repository's deploy keys), "
        "and check the user name in the repository URL; a key with a passphrase cannot be "
        "used (nobody can type it)",
    ),
    (
        re.compile(
            r"does not appear to be a git repository|repository not found|"
            r"repository '.*' not found|no such repository|not a git repository",
            re.I,
        ),
        "check the path in the repository URL, and that the daemon's credentials may read it",
    ),
    (
        re.compile(
            r"url using bad/illegal format|unsupported protocol|protocol .* is not supported"
            r"|invalid url|malformed url",
            re.I,
        ),
        "the repository URL is malformed: correct repository in the settings and restart",
    ),
)
_TRANSIENT = re.compile(
    r"could not resolve|connection refused|connection reset|timed out|timeout|"
    r"returned error: 5\d\d|unable to access|early eof|network is unreachable|"
    r"no route to host|could not read from remote|temporary failure|unexpected disconnect|"
    r"remote end hung up|unable to connect|service unavailable|connection closed by|"
    r"kex_exchange_identification|broken pipe|unable to look up|name or service not known",
    re.IGNORECASE,
)
# git's closing words after any ssh failure: they say nothing the lines above did not.
_BOILERPLATE = re.compile(
    r"^(fatal: could not read from remote repository|please make sure you have the correct|"
    r"and the repository exists|@+$|@.*@$)",
    re.I,
)


def explain(text: str, url: str, ssh: SshOptions | None = None) -> Explanation:
    """Sort git's stderr ``text`` for a command on ``url`` into transient or permanent."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for pattern, hint in _PERMANENT:
        matching = [line for line in lines if pattern.search(line)]
        if matching:
            values = _hint_values(url, ssh or SshOptions())
            return Explanation(_summary(matching[:3]), False, hint.format(**values))
    useful = [line for line in lines if not _BOILERPLATE.match(line)] or lines
    return Explanation(_summary(useful), bool(_TRANSIENT.search(text)))


def _summary(lines: list[str]) -> str:
    """One line for status and logs (ssh's banners lose their frame of ``@``)."""
    return "; ".join(line.strip("@ ").removeprefix("fatal: ").rstrip(".") for line in lines)


def _hint_values(url: str, ssh: SshOptions) -> dict[str, str]:
    """The server (``-p PORT `` when the URL has one: the scp form has none) and the files
    the operator set, or what to set, for the hints."""
    scp = _SCP_FORM.match(url) if "://" not in url else None
    parts = urlsplit(url)
    try:
        port = None if scp else parts.port
    except ValueError:
        port = None
    known = str(ssh.known_hosts) if ssh.known_hosts else None
    return {
        "host": scp.group("host").strip("[]") if scp else parts.hostname or "HOST",
        "port": f"-p {port} " if port else "",
        "known_hosts": known or "a known hosts file",
        "known_hosts_in_use": known or "the known hosts file",
        "known_hosts_file": shlex.quote(known or "/etc/deployd/known_hosts"),
        "set_known_hosts": "" if known else ", and set ssh_known_hosts to that file",
        "key": str(ssh.key) if ssh.key else "the daemon's ssh key (ssh_key)",
        "key_file": shlex.quote(str(ssh.key)) if ssh.key else "KEY",
    }
