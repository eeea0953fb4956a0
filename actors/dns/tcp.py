"""DNS over TCP: length-prefixed messages on connections bounded in number and in time.

What lives here: `serve_tcp(listeners, handler, stats, max_connections)` and the per-connection
loop. Limits:

* at most ``max_connections`` open at once; one more is closed at once and counted (``tcp_rejected``);
* a length prefix below a DNS header (12) or above `MAX_QUERY_SIZE` closes the connection (no query
  is that large; refusing early bounds what one client can make us buffer);
* `IDLE_TIMEOUT` to start the next message, `READ_TIMEOUT` to finish one, `WRITE_TIMEOUT` to take a
  reply (Consul's DNS library uses 8 s idle and 2 s read/write): a silent or slow client is dropped.

Queries on one connection are answered in order. What must never live here: answering.
"""

from __future__ import annotations

from functools import partial
from typing import Awaitable, TypeVar

import trio

from actors.dns.framing import frame, receive_exactly
from actors.dns.query import QueryHandler
from actors.dns.stats import DnsStats

MIN_QUERY_SIZE = 12
MAX_QUERY_SIZE = 4096
IDLE_TIMEOUT = 8.0
READ_TIMEOUT = 2.0
WRITE_TIMEOUT = 2.0

T = TypeVar("T")

_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


async def serve_tcp(listeners: list[trio.SocketListener], handler: QueryHandler, stats: DnsStats,
                    max_connections: int) -> None:
    limiter = trio.CapacityLimiter(max_connections)
    await trio.serve_listeners(partial(_connection, handler=handler, stats=stats, limiter=limiter), listeners)


async def _connection(stream: trio.SocketStream, *, handler: QueryHandler, stats: DnsStats,
                      limiter: trio.CapacityLimiter) -> None:
    try:
        limiter.acquire_nowait()
    except trio.WouldBlock:
        stats.tcp_rejected += 1
        await stream.aclose()
        return
    stats.tcp_connections += 1
    try:
        async with stream:
            await _serve(stream, handler, stats)
    except _GONE:
        pass
    finally:
        stats.tcp_connections -= 1
        limiter.release()


async def _serve(stream: trio.SocketStream, handler: QueryHandler, stats: DnsStats) -> None:
    while True:
        prefix = await _within(IDLE_TIMEOUT, receive_exactly(stream, 2))
        if prefix is None:
            return
        length = int.from_bytes(prefix, "big")
        if not MIN_QUERY_SIZE <= length <= MAX_QUERY_SIZE:
            stats.tcp_closed_bad_length += 1
            return
        body = await _within(READ_TIMEOUT, receive_exactly(stream, length))
        if body is None:
            return
        reply = await handler.answer(body, "tcp")
        if reply is None:
            return
        sent = await _within(WRITE_TIMEOUT, _send(stream, frame(reply)))
        if sent is None:
            return


async def _send(stream: trio.SocketStream, data: bytes) -> bool:
    await stream.send_all(data)
    return True


async def _within(seconds: float, work: Awaitable[T]) -> T | None:
    """The result of awaiting ``work``, or None if it took longer than ``seconds``."""
    with trio.move_on_after(seconds):
        return await work
    return None
