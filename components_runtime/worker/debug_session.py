"""The remote debugger of a worker in debug mode (``worker.debugging`` imports this
module only when a ``breakpoint()`` is reached, so pdb is never loaded otherwise)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pdb import Pdb
from types import FrameType
from typing import Any

from remote_pdb import LF2CRLF_FileWrapper, RemotePdb


class SessionPdb(RemotePdb):
    """remote-pdb's debugger on a socket that is already listening (so the port is known
    before blocking), telling the parent when the user lets the code run again."""

    def __init__(
        self,
        listener: socket.socket,
        on_attach: Callable[[], None],
        on_done: Callable[[], None],
        on_quit: Callable[[], None] = lambda: None,
    ) -> None:
        connection, _ = listener.accept()
        listener.close()
        self._quiet = True
        self.backup: list[Any] = []
        self.handle = LF2CRLF_FileWrapper(connection)
        self._on_attach = on_attach
        self._on_done = on_done
        self._on_quit = on_quit
        self._running = False
        Pdb.__init__(
            self,
            completekey="tab",
            stdin=self.handle,
            stdout=self.handle,
            nosigint=True,
            readrc=False,
        )

    def interaction(self, frame: FrameType | None, traceback: Any) -> None:
        if self._running:  # stopped again at a breakpoint set in this session
            self._running = False
            self._on_attach()
        super().interaction(frame, traceback)

    def do_continue(self, arg: str) -> bool | None:
        result = Pdb.do_continue(self, arg)
        self._release(close=not self.breaks)
        return result

    do_c = do_cont = do_continue

    def do_quit(self, arg: str) -> bool | None:
        self._on_quit()  # before BdbQuit unwinds: nothing after this may stop again
        self._release(close=False)  # RemotePdb.do_quit closes the connection itself
        quit_answer: bool | None = RemotePdb.do_quit(self, arg)
        return quit_answer

    do_q = do_exit = do_quit

    def do_EOF(self, arg: str) -> bool | None:  # noqa: N802 (cmd.Cmd's name)
        return self.do_quit(arg)

    def _release(self, *, close: bool) -> None:
        if not self._running:
            self._running = True
            self._on_done()
        if close:
            self.handle.close()
            self.handle.connection.close()


__all__ = ["SessionPdb"]
