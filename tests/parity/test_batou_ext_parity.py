"""batou_ext 2.5.5 under deployd: every module imports, and its components converge as batou's.

A repository lists ``batou_ext`` in its requirements (and ``boto3`` and ``passlib``, which two of
its modules import); deployd installs it with the batou it depends on, and serves ``batou.*``
to it from its own runtime and, for the ``batou.lib`` modules it has not, from that batou.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.batou_lib_parity import Pair, offline_environment
from tests.support.parity_helpers import write_repo
from tests.support.services import batou_ext_environment, batou_ext_site

pytestmark = pytest.mark.slow

# Every module of batou_ext 2.5.5 (its packages postfixadmin and roundcube included).
MODULES = (
    "acl", "archive", "config", "cron", "fcio", "file", "geoip", "git", "htpasswd", "http",
    "jenkins", "journalbeat", "keypair", "mail", "mailhog", "memcached", "mirror", "mysql",
    "nfs", "nix", "nixos", "oci", "php", "postfixadmin", "postgres", "python", "rabbitmq",
    "redis", "roundcube", "run", "s3", "s3_bootstrap", "ssh", "ssl", "systemd", "versions",
)  # fmt: skip
REQUIREMENTS = "batou==2.7.1\nbatou_ext==2.5.5\nboto3\npasslib\n"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deployd's state directory for the module: the venv with batou_ext is built once."""
    return tmp_path_factory.mktemp("deployd-state")


def test_every_batou_ext_module_imports(tmp_path: Path, state: Path) -> None:
    imports = "".join(f"import batou_ext.{name}\n" for name in MODULES)
    component = imports + (
        "from batou.component import Component\n\n\n"
        "class Imported(Component):\n"
        "    modules = " + repr(MODULES) + "\n"
    )
    repo = write_repo(tmp_path / "repo", {
        "requirements.txt": REQUIREMENTS,
        "components/imported/component.py": component,
        "environments/dev/environment.cfg": "[environment]\nconnect_method = local\n\n"
                                            "[hosts]\nlocalhost = imported\n",
    })  # fmt: skip
    command = [sys.executable, "-m", "daemon.cli", "check", str(repo), "-e", "dev",
               "--host", "localhost", "--state-dir", str(state)]  # fmt: skip
    env = {**offline_environment(), **batou_ext_environment()}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("check passed: environment dev, localhost")
    assert len(MODULES) == 36


APP = """\
import batou_ext.config
import batou_ext.cron
import batou_ext.file
import batou_ext.python
import batou_ext.ssh
import batou_ext.ssl
from batou.component import Component
from batou.lib.file import File


class App(Component):
    def configure(self):
        self += batou_ext.ssh.SSHKeyPair(
            id_ed25519="-----BEGIN OPENSSH PRIVATE KEY-----\\nnot a key\\n"
                       "-----END OPENSSH PRIVATE KEY-----",
            id_ed25519_pub="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIParity parity@test",
            provide_itself=False,
        )
        # a key and certificate given (no Let's Encrypt): files, and an ACL for the web server
        self += batou_ext.ssl.Certificate(
            "example.com", use_letsencrypt=False, key_content="KEY\\n", crt_content="CRT\\n",
            granted_user="nobody", enable_check=False)
        self += File("app.conf.in", content="port = 80\\nhost = localhost\\n")
        self += batou_ext.config.RegexPatch(
            "app.conf", source="app.conf.in", pattern=r"^port = \\d+", replacement="port = 8080")
        self += File("releases/v2", ensure="directory", leading=True)
        self += batou_ext.file.SymlinkAndCleanup(
            self.expand("{{component.workdir}}/releases/v2"), pattern="v*")
        self += File("requirements-app.txt", content="packaging==26.4\\n")
        self += batou_ext.python.VirtualEnvRequirements(
            version="3.11", requirements_path="requirements-app.txt")
        self += batou_ext.cron.CronJob(
            "cleanup", command="bin/cleanup", timing="*/4 * * * *", timeout="3m")
"""


def test_a_batou_ext_repository_converges_as_with_batou(tmp_path: Path, state: Path) -> None:
    home = tmp_path / "home"  # ~/.ssh and ~/.deployment-trash, the same path for both tools
    home.mkdir()
    env = {**batou_ext_environment(), "HOME": str(home)}
    batou_env = {**env, "PYTHONPATH": str(batou_ext_site())}
    pair = Pair(tmp_path / "pair", {
        "requirements.txt": REQUIREMENTS,
        "components/app/component.py": APP,
        "components/crontab/component.py": "from batou.lib.cron import CronTab\n",
        "components/logrotate/component.py": "from batou.lib.logrotate import Logrotate\n",
        # DeploymentTrash writes /etc/local/nixos/trash.nix: the sandbox keeps it in the tree
        "environments/dev/environment.cfg": "[environment]\nconnect_method = local\n\n"
                                            "[vfs]\nsandbox = Developer\n\n"
                                            "[hosts]\nlocalhost = app, crontab, logrotate\n",
    }, state, envs=(batou_env, env))  # fmt: skip
    pair.converge()
    pair.converge()
    from tests.parity.test_batou_lib_services_parity import assert_same

    assert_same(pair)
    (batou, deployd), (batou_again, _) = pair.rounds
    assert batou.status == deployd.status == 0, deployd.output[-3000:]
    tree = batou.tree
    ssh = f"_{home}/.ssh"
    assert tree[f"{ssh}/id_ed25519"][0] == 0o600
    assert tree[f"{ssh}/id_ed25519.pub"][3].startswith(b"ssh-ed25519 ")
    assert tree["app/example.com.key"][3] == b"KEY\n"  # its mode: 0600, then the ACL's mask
    assert tree["app/example.com.crt"][3] == b"CRT\n"
    assert tree["app/app.conf"][3] == b"port = 8080\nhost = localhost\n"
    assert tree["app/releases/current"] == ("link", "v2")
    assert b"trashdir" not in tree["_/etc/local/nixos/trash.nix"][3]
    assert (
        b"*/4 * * * *  timeout 3m  WORK/app/cleanup.sh  >> WORK/app/logs/cleanup.log 2>&1"
        in (tree["crontab/crontab"][3])
    )
    assert any(key.endswith("packaging-26.4.dist-info") for key in tree)
    # batou_ext's own quirks, the same under both: the key's Mode and its ACL undo each other
    # (the ACL's mask is the group bits), SymlinkAndCleanup finds `current` itself matching
    # its pattern, and VirtualEnvRequirements reinstalls whenever its parent changed.
    assert batou_again.components == [
        "App > Certificate('example.com') > File('work/app/example.com.key') > "
        "Mode('example.com.key')",
        "App > Certificate('example.com') > ACL('WORK/app/example.com.key')",
        "App > SymlinkAndCleanup('v2')",
        "App > VirtualEnvRequirements",
    ]
