"""HttpLimits: body and header sizes, connection caps, and the header / idle timeouts.

Timeout tests run on pytest-trio's ``autojump_clock`` (a MockClock that skips ahead whenever every
task is blocked), so waiting 30 virtual seconds takes no real time.
"""

from __future__ import annotations

import trio

from runtime.http import HttpLimits
from tests.http.http_testkit import RawClient, make_router, start_server

FOREVER = 10_000.0  # client read timeout under the mock clock: longer than any server timeout


def test_limit_defaults() -> None:
    limits = HttpLimits()
    assert limits.max_body_bytes == 4 * 1024 * 1024
    assert limits.max_header_bytes == 1024 * 1024
    assert (limits.header_timeout, limits.idle_timeout) == (30.0, 120.0)
    assert (limits.max_connections, limits.max_conns_per_client) == (4096, 200)


async def test_announced_oversized_body_is_413_before_it_is_sent(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router(), max_body_bytes=1024)
    client = await RawClient.connect(server.port)
    await client.send(b"PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n")
    resp = await client.response()
    assert resp.status == 413 and resp.body == b"Request body too large"
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert resp.headers["connection"] == "close"
    assert await client.is_closed()


async def test_oversized_body_sent_in_full_is_413(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router(), max_body_bytes=1024)
    client = await RawClient.connect(server.port)
    await client.send(b"PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n" + b"x" * 3000)
    resp = await client.response()
    assert resp.status == 413 and resp.body == b"Request body too large"
    assert await client.is_closed()
    # a body exactly at the limit is fine
    client = await RawClient.connect(server.port)
    assert (await client.request("PUT", "/echo", b"y" * 1024)).body == b"y" * 1024


async def test_oversized_chunked_body_is_413(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router(), max_body_bytes=100)
    client = await RawClient.connect(server.port)
    await client.send(b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(3):
        await client.send(b"40\r\n" + b"z" * 64 + b"\r\n")
    resp = await client.response()
    assert resp.status == 413
    assert await client.is_closed()


async def test_oversized_headers_are_431(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router(), max_header_bytes=1024)
    client = await RawClient.connect(server.port)
    await client.send(b"GET /v1/status/leader HTTP/1.1\r\nX-Big: " + b"a" * 4000 + b"\r\n\r\n")
    resp = await client.response()
    assert resp.status == 431 and resp.headers["connection"] == "close"
    assert await client.is_closed()


async def test_unfinished_oversized_head_in_one_read_is_431(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router(), max_header_bytes=1024)
    client = await RawClient.connect(server.port)
    # never terminated with an empty line, so only the byte count can stop it
    await client.send(b"GET /v1/status/leader HTTP/1.1\r\n" + b"X-Pad: " + b"p" * 4000 + b"\r\n")
    resp = await client.response()
    assert resp.status == 431
    assert await client.is_closed()


async def test_endless_head_in_small_pieces_is_431(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router(), max_header_bytes=1024)
    client = await RawClient.connect(server.port)
    await client.send(b"GET /v1/status/leader HTTP/1.1\r\n")
    try:
        for i in range(200):  # far more than the limit plus one read
            await client.send(f"X-H{i}: {'v' * 80}\r\n".encode())
    except trio.BrokenResourceError:
        pass
    resp = await client.response()
    assert resp.status == 431


async def test_per_client_connection_limit_is_429(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router(), max_conns_per_client=2)
    first = await RawClient.connect(server.port)
    second = await RawClient.connect(server.port)
    for c in (first, second):  # make sure both are being served
        assert (await c.request("GET", "/v1/status/leader")).status == 200
    third = await RawClient.connect(server.port)
    resp = await third.response()
    assert resp.status == 429 and resp.headers["connection"] == "close"
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert await third.is_closed()
    assert server.statistics().connections_refused == 1

    # once one of the two leaves (the server closes after answering), there is room again
    resp = await first.request("GET", "/v1/status/leader", headers="Connection: close\r\n")
    assert await first.is_closed()
    fourth = await RawClient.connect(server.port)
    assert (await fourth.request("GET", "/v1/status/leader")).status == 200
    assert server.statistics().open_connections == 2


async def test_total_connection_limit_is_503(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router(), max_connections=1, max_conns_per_client=0)
    first = await RawClient.connect(server.port)
    assert (await first.request("GET", "/v1/status/leader")).status == 200
    second = await RawClient.connect(server.port)
    resp = await second.response()
    assert resp.status == 503
    assert await second.is_closed()


async def test_slow_header_is_cut_off_after_header_timeout(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery, make_router(), header_timeout=10.0)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    start = trio.current_time()

    async def trickle() -> None:  # slowloris: a byte every 2 s, never finishing the head
        for byte in b"GET /v1/status/leader HTTP/1.1\r\nX-Slow: " + b"s" * 100:
            try:
                await client.send(bytes([byte]))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            await trio.sleep(2)

    nursery.start_soon(trickle)
    resp = await client.response()
    elapsed = trio.current_time() - start
    assert resp.status == 408 and resp.headers["connection"] == "close"
    assert 10.0 <= elapsed < 20.0  # header_timeout plus at most a watchdog tick and a trickle step
    assert await client.is_closed()


async def test_silent_connection_is_closed_after_header_timeout(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery, make_router(), header_timeout=5.0)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    start = trio.current_time()
    assert await client.is_closed()  # nothing sent, nothing answered: just closed
    assert 5.0 <= trio.current_time() - start < 10.0


async def test_idle_keep_alive_connection_is_closed(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery, make_router(), idle_timeout=60.0)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    assert (await client.request("GET", "/v1/status/leader")).status == 200
    start = trio.current_time()
    assert await client.is_closed()
    assert 60.0 <= trio.current_time() - start < 70.0
    assert server.statistics().open_connections == 0


async def test_slow_handler_is_not_cut_off_by_timeouts(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    router = make_router()

    async def blocking_query(req):  # noqa: ANN001, ANN202
        await trio.sleep(300)  # a Consul blocking query may wait minutes
        from runtime.http import json_response

        return json_response({"index": 2})

    router.add("GET", "/v1/blocking", blocking_query)
    server = await start_server(nursery, router, header_timeout=10.0, idle_timeout=30.0)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    resp = await client.request("GET", "/v1/blocking")
    assert resp.status == 200 and resp.body == b'{"index":2}'
