"""Repository URLs: where a URL points, and how git gets its credentials without showing them.

Every text that may hold the repository URL passes through :func:`redact` before it reaches a
log, the status or a run record; :func:`git_environment` hands the URL and its secrets to git
through the environment, never on a command line.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from daemon.git.ssh import SshOptions, is_scp_form, ssh_environment

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false", "SSH_ASKPASS": "/bin/false"}
# Up to the last "@" of the authority: a password may hold a raw "@" (split_credentials takes
# it the same way), and no part of it may be left visible.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^/?#\s]+)@")


def redact(text: str) -> str:
    """Hide credentials in URLs: ``https://user:token@h`` -> ``https://***@h``; for ssh-like
    URLs the user name is kept and only a password is hidden."""

    def hide(match: re.Match[str]) -> str:
        scheme, info = match.group("scheme"), match.group("info")
        if scheme.lower().startswith("http"):
            return f"{scheme}***@"
        user = info.split(":", 1)[0]
        return f"{scheme}{user}:***@" if ":" in info else match.group(0)

    return _USERINFO.sub(hide, text)


def normalise_url(url: str) -> str:
    """A local path becomes an absolute path; URLs are kept as they are."""
    if "://" in url or is_scp_form(url):
        return url
    return str(Path(url).expanduser().resolve())


# Answers git's credential requests from the environment: the script (visible in `ps`) holds
# no secret. The empty helper first clears any helper configured elsewhere.
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'echo "username=$DEPLOYD_GIT_USERNAME"; echo "password=$DEPLOYD_GIT_PASSWORD"; }; f'
)


def git_environment(url: str, ssh: SshOptions | None = None) -> dict[str, str]:
    """The environment that points git at ``url`` without putting a secret on a command line,
    and, for an ssh URL, the non-interactive ssh command (see :mod:`daemon.git.ssh`).

    The URL reaches git through ``GIT_CONFIG_*`` (readable by root only), but git hands it to
    its remote helper as an argument (``git remote-https origin URL``, readable by every user
    in `ps`), so an http(s) URL's user and password are taken out of it and answered through a
    credential helper that reads them from the environment."""
    plain, username, password = split_credentials(url)
    config = [("remote.origin.url", plain)]
    env = {**GIT_ENV, **ssh_environment(plain, ssh or SshOptions())}
    if username is not None:
        config += [("credential.helper", ""), ("credential.helper", _CREDENTIAL_HELPER)]
        env["DEPLOYD_GIT_USERNAME"] = username
        env["DEPLOYD_GIT_PASSWORD"] = password or ""
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for number, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{number}"], env[f"GIT_CONFIG_VALUE_{number}"] = key, value
    return env


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``https://user:token@host/x`` -> (``https://host/x``, user, token); other URLs as is."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    plain = urlunsplit(parts._replace(netloc=host))
    return plain, unquote(user), unquote(password) if colon else None


def local_repository_path(url: str) -> Path | None:
    """The directory of a repository on this host (a path or ``file://``), else None."""
    if url.startswith("file://"):
        return Path(url[len("file://") :])
    if "://" in url or is_scp_form(url):
        return None
    return Path(url)
