"""The fleet benchmark's git server: smart HTTP (``git http-backend`` as CGI) on 127.0.0.1, in a
process of its own so its CPU can be measured apart from the fleet. Every request is appended to
a log as ``<unix time> <path>`` (each host clones its own alias of the repository, so the path
names the host).

    python benchmarks/fleet_git_server.py BASE_DIR PORT_FILE LOG_FILE
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.git_servers import SmartHttp  # noqa: E402


def main() -> None:
    base, port_file, log_file = (Path(arg) for arg in sys.argv[1:4])
    server = SmartHttp(base)
    log = log_file.open("a", buffering=1)
    lock = threading.Lock()
    handler = server.server.RequestHandlerClass

    class Counting(handler):  # type: ignore[misc,valid-type]
        def _cgi(self) -> None:
            with lock:
                log.write(f"{time.time():.3f} {self.path.split('?')[0]}\n")
            super()._cgi()

    server.server.RequestHandlerClass = Counting
    server.start()
    port_file.write_text(str(server.port))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
