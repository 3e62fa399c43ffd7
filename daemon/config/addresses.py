"""Where deployd's listeners are: the metrics address and the remote debugger's endpoint."""

from __future__ import annotations

import os
from collections.abc import Mapping

from daemon.config.defaults import DEBUG_HOST, DEBUG_PORT


def parse_listen(text: str) -> tuple[str, int] | None:
    """``"HOST:PORT"`` or ``"[V6]:PORT"`` into (host, port); ``""`` means no listener."""
    text = text.strip()
    if not text:
        return None
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(
            f"metrics_listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9477 or [::1]:9477"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"metrics_listen {text!r}: write an IPv6 address in brackets, [::1]:9477")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"metrics_listen {text!r}: the port must be a number from 0 to 65535")
    return host, int(port_text)


def debug_endpoint(environ: Mapping[str, str] = os.environ) -> tuple[str, int]:
    """Where remote-pdb listens, from ``REMOTE_PDB_HOST`` / ``REMOTE_PDB_PORT`` (as batou reads
    them; empty means the default). Raises ValueError for a port that is not a number."""
    host = environ.get("REMOTE_PDB_HOST") or DEBUG_HOST
    raw_port = environ.get("REMOTE_PDB_PORT") or str(DEBUG_PORT)
    try:
        port = int(raw_port)
    except ValueError:
        raise ValueError(f"REMOTE_PDB_PORT={raw_port!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"REMOTE_PDB_PORT={raw_port!r} is not a port number")
    return host, port
