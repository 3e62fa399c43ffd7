"""The repository over SSH: a real sshd on 127.0.0.1 (git_servers.Sshd), started as root.

One sshd (module scope) serves every repository under the test's temporary directories: the
URL's path is the repository's absolute path. The client key and a known hosts file with the
server's key are made once; each test makes its own repository.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.config.settings import parse_settings
from daemon.git.mirror import FetchError, Mirror
from daemon.git.ssh import SshOptions, explain, is_ssh_url, ssh_command, ssh_environment
from daemon.git.urls import local_repository_path, normalise_url
from tests.support.daemon_helpers import make_deploy_repo, push_content, run_daemon
from tests.support.git_servers import SSHD, Sshd, free_port
from tests.support.helpers import git, wait_for
from tests.support.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "daemon.md"

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="sshd as root (the CI runs as root)")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not SSHD.exists():
        pytest.fail("no /usr/sbin/sshd: run .ci/install-system (it installs openssh-server)")
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    try:  # stopped even when it never came up (a start that timed out leaves it running)
        server.start()
        yield server
    finally:
        server.stop()


# -- the ssh command ---------------------------------------------------------------------------
def test_the_ssh_command_never_prompts_and_quotes_paths() -> None:
    options = SshOptions(Path("/etc/deploy d/key's"), Path('/etc/%h "x"\\/known hosts'), 7)
    words = shlex.split(ssh_command(options))
    assert words[0] == "ssh" and "BatchMode=yes" in words and "ConnectTimeout=7" in words
    assert words[words.index("-i") + 1] == "/etc/deploy d/key's"  # ssh takes -i as it is
    percent = shlex.split(ssh_command(SshOptions(Path("/etc/100%/key"))))
    assert 'IdentityFile="/etc/100%%/key"' in percent and "-i" not in percent
    assert 'UserKnownHostsFile="/etc/%%h \\"x\\"\\\\/known hosts"' in words
    assert "StrictHostKeyChecking=yes" in words and "IdentitiesOnly=yes" in words
    assert shlex.split(ssh_command(SshOptions())) == [
        "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"
    ]  # fmt: skip


def test_the_operators_ssh_command_is_kept_unless_the_settings_are_set(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.environ["PATH"]}
    url, set_ = "git@git.example.com:ops/deploy.git", SshOptions(key=Path("/k"))
    assert ssh_environment(url, SshOptions(), home)["GIT_SSH_COMMAND"].startswith("ssh -o Batch")
    assert ssh_environment("https://h/r.git", set_, home) == {}
    operator = {**home, "GIT_SSH_COMMAND": "ssh -F /etc/deployd/ssh_config"}
    assert ssh_environment(url, SshOptions(), operator) == {}
    assert ssh_environment(url, SshOptions(), {**home, "GIT_SSH": "/usr/bin/my-ssh"}) == {}
    assert "-i /k" in ssh_environment(url, set_, operator)["GIT_SSH_COMMAND"]
    (tmp_path / ".gitconfig").write_text("[core]\n\tsshCommand = ssh -i /root/.ssh/deploy\n")
    assert ssh_environment(url, SshOptions(), home) == {}


@pytest.mark.parametrize(
    ("url", "ssh"),
    [
        ("git@git.example.com:ops/deploy.git", True),
        ("deploy-host:ops/deploy.git", True),  # the user from ~/.ssh/config
        ("deploy-host:/srv/deploy.git", True),
        ("[::1]:/srv/deploy.git", True),
        ("ssh://git@h:2222/r.git", True),
        ("git+ssh://h/r.git", True),
        ("/srv/deploy:2024", False),  # a slash before the colon: a path, as for git
        ("./deploy:2024", False),
        ("deploy", False),
        ("https://h/r.git", False),
    ],
)
def test_ssh_urls_are_told_from_local_paths_as_git_does(url: str, ssh: bool) -> None:
    assert is_ssh_url(url) is ssh
    if ssh:
        assert normalise_url(url) == url and local_repository_path(url) is None


def test_the_hint_for_a_host_without_user_names_the_host() -> None:
    hint = explain("Host key verification failed.", "deploy-host:ops/x.git").hint or ""
    assert "`ssh-keyscan deploy-host >> /etc/deployd/known_hosts`" in hint


ACCESS = "fatal: Could not read from remote repository.\n\nPlease make sure you have the correct"


@pytest.mark.parametrize(
    ("stderr", "transient", "hint"),
    [
        ("ssh: connect to host h port 22: Connection refused", True, None),
        ("ssh: connect to host h port 22: Connection timed out", True, None),
        ("ssh: connect to host h port 22: No route to host", True, None),
        ("ssh: Could not resolve hostname h: Name or service not known", True, None),
        ("fatal: unable to look up h (port 9418) (Name or service not known)", True, None),
        ("kex_exchange_identification: read: Connection reset by peer", True, None),
        ("git@h: Permission denied (publickey).", False, "ssh-keygen -y -f KEY"),
        ("Host key verification failed.", False, "ssh-keyscan -p 2222 h >>"),
        ("Host key for [h]:2222 has changed and you have requested strict", False, "changed"),
        ('Load key "/k": bad permissions\ngit@h: Permission denied (publickey).', False, "600"),
        ("fatal: '/x.git' does not appear to be a git repository", False, "path"),
        ("ERROR: Repository not found.", False, "path"),
    ],
)
def test_ssh_failures_are_sorted(stderr: str, transient: bool, hint: str | None) -> None:
    why = explain(f"{stderr}\n{ACCESS}\nand the repository exists.", "ssh://git@h:2222/r.git")
    assert why.transient is transient
    assert (why.hint is None) if hint is None else (hint in (why.hint or ""))
    assert "Please make sure" not in why.summary and why.summary


def test_the_hints_name_the_files_set_or_the_settings_to_set() -> None:
    text = f"Host key verification failed.\n{ACCESS}"
    plain = explain(text, "git@git.example.com:ops/deploy.git").hint or ""
    assert "`ssh-keyscan git.example.com >> /etc/deployd/known_hosts`" in plain
    assert "set ssh_known_hosts to that file" in plain
    options = SshOptions(Path("/etc/my key"), Path("/etc/known hosts"))
    named = explain(text, "ssh://git@h:2222/r.git", options).hint or ""
    assert "add it to /etc/known hosts, e.g. `ssh-keyscan -p 2222 h >> '/etc/known hosts'`" in named
    assert "set ssh_known_hosts" not in named
    refused = explain("git@h: Permission denied (publickey).", "git@h:r", options).hint or ""
    assert "`ssh-keygen -y -f '/etc/my key'`" in refused


# -- a real sshd ---------------------------------------------------------------------------------
def test_a_mirror_fetches_over_ssh(sshd: Sshd, tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "deploy")
    mirror = Mirror(tmp_path / "mirror.git", sshd.url(repo), "main", ssh=sshd.options())
    head = git("rev-parse", "HEAD", cwd=repo)
    assert mirror.remote_head() == head and mirror.fetch() == head
    assert "ssh" not in (tmp_path / "mirror.git" / "config").read_text(), "env only"


@pytest.mark.parametrize(
    ("case", "expected", "hint"),
    [
        ("unknown host", "No ED25519 host key is known", "add it to {known_hosts}"),
        ("refused key", "Permission denied (publickey)", "ssh-keygen -y -f {key}`"),
        ("no repository", "does not appear to be a git repository", "check the path"),
        ("changed host key", "REMOTE HOST IDENTIFICATION HAS CHANGED", "in {known_hosts} with"),
        ("open key", "bad permissions", "chmod 600 {key}"),
        ("missing key", "not accessible", "{key} cannot be read"),
    ],
)
def test_permanent_ssh_failures_say_what_to_do(
    sshd: Sshd, tmp_path: Path, case: str, expected: str, hint: str
) -> None:
    repo = make_deploy_repo(tmp_path / "deploy")
    empty, changed = tmp_path / "known_hosts", tmp_path / "changed_known_hosts"
    empty.write_text("")
    other = " ".join((sshd.base / "other_key.pub").read_text().split()[:2])
    changed.write_text(f"[127.0.0.1]:{sshd.port} {other}\n")
    open_key = tmp_path / "open_key"
    shutil.copy(sshd.client_key, open_key)
    open_key.chmod(0o644)
    options = {
        "unknown host": sshd.options(known_hosts=empty),
        "refused key": sshd.options(key=sshd.other_key),
        "no repository": sshd.options(),
        "changed host key": sshd.options(known_hosts=changed),
        "open key": sshd.options(key=open_key),
        "missing key": sshd.options(key=tmp_path / "gone"),
    }[case]
    url = sshd.url(tmp_path / "nothere" if case == "no repository" else repo)
    with pytest.raises(FetchError) as caught:
        Mirror(tmp_path / "mirror.git", url, "main", ssh=options).remote_head()
    message = str(caught.value)
    assert not caught.value.transient, message
    assert expected in message
    assert hint.format(known_hosts=options.known_hosts, key=options.key) in message
    if case == "unknown host":
        assert f"ssh-keyscan -p {sshd.port} 127.0.0.1" in message


@pytest.mark.parametrize("name", ['deploy d "q" \\ \'s', "100% %h"])  # -i KEY; the option form
def test_files_with_blanks_quotes_and_percent_signs_reach_ssh(
    sshd: Sshd, tmp_path: Path, name: str
) -> None:
    """ssh re-parses option values (splits at blanks, expands %h): the paths must survive."""
    odd = tmp_path / name
    odd.mkdir()
    key, known_hosts = odd / "key", odd / "known hosts"
    shutil.copy(sshd.client_key, key)
    shutil.copy(sshd.known_hosts, known_hosts)
    repo = make_deploy_repo(tmp_path / "deploy")
    options = sshd.options(key=key, known_hosts=known_hosts)
    mirror = Mirror(tmp_path / "mirror.git", sshd.url(repo), "main", ssh=options)
    assert mirror.remote_head() == git("rev-parse", "HEAD", cwd=repo)


def test_a_server_that_does_not_answer_is_transient(sshd: Sshd, tmp_path: Path) -> None:
    url = f"ssh://root@127.0.0.1:{free_port()}/srv/deploy.git"
    with pytest.raises(FetchError) as caught:
        Mirror(tmp_path / "mirror.git", url, "main", ssh=sshd.options()).remote_head()
    assert caught.value.transient and "Connection refused" in str(caught.value)


def test_the_documented_setup_works(sshd: Sshd, tmp_path: Path) -> None:
    """docs/daemon.md "Pulling over SSH": its commands and its settings, pointed at our sshd."""
    section = DOC.read_text().split("## Pulling over SSH\n", 1)[1].split("\n## ", 1)[0]
    shell, toml = (re.search(rf"```{kind}\n(.*?)```", section, re.S) for kind in ("sh", "toml"))
    assert shell and toml
    etc, repo = tmp_path / "etc", make_deploy_repo(tmp_path / "deploy")
    script = shell.group(1).replace("/etc/deployd", str(etc))
    script = script.replace("git.example.com", f"-p {sshd.port} 127.0.0.1")
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], check=True, capture_output=True)
    with (sshd.base / "authorized_keys").open("a") as keys:  # what the git server's admin does
        keys.write((etc / "deploy_key.pub").read_text())
    text = toml.group(1).replace("/etc/deployd", str(etc))
    text = re.sub(r'(?m)^repository = ".*"$', f'repository = "{sshd.url(repo)}"', text)
    settings = parse_settings(text, tmp_path / "deployd.toml")
    assert settings.ssh_key == etc / "deploy_key"
    options = SshOptions(settings.ssh_key, settings.ssh_known_hosts)
    mirror = Mirror(tmp_path / "mirror.git", settings.repository, "main", ssh=options)
    assert mirror.remote_head() == git("rev-parse", "HEAD", cwd=repo)


def test_a_server_that_never_greets_times_out_quickly(sshd: Sshd, tmp_path: Path) -> None:
    """ConnectTimeout, not the fetch limit, ends a connection that hangs (transient)."""
    with socket.socket() as silent:  # the kernel accepts connections; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"ssh://root@127.0.0.1:{silent.getsockname()[1]}/srv/deploy.git"
        options = SshOptions(sshd.client_key, sshd.known_hosts, connect_timeout=1)
        mirror = Mirror(tmp_path / "mirror.git", url, "main", timeout=60, ssh=options)
        with pytest.raises(FetchError) as caught:
            mirror.remote_head()
    assert caught.value.transient
    assert "Connection timed out during banner exchange" in str(caught.value)


def test_the_fetch_limit_still_ends_a_command_that_hangs(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"git://127.0.0.1:{silent.getsockname()[1]}/deploy"
        with pytest.raises(FetchError) as caught:
            Mirror(tmp_path / "mirror.git", url, "main", timeout=1).remote_head()
    assert caught.value.transient and str(caught.value).startswith(
        "git ls-remote: timed out after 1s"
    )


# -- the daemon ----------------------------------------------------------------------------------
def test_the_daemon_follows_a_repository_over_ssh(sshd: Sshd, tmp_path: Path) -> None:
    """Converge, see a push, survive sshd going away (transient: retried), recover."""
    repo = make_deploy_repo(tmp_path / "deploy")
    settings = {"ssh_key": str(sshd.client_key), "ssh_known_hosts": str(sshd.known_hosts)}
    with run_daemon(tmp_path, sshd.url(repo), poll_interval=0.3, retry_max=1, **settings) as d:
        d.wait_run(trigger="startup", outcome="succeeded", timeout=60)
        assert (d.root / "work/hello/hello.txt").read_text() == "hello version 1\n"
        sha = push_content(repo, "version 2")
        d.wait_run(trigger="poll", commit__sha=sha, outcome="succeeded")
        sshd.stop()
        try:
            wait_for(lambda: d.status()["state"]["last_fetch_error"])
            assert "Connection refused" in d.status()["state"]["last_fetch_error"]
            wait_for(lambda: "retry in" in d.output())
            sha = push_content(repo, "while away")
        finally:
            sshd.start()
        d.wait_run(trigger="poll", commit__sha=sha, outcome="succeeded")
        assert d.status()["state"]["last_fetch_error"] is None
        assert (d.root / "work/hello/hello.txt").read_text() == "hello while away\n"
        assert "Traceback" not in d.output()


def test_the_daemon_explains_an_unknown_host_key(sshd: Sshd, tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "deploy")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    settings = {"ssh_key": str(sshd.client_key), "ssh_known_hosts": str(empty)}
    with run_daemon(tmp_path, sshd.url(repo), poll_interval=0.3, **settings) as daemon:
        error = wait_for(lambda: daemon.status()["state"]["last_fetch_error"])
        assert "Host key verification failed" in error
        assert f"`ssh-keyscan -p {sshd.port} 127.0.0.1 >> {empty}`" in error
        assert "fetch error" in daemon.cli("status").stdout
        assert "Traceback" not in daemon.output() and daemon.alive()
        empty.write_text(sshd.known_hosts.read_text())  # the operator's fix, no restart needed
        daemon.wait_run(trigger="startup", outcome="succeeded", timeout=60)


def test_the_scp_form_through_the_operators_ssh_config(sshd: Sshd, tmp_path: Path) -> None:
    """``host:path`` has no port (nor here a user): an ssh config ``Host`` alias gives them,
    reached through the operator's own ``GIT_SSH_COMMAND`` (kept, since ssh_key and
    ssh_known_hosts are unset)."""
    repo = make_deploy_repo(tmp_path / "deploy")
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host deploy-test\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {sshd.client_key}\n  IdentitiesOnly yes\n  BatchMode yes\n"
        f"  UserKnownHostsFile {sshd.known_hosts}\n  StrictHostKeyChecking yes\n"
    )
    env = {"GIT_SSH_COMMAND": f"ssh -F {shlex.quote(str(config))}"}
    with run_daemon(tmp_path, f"deploy-test:{repo}", env=env) as daemon:
        run = daemon.wait_run(trigger="startup", timeout=60)
        assert run["outcome"] == "succeeded", daemon.output()
        assert (daemon.root / "work/hello/hello.txt").exists()


def test_a_key_others_can_read_stops_startup(sshd: Sshd, tmp_path: Path) -> None:
    key = tmp_path / "open_key"
    shutil.copy(sshd.client_key, key)
    key.chmod(0o644)
    repo = make_deploy_repo(tmp_path / "deploy")
    with run_daemon(tmp_path, sshd.url(repo), ssh_key=str(key), may_fail=True) as daemon:
        assert daemon.process.wait(30) == 2
    output = daemon.output()
    assert f"ssh_key: {key} is readable by others, so ssh would ignore it: chmod 600" in output
    assert "Traceback" not in output


def test_a_malformed_url_is_permanent_not_retried_with_backoff(tmp_path: Path) -> None:
    """git's own words for a URL curl cannot parse (real git; no network is reached)."""
    done = subprocess.run(
        ["git", "ls-remote", "https://exa mple.com/x"], capture_output=True, text=True, cwd=tmp_path
    )
    why = explain(done.stderr, "https://exa mple.com/x")
    assert done.returncode != 0 and not why.transient, done.stderr
    assert "malformed" in (why.hint or "")
