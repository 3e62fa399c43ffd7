"""Real git servers on 127.0.0.1 for tests: ``git daemon`` (git://), smart HTTP
(``git http-backend`` as CGI behind a ThreadingHTTPServer, optionally with basic auth) and
``sshd`` (ssh://, run as root)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from daemon.git.ssh import SshOptions
from tests.support.helpers import wait_for

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class GitDaemon:
    """``git daemon`` exporting every repository under ``base``; stop() and start() again."""

    def __init__(self, base: Path, port: int | None = None) -> None:
        self.base, self.port = base, port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> GitDaemon:
        self.process = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                f"--base-path={self.base}",
                "--export-all",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: answers(self.port))
        return self

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class SmartHttp:
    """Smart HTTP on 127.0.0.1 for the repositories under ``base``; ``auth=("u", "p")``
    makes it demand basic authentication."""

    def __init__(self, base: Path, auth: tuple[str, str] | None = None) -> None:
        expected = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() if auth else None

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._cgi()

            def do_POST(self) -> None:
                self._cgi()

            def _cgi(self) -> None:
                if expected and self.headers.get("Authorization") != f"Basic {expected}":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                env = {
                    **os.environ,
                    "GIT_PROJECT_ROOT": str(base),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "REMOTE_USER": "test",
                    "REMOTE_ADDR": "127.0.0.1",
                }
                done = subprocess.run(
                    ["git", "http-backend"], input=body, env=env, capture_output=True
                )
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(": ")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name: str, credentials: str = "") -> str:
        userinfo = f"{credentials}@" if credentials else ""
        return f"http://{userinfo}127.0.0.1:{self.port}/{name}"

    def start(self) -> SmartHttp:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
    )
    return path


class Sshd:
    """``sshd -D`` on 127.0.0.1 accepting ``client_key`` for root; stop() and start() again."""

    def __init__(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.base, self.port = base, free_port()
        self.host_key = _keygen(base / "host_key")
        self.client_key = _keygen(base / "client_key")
        self.other_key = _keygen(base / "other_key")  # a key the server does not know
        (base / "authorized_keys").write_text((base / "client_key.pub").read_text())
        public = " ".join((base / "host_key.pub").read_text().split()[:2])
        self.known_hosts = base / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public}\n")
        self.config = base / "sshd_config"
        self.config.write_text(
            f"ListenAddress 127.0.0.1\nPort {self.port}\nHostKey {self.host_key}\n"
            f"AuthorizedKeysFile {base / 'authorized_keys'}\nStrictModes no\n"
            f"PidFile {base / 'sshd.pid'}\nUsePAM no\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, repo: Path) -> str:
        return f"ssh://root@127.0.0.1:{self.port}{repo}"

    def options(self, **changes: Path) -> SshOptions:
        values = {"key": self.client_key, "known_hosts": self.known_hosts, **changes}
        return SshOptions(**values)

    def start(self) -> None:
        # sshd's privilege separation directory (built in). Left in place: it is the one the
        # openssh-server package uses, and another test run's sshd may need it meanwhile.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = (self.base / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config)], stdout=log, stderr=log
        )
        log.close()
        wait_for(lambda: answers(self.port) or self.process.poll() is not None)
        assert self.process.poll() is None, (self.base / "sshd.log").read_text()

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
