"""Who is asking on the control socket: the kernel's answer (``SO_PEERCRED``), not the client's.

The socket's file mode already keeps out everyone outside its group; this decides, per request,
between reading and changing:

* **read** (``status``, ``history``, ``/metrics``): root, the daemon's own user, members of
  ``socket_group`` or of ``control_group``;
* **change** (``converge``, ``suspend``, ``resume``, ``trust``): root, the daemon's own user and
  members of ``control_group`` only.

The peer's groups are the ones its process holds (``SO_PEERGROUPS``), so a user added to a
group counts only after logging in again, the same rule as for the socket's file mode.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import socket
import struct
from dataclasses import dataclass

log = logging.getLogger(__name__)

SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)  # Linux 4.13; Python has no name for it
_MAX_GROUPS = 256  # Python reads at most 1024 bytes of an option; more groups: see below


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int
    groups: frozenset[int]

    @property
    def user(self) -> str:
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return str(self.uid)

    def describe(self) -> str:
        return f"{self.user} (uid {self.uid}, pid {self.pid})"


@dataclass(frozen=True)
class Access:
    """The gids that may read and change (None: the group does not exist on this host)."""

    read_gid: int | None
    control_gid: int | None
    owner_uid: int

    @classmethod
    def for_groups(cls, socket_group: str, control_group: str) -> Access:
        return cls(_gid(socket_group), _gid(control_group), os.geteuid())

    def may_change(self, peer: Peer) -> bool:
        if peer.uid in (0, self.owner_uid):
            return True
        return self.control_gid is not None and self.control_gid in peer.groups

    def may_read(self, peer: Peer) -> bool:
        if self.may_change(peer):
            return True
        return self.read_gid is not None and self.read_gid in peer.groups


def peer_of(connection: socket.socket) -> Peer:
    """The process at the other end of a connected unix socket."""
    size = struct.calcsize("3i")
    pid, uid, gid = struct.unpack(
        "3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size)
    )
    return Peer(pid, uid, gid, frozenset({gid, *_peer_groups(connection, uid, gid)}))


def _peer_groups(connection: socket.socket, uid: int, gid: int) -> list[int]:
    try:
        raw = connection.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, 4 * _MAX_GROUPS)
        return list(struct.unpack(f"{len(raw) // 4}I", raw))
    except OSError:  # an older kernel, or more groups than fit: the user database's view
        try:
            return os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)
        except KeyError:
            return []


def _gid(name: str) -> int | None:
    if not name:
        return None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None
