"""A client that goes away while its request is handled frees its connection slot (virtual time).

The server watches a connection only while a handler runs past a watchdog tick: a reset cancels the
handler at once, EOF leaves it ``hangup_grace`` seconds to answer (a half-closing client still gets quick
answers), and bytes read meanwhile (a pipelined request) are answered afterwards, in order. The same
holds over TLS, where the watcher's receive goes through ``trio.SSLStream``.
"""

from __future__ import annotations

import socket
import ssl
import struct
from pathlib import Path

import trio
import trio.testing

from runtime.http import HttpLimits, HttpServer, Request, Response, Router, json_response
from runtime.tls.certs import create_ca, create_leaf
from tests.http.http_testkit import RawClient, start_server

FOREVER = 10_000.0
TICK = 1.0  # the watchdog tick of default limits: min(1 s, header_timeout / 4, idle_timeout / 4)


class Blocker:
    """A router whose ``/block`` handler parks until released (or cancelled), noting both."""

    def __init__(self, work: float = 0.0) -> None:
        self.started = trio.Event()
        self.release = trio.Event()
        self.cancelled = trio.Event()
        self.router = Router()
        self.work = work

        async def block(req: Request) -> Response:
            self.started.set()
            try:
                if self.work:
                    await trio.sleep(self.work)
                else:
                    await self.release.wait()
            except trio.Cancelled:
                self.cancelled.set()
                raise
            return json_response("released")

        async def quick(req: Request) -> Response:
            return json_response("quick")

        self.router.add("GET", "/block", block)
        self.router.add("GET", "/quick", quick)


async def _settled(server: HttpServer) -> None:
    """Let every task run until all are blocked (connection tasks finish their clean-up)."""
    await trio.testing.wait_all_tasks_blocked()
    assert server.statistics().open_connections == 0


async def test_closing_during_a_blocking_handler_frees_the_slot(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    app = Blocker()
    server = await start_server(nursery, app.router)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    await client.send(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
    await app.started.wait()
    assert server.statistics().open_connections == 1
    start = trio.current_time()
    await client.aclose()
    with trio.fail_after(HttpLimits().hangup_grace + 3 * TICK):  # not the handler's minutes
        await app.cancelled.wait()
    await _settled(server)
    assert server._per_client == {}
    assert server.statistics().hangups == 1
    assert trio.current_time() - start >= HttpLimits().hangup_grace  # EOF: the grace was given


async def test_a_reset_cancels_the_handler_without_grace(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    app = Blocker()
    server = await start_server(nursery, app.router, hangup_grace=FOREVER)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    await client.send(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
    await app.started.wait()
    client.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await client.aclose()  # SO_LINGER 0: close sends RST
    with trio.fail_after(3 * TICK):
        await app.cancelled.wait()
    await _settled(server)
    assert server.statistics().hangups == 1


async def test_a_half_closing_client_still_gets_answers_within_the_grace(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    grace = HttpLimits().hangup_grace
    app = Blocker(work=grace / 2 + TICK / 2)  # runs past a tick (watched) but ends within the grace
    server = await start_server(nursery, app.router)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    await client.send(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
    await client.stream.send_eof()
    resp = await client.response()
    assert resp.status == 200 and resp.body == b'"released"'
    assert await client.is_closed()  # answered, then closed: the client has nothing more to say
    assert not app.cancelled.is_set() and server.statistics().hangups == 0

    slow = Blocker(work=10 * grace)  # a half-closed client cannot hold a slot past the grace either
    server = await start_server(nursery, slow.router)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    await client.send(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
    await client.stream.send_eof()
    assert await client.is_closed()
    assert slow.cancelled.is_set() and server.statistics().hangups == 1


async def test_a_pipelined_request_seen_by_the_poller_is_answered_after_in_order(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A plain socket is watched without reading: a pipelined request stays in the socket (watching
    stops) and is answered after the blocked one, in order, on the same connection."""
    app = Blocker()
    server = await start_server(nursery, app.router)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    await client.send(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
    await app.started.wait()
    conn = next(iter(server._conns))
    with trio.fail_after(3 * TICK):  # bounded: watching starts on the next watchdog tick
        while not conn.polled:
            await trio.sleep(TICK / 10)
    assert len(server._hangups) == 1
    await client.send(b"GET /quick HTTP/1.1\r\nHost: t\r\n\r\n")
    with trio.fail_after(TICK):
        while conn.polled:  # the poller saw bytes, left them in the socket and stopped watching
            await trio.sleep(TICK / 10)
    assert not conn.peer_eof and not conn.hung_up
    app.release.set()
    first, second = await client.response(), await client.response()
    assert (first.body, second.body) == (b'"released"', b'"quick"')
    assert (await client.request("GET", "/quick")).status == 200  # the connection carries on
    assert not app.cancelled.is_set() and server.statistics().hangups == 0
    assert len(server._hangups) == 0


def _tls_contexts(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = create_ca("hangup test CA", days=2)
    leaf = create_leaf(ca, common_name="localhost", days=2, dns_names=["localhost"], ip_addresses=[],
                       server_auth=True, client_auth=False)
    (tmp / "cert.pem").write_bytes(leaf.cert_pem)
    (tmp / "key.pem").write_bytes(leaf.key_pem)
    (tmp / "ca.pem").write_bytes(ca.cert_pem)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(str(tmp / "cert.pem"), str(tmp / "key.pem"))
    client_ctx = ssl.create_default_context(cafile=str(tmp / "ca.pem"))
    return server_ctx, client_ctx


async def test_a_tls_client_closing_during_a_blocking_handler_frees_the_slot(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    server_ctx, client_ctx = _tls_contexts(tmp_path)
    app = Blocker()
    server = HttpServer(app.router)
    nursery.start_soon(server.watchdog.run)
    client_raw, server_raw = trio.testing.memory_stream_pair()
    server_tls = trio.SSLStream(server_raw, server_ctx, server_side=True)
    client_tls = trio.SSLStream(client_raw, client_ctx, server_hostname="localhost")
    nursery.start_soon(server.handle_stream, server_tls)
    await client_tls.send_all(b"GET /quick HTTP/1.1\r\nHost: t\r\n\r\n")
    with trio.fail_after(TICK):
        assert b'"quick"' in await client_tls.receive_some()
    await client_tls.send_all(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
    await app.started.wait()
    await client_tls.aclose()  # close_notify, then the transport closes
    with trio.fail_after(HttpLimits().hangup_grace + 3 * TICK):
        await app.cancelled.wait()
    await _settled(server)
    assert server.statistics().hangups == 1
