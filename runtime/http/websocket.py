"""Hands an upgraded HTTP connection to trio-websocket.

What lives here: `ReplayStream` (a `trio.abc.Stream` that first gives back bytes the HTTP layer has
already consumed, then reads the socket), `is_websocket_upgrade`, `handshake_problem`, and
`run_websocket`, which lets trio-websocket perform the handshake itself on the replayed request head and
then runs the route's handler with the open `WebSocketConnection`.

The head replayed is the request line and header lines as parsed (names and values byte for byte, in
order), followed by whatever bytes arrived after the head.

What must never live here: HTTP parsing, routing decisions, or anything Consul specific.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import trio
import trio_websocket

from .request import Request

log = logging.getLogger("proconsul.http")

_CLOSE_TIMEOUT = 5.0  # seconds to finish the closing handshake after the handler returns


class ReplayStream(trio.abc.Stream):
    """Reads ``prefix`` first, then ``stream``; writes and closes go straight to ``stream``."""

    def __init__(self, stream: trio.abc.Stream, prefix: bytes) -> None:
        self.stream = stream
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        prefix = self._prefix
        if prefix:
            await trio.lowlevel.checkpoint()
            if max_bytes is None or max_bytes >= len(prefix):
                self._prefix = b""
                return prefix
            self._prefix = prefix[max_bytes:]
            return prefix[:max_bytes]
        return await self.stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        self._prefix = b""
        await self.stream.aclose()


def _header_value(req: Request, name: bytes) -> bytes | None:
    for n, v in req.raw_headers:
        if isinstance(n, str):
            n = n.encode("latin-1")
        if n.lower() == name:
            return v if isinstance(v, bytes) else v.encode("latin-1")
    return None


def is_websocket_upgrade(req: Request) -> bool:
    """GET with ``Upgrade: websocket`` (the parser already checked ``Connection: upgrade``)."""
    if req.method != "GET":
        return False
    value = _header_value(req, b"upgrade")
    return value is not None and value.strip().lower() == b"websocket"


def handshake_problem(req: Request) -> str | None:
    """Why trio-websocket would refuse this handshake, or None when it looks acceptable."""
    if req.http_version != "1.1":
        return "websocket upgrade requires HTTP/1.1"
    if _header_value(req, b"host") is None:
        return "websocket upgrade requires a Host header"
    if not _header_value(req, b"sec-websocket-key"):
        return "missing Sec-WebSocket-Key header"
    if _header_value(req, b"sec-websocket-version") != b"13":
        return "unsupported Sec-WebSocket-Version (need 13)"
    return None


def replay_head(req: Request) -> bytes:
    """The request head, re-serialised from what the parser delivered."""
    lines = [f"{req.method} {req.target} HTTP/1.1\r\n".encode("utf-8", "surrogateescape")]
    for n, v in req.raw_headers:
        lines.append(n if isinstance(n, bytes) else n.encode("latin-1"))
        lines.append(b": ")
        lines.append(v if isinstance(v, bytes) else v.encode("latin-1"))
        lines.append(b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


async def run_websocket(
    stream: trio.abc.Stream,
    req: Request,
    after_head: bytes,
    handler: Callable[[Request, trio_websocket.WebSocketConnection], Awaitable[None]],
    extra_headers: list[tuple[bytes, bytes]],
    handshake_timeout: float,
    on_open: Callable[[], None],
    on_close: Callable[[], None],
) -> None:
    """Complete the handshake on ``stream`` and run ``handler``; returns when the websocket is done.

    A handler exception is logged and the socket closed with code 1011; it never propagates.
    """
    replay = ReplayStream(stream, replay_head(req) + after_head)
    async with trio.open_nursery() as nursery:
        ws = None
        with trio.move_on_after(handshake_timeout):
            try:
                ws_request = await trio_websocket.wrap_server_stream(nursery, replay)
                ws = await ws_request.accept(extra_headers=extra_headers)
            except trio_websocket.ConnectionClosed:
                pass
        if ws is None:
            log.info("websocket handshake for %s from %s did not complete", req.raw_path, req.client)
            nursery.cancel_scope.cancel()
            return
        on_open()
        code, reason = 1000, None
        try:
            await handler(req, ws)
        except trio_websocket.ConnectionClosed:
            pass
        except Exception as exc:
            log.exception("websocket handler crashed on %s", req.raw_path)
            text = str(exc) or type(exc).__name__
            code, reason = 1011, text.encode()[:120].decode("utf-8", "ignore")
        finally:
            on_close()
            with trio.move_on_after(_CLOSE_TIMEOUT):
                await ws.aclose(code, reason)
            nursery.cancel_scope.cancel()
