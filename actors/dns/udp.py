"""DNS over UDP: one reader task, a bounded queue, and a fixed pool of workers.

What lives here: `serve_udp(sock, handler, stats, queue, workers)`. The reader only receives a datagram
and offers it to the queue without waiting; when the queue is full the datagram is dropped and counted
(``dropped``), so a flood costs one receive per packet and can never pile up memory or tasks. The
workers (a fixed number) answer queued datagrams one at a time each. Every receive and every answer is
a Trio checkpoint, so under a flood the scheduler still gives the HTTP API and the other actors their
turns; the in-flight work is bounded by ``workers`` and the backlog by the queue size.

What must never live here: answering (``query``) or binding (``server``).
"""

from __future__ import annotations

from typing import Any

import trio

from actors.dns.query import QueryHandler
from actors.dns.stats import DnsStats

MAX_DATAGRAM = 65535

Datagram = tuple[bytes, Any]


async def serve_udp(sock: trio.socket.SocketType, handler: QueryHandler, stats: DnsStats,
                    queue: tuple[trio.MemorySendChannel[Datagram], trio.MemoryReceiveChannel[Datagram]],
                    workers: int) -> None:
    send, receive = queue
    async with trio.open_nursery() as nursery:
        for _ in range(workers):
            nursery.start_soon(_worker, sock, receive.clone(), handler, stats)
        await _reader(sock, send, stats)


async def _reader(sock: trio.socket.SocketType, send: trio.MemorySendChannel[Datagram], stats: DnsStats) -> None:
    while True:
        try:
            data, addr = await sock.recvfrom(MAX_DATAGRAM)
        except ConnectionError:
            continue  # an ICMP error about an earlier reply; the socket itself is fine
        try:
            send.send_nowait((data, addr))
        except trio.WouldBlock:
            stats.udp_dropped += 1


async def _worker(sock: trio.socket.SocketType, receive: trio.MemoryReceiveChannel[Datagram],
                  handler: QueryHandler, stats: DnsStats) -> None:
    async with receive:
        async for data, addr in receive:
            reply = await handler.answer(data, "udp")
            if reply is None:
                continue
            try:
                await sock.sendto(reply, addr)
            except OSError:
                stats.send_errors += 1
