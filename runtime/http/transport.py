"""Byte IO for one connection: a fast path for plain TCP sockets, a generic path for any Trio stream.

What lives here: `transport_for(stream)`, returning an object with ``await recv()`` and
``await send(data)``. For a ``trio.SocketStream`` it talks to the underlying non-blocking socket
directly (wait for readiness, then one syscall), which costs a fraction of
``SocketStream``'s generic machinery per call; for anything else (TLS, in-memory test streams) it
delegates to ``receive_some`` / ``send_all``. Both raise ``trio.BrokenResourceError`` when the peer is
gone. ``recv`` is always a Trio checkpoint; the socket ``send`` only yields when it has to wait, so a
loop must ``recv`` (as the HTTP connection loop does) to stay fair.

What must never live here: HTTP, timeouts (callers wrap these in cancel scopes), or buffering policy.
"""

from __future__ import annotations

import socket

import trio

RECEIVE_SIZE = 64 * 1024

_wait_readable = trio.lowlevel.wait_readable
_wait_writable = trio.lowlevel.wait_writable


class SocketTransport:
    """Direct non-blocking IO on the socket under a ``trio.SocketStream``."""

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @property
    def raw_socket(self) -> socket.socket:
        """The socket itself (for watching it without reading: ``hangups``)."""
        return self._sock

    async def recv(self) -> bytes:
        # Wait first, then read: HTTP/1.1 clients mostly send one request and wait for the answer,
        # so a speculative read right after answering would nearly always fail (a syscall and a
        # Python exception for nothing). The wait is also the checkpoint that keeps us fair.
        sock = self._sock
        while True:
            await _wait_readable(sock)
            try:
                return sock.recv(RECEIVE_SIZE)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise trio.BrokenResourceError(exc) from exc

    async def send(self, data: bytes) -> None:
        sock = self._sock
        view: memoryview | None = None
        while True:
            try:
                sent = sock.send(data if view is None else view)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise trio.BrokenResourceError(exc) from exc
            if sent == len(data if view is None else view):
                return
            view = (memoryview(data) if view is None else view)[sent:]
            await _wait_writable(sock)


class StreamTransport:
    """Any ``trio.abc.Stream``."""

    __slots__ = ("_stream",)

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream

    async def recv(self) -> bytes:
        return await self._stream.receive_some(RECEIVE_SIZE)

    async def send(self, data: bytes) -> None:
        await self._stream.send_all(data)


def transport_for(stream: trio.abc.Stream) -> SocketTransport | StreamTransport:
    if type(stream) is trio.SocketStream:
        raw = getattr(stream.socket, "_sock", None)  # trio keeps the stdlib socket here
        if isinstance(raw, socket.socket) and raw.type == socket.SOCK_STREAM and not raw.getblocking():
            return SocketTransport(raw)
    return StreamTransport(stream)
