"""The HTTP/1.1 server over real loopback sockets: framing, keep-alive, pipelining, bodies, errors."""

from __future__ import annotations

import logging

import msgspec
import pytest
import trio
import trio.testing

from runtime.http import HttpServer, Router, json_response
from tests.http.http_testkit import RawClient, make_router, start_server

NOT_FOUND = b"Invalid URL path: not a recognized HTTP API endpoint"


async def test_json_response_end_to_end(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    resp = await client.request("GET", "/v1/status/leader")
    assert resp.status == 200 and resp.reason == "OK"
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["content-length"] == "16"
    assert resp.body == b'"127.0.0.1:8300"'
    assert "connection" not in resp.headers  # HTTP/1.1 keep-alive is implicit

    pretty = await client.request("GET", "/pretty?pretty")
    assert pretty.body == b'{\n    "a": [\n        1,\n        2\n    ]\n}\n'


async def test_not_found_405_and_options_on_the_wire(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    resp = await client.request("GET", "/v1/unknown")
    assert resp.status == 404 and resp.body == NOT_FOUND
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"

    resp = await client.request("DELETE", "/v1/status/leader")
    assert resp.status == 405 and resp.headers["allow"] == "GET,OPTIONS"

    resp = await client.request("OPTIONS", "/v1/kv/some/key")
    assert resp.status == 200 and resp.body == b""
    assert resp.headers["allow"] == "DELETE,GET,PUT,OPTIONS"
    assert resp.headers["content-length"] == "0" and "content-type" not in resp.headers


async def test_encoded_slashes_reach_the_handler(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    resp = await client.request("PUT", "/v1/kv/team%2Fa/cfg?flags=42&cas=0&release", b"value")
    doc = msgspec.json.decode(resp.body)
    assert doc["method"] == "PUT"
    assert doc["key"] == "team/a/cfg"
    assert doc["raw_path"] == "/v1/kv/team%2Fa/cfg"
    assert doc["query"] == {"flags": ["42"], "cas": ["0"], "release": [""]}
    assert doc["body"] == "value"


async def test_keep_alive_serves_many_requests_on_one_connection(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    for i in range(5):
        resp = await client.request("GET", f"/v1/agent/service/s{i}")
        assert resp.body == f'{{"id":"s{i}"}}'.encode()
    assert server.statistics().open_connections == 1
    assert server.statistics().requests_served == 5


async def test_pipelined_requests_are_answered_in_order(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    await client.send(
        b"GET /v1/agent/service/first HTTP/1.1\r\nHost: t\r\n\r\n"
        b"PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
        b"GET /v1/agent/service/third HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    first, second, third = [await client.response() for _ in range(3)]
    assert first.body == b'{"id":"first"}'
    assert second.body == b"second" and second.headers["content-type"] == "application/octet-stream"
    assert third.body == b'{"id":"third"}'


async def test_connection_close_is_honoured(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    # the request after "Connection: close" must not be answered
    await client.send(
        b"GET /v1/status/leader HTTP/1.1\r\nConnection: close\r\n\r\n"
        b"GET /v1/status/leader HTTP/1.1\r\n\r\n"
    )
    resp = await client.response()
    assert resp.status == 200 and resp.headers["connection"] == "close"
    assert await client.is_closed()


async def test_http10_closes_unless_keep_alive_asked(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    await client.send(b"GET /v1/status/leader HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    resp = await client.response()
    assert resp.status == 200 and resp.headers["connection"] == "keep-alive"
    await client.send(b"GET /v1/status/leader HTTP/1.0\r\n\r\n")
    resp = await client.response()
    assert resp.status == 200 and resp.headers["connection"] == "close"
    assert await client.is_closed()


async def test_chunked_request_body(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    await client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    await client.send(b"7\r\n, world\r\n0\r\n\r\n")
    resp = await client.response()
    assert resp.status == 200 and resp.body == b"hello, world"
    assert (await client.request("GET", "/v1/status/leader")).status == 200  # connection still fine


async def test_expect_100_continue(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    await client.send(b"PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    interim = await client.response()
    assert interim.status == 100 and interim.body == b""
    await client.send(b"data")
    resp = await client.response()
    assert resp.status == 200 and resp.body == b"data"


async def test_handler_crash_is_500_and_everything_keeps_working(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    with caplog.at_level(logging.ERROR, logger="proconsul.http"):
        resp = await client.request("GET", "/boom")
    assert resp.status == 500
    assert resp.body == b"kaboom: the handler fell over"
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert any("kaboom" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    # same keep-alive connection still serves
    assert (await client.request("GET", "/v1/status/leader")).status == 200
    # and so does a new one
    other = await RawClient.connect(server.port)
    assert (await other.request("GET", "/v1/agent/service/x")).body == b'{"id":"x"}'
    teapot = await other.request("GET", "/teapot")
    assert teapot.status == 418 and teapot.body == b"I'm a teapot, short and stout"
    stats = server.statistics()
    assert stats.server_errors == 1 and stats.client_errors == 1 and stats.requests_served == 4


async def test_malformed_request_line_is_400_and_closed(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    for garbage in (b"HELLO THERE\r\n\r\n", b"GET /x HTTP/9.9\r\n\r\n", b"GET /a b c\r\n\r\n"):
        client = await RawClient.connect(server.port)
        await client.send(garbage)
        resp = await client.response()
        assert resp.status == 400, garbage
        assert resp.headers["content-type"] == "text/plain; charset=utf-8"
        assert resp.headers["connection"] == "close"
        assert resp.text.startswith("Bad request")
        assert await client.is_closed()
    # the server is fine afterwards
    client = await RawClient.connect(server.port)
    assert (await client.request("GET", "/v1/status/leader")).status == 200


async def test_good_requests_before_a_malformed_one_are_answered(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    await client.send(b"GET /v1/status/leader HTTP/1.1\r\n\r\nBROKEN\x00 / HTTP/1.1\r\n\r\n")
    assert (await client.response()).status == 200
    assert (await client.response()).status == 400
    assert await client.is_closed()


async def test_upgrade_to_something_else_is_served_plainly_then_closed(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, make_router())
    client = await RawClient.connect(server.port)
    await client.send(b"GET /v1/status/leader HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    resp = await client.response()
    assert resp.status == 200 and resp.body == b'"127.0.0.1:8300"'
    assert resp.headers["connection"] == "close"
    assert await client.is_closed()


async def test_serve_on_listeners_opened_by_the_caller(nursery: trio.Nursery) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    router = Router()

    async def hello(req):  # noqa: ANN001, ANN202
        return json_response({"client_is_local": req.client[0] == "127.0.0.1"})

    router.add("GET", "/hello", hello)
    server = await nursery.start(HttpServer(router).serve, listeners)
    assert server.port == port and server.addresses == [("127.0.0.1", port)]
    client = await RawClient.connect(port)
    assert (await client.request("GET", "/hello")).body == b'{"client_is_local":true}'


async def test_head_request_gets_length_but_no_body(nursery: trio.Nursery) -> None:
    router = Router()

    async def head(req):  # noqa: ANN001, ANN202
        return json_response({"big": "x" * 100})

    router.add(["GET", "HEAD"], "/doc", head)
    server = await start_server(nursery, router)
    client = await RawClient.connect(server.port)
    await client.send(b"HEAD /doc HTTP/1.1\r\n\r\n")
    resp = await client.response(head_only=True)
    assert resp.status == 200 and resp.headers["content-length"] == "110" and resp.body == b""
    full = await client.request("GET", "/doc")  # nothing stray was left on the wire
    assert len(full.body) == 110


async def test_handle_stream_serves_any_trio_stream(nursery: trio.Nursery) -> None:
    """Not only sockets: an in-memory stream goes through the generic transport."""
    server = HttpServer(make_router())
    client_side, server_side = trio.testing.memory_stream_pair()
    nursery.start_soon(server.handle_stream, server_side)
    await client_side.send_all(
        b"GET /v1/status/leader HTTP/1.1\r\n\r\nGET /v1/agent/service/m HTTP/1.1\r\nConnection: close\r\n\r\n"
    )
    received = b""
    with trio.fail_after(5):
        while chunk := await client_side.receive_some():
            received += chunk
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert received.endswith(b'Connection: close\r\n\r\n{"id":"m"}')
    assert server.statistics().requests_served == 2


def test_disconnects_are_recognised_inside_exception_groups() -> None:
    from runtime.http.server import _is_disconnect

    assert _is_disconnect(trio.BrokenResourceError())
    assert _is_disconnect(ConnectionResetError())
    assert _is_disconnect(ExceptionGroup("x", [trio.ClosedResourceError(), OSError()]))
    assert not _is_disconnect(ExceptionGroup("x", [trio.BrokenResourceError(), ValueError()]))
    assert not _is_disconnect(RuntimeError())


async def test_watchdog_cancels_only_expired_scopes() -> None:
    from runtime.http.watchdog import Watchdog

    dog = Watchdog()
    late, early = trio.CancelScope(), trio.CancelScope()
    dog.watch(late, at=100.0)
    parked = dog.watch(early, at=5.0)
    assert dog.expire(now=4.0) == 0
    parked.at = float("inf")  # a connection that started handling a request
    assert dog.expire(now=50.0) == 0 and not early.cancel_called
    parked.at = 10.0
    assert dog.expire(now=50.0) == 1 and early.cancel_called and not late.cancel_called
    assert dog.expire(now=500.0) == 1 and late.cancel_called
