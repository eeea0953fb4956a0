"""Noticing that a client went away while its request is handled, for many connections at once.

What lives here: `HangupPoller`, one per HTTP server: plain TCP sockets whose handler runs long (a
blocking query) are registered in one private epoll set, and one task waits on that set's descriptor.
When a registered socket turns readable the poller looks without consuming (``MSG_PEEK``) and reports
what it saw to the callback given at registration: ``"reset"`` (an error on the socket: the peer is
gone), ``"eof"`` (the peer closed, or half-closed, its side), or ``"data"`` (a pipelined next request,
left in the socket for the connection's own read). Each registration reports at most once and is
dropped before its callback runs.

Why not a watcher task per connection: registering and unregistering a descriptor is one cheap
syscall with nothing to cancel, where a task per parked request costs a spawn, a cancellation and a
join each time its handler finishes, which dominated the wake-up of 10,000 blocked queries. Streams
that are not plain sockets (TLS) keep the task-based watcher in ``server``.

What must never live here: HTTP, timeouts, or the connection's own reads.
"""

from __future__ import annotations

import select
import socket
from typing import Callable

import trio

Report = Callable[[str], None]  # "reset" | "eof" | "data"

_READABLE = select.EPOLLIN | select.EPOLLRDHUP
_BROKEN = select.EPOLLERR | select.EPOLLHUP


class HangupPoller:
    """Watch sockets for a peer hang-up without reading them (see the module docstring)."""

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._watched: dict[int, tuple[socket.socket, Report]] = {}
        self._wakeup = trio.Event()  # set when the first registration arrives while the loop idles

    def __len__(self) -> int:
        return len(self._watched)

    def watch(self, sock: socket.socket, report: Report) -> bool:
        """Start watching ``sock``; False if it cannot be watched (closed already)."""
        try:
            fd = sock.fileno()
            if fd < 0 or fd in self._watched:
                return False
            if self._epoll is None:
                self._epoll = select.epoll()
            self._epoll.register(fd, _READABLE)
        except (OSError, ValueError):
            return False
        self._watched[fd] = (sock, report)
        self._wakeup.set()
        return True

    def unwatch(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` (no-op if it is not watched). Call before the socket is closed."""
        try:
            fd = sock.fileno()
        except (OSError, ValueError):
            return
        if self._watched.pop(fd, None) is not None and self._epoll is not None:
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        self._watched.clear()
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None

    async def run(self) -> None:
        """Report hang-ups until cancelled."""
        try:
            while True:
                if not self._watched or self._epoll is None:
                    self._wakeup = trio.Event()
                    await self._wakeup.wait()
                    continue
                await trio.lowlevel.wait_readable(self._epoll.fileno())
                if self._epoll is None:
                    continue
                for fd, events in self._epoll.poll(0):
                    entry = self._watched.pop(fd, None)
                    try:
                        self._epoll.unregister(fd)
                    except (OSError, ValueError):
                        pass
                    if entry is not None:
                        sock, report = entry
                        report(_classify(sock, events))
        finally:
            self.close()


def _classify(sock: socket.socket, events: int) -> str:
    if events & select.EPOLLERR:
        return "reset"
    try:
        peeked = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return "data" if not events & (_BROKEN | select.EPOLLRDHUP) else "eof"
    except OSError:
        return "reset"
    return "data" if peeked else "eof"
