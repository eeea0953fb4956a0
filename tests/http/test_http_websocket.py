"""Websocket upgrade: trio-websocket performs the handshake on the replayed request head."""

from __future__ import annotations

import base64
import logging
import os

import pytest
import trio
import trio.testing
import trio_websocket

from runtime.http import Request, Response, Router, json_response, text_response
from runtime.http.websocket import ReplayStream
from tests.http.http_testkit import RawClient, start_server


def ws_router() -> Router:
    router = Router()

    async def actors_json(req: Request) -> Response:
        return json_response({"actors": ["n1/swim", "n1/raft"]})

    async def actors_ws(req: Request, ws: trio_websocket.WebSocketConnection) -> None:
        await ws.send_message(f"hello {req.arg('who', 'anon')}")
        while True:
            message = await ws.get_message()
            await ws.send_message(f"echo: {message}")

    async def ws_only(req: Request, ws: trio_websocket.WebSocketConnection) -> None:
        await ws.send_message(req.params["room"])

    async def ws_crash(req: Request, ws: trio_websocket.WebSocketConnection) -> None:
        await ws.get_message()
        raise RuntimeError("websocket handler broke")

    async def leader(req: Request) -> Response:
        return json_response("127.0.0.1:8300")

    router.add("GET", "/v1/agent/actors", actors_json)
    router.websocket("/v1/agent/actors", actors_ws)
    router.websocket("/rooms/{room}", ws_only)
    router.websocket("/crash", ws_crash)
    router.add("GET", "/v1/status/leader", leader)
    return router


async def test_websocket_echo_end_to_end(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, ws_router())
    url = f"ws://127.0.0.1:{server.port}/v1/agent/actors?who=tester"
    with trio.fail_after(5):
        async with trio_websocket.open_websocket_url(url) as ws:
            assert await ws.get_message() == "hello tester"
            assert server.statistics().websockets_open == 1
            for text in ("one", "two", "three"):
                await ws.send_message(text)
                assert await ws.get_message() == f"echo: {text}"
            await ws.send_message(b"\x00\x01bytes")
            assert await ws.get_message() == "echo: b'\\x00\\x01bytes'"


async def test_same_path_answers_plain_get_as_json(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, ws_router())
    client = await RawClient.connect(server.port)
    resp = await client.request("GET", "/v1/agent/actors")
    assert resp.status == 200 and resp.headers["content-type"] == "application/json"
    assert resp.body == b'{"actors":["n1/swim","n1/raft"]}'
    options = await client.request("OPTIONS", "/v1/agent/actors")
    assert options.headers["allow"] == "GET,OPTIONS"


async def test_websocket_only_path_without_upgrade_is_400(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, ws_router())
    client = await RawClient.connect(server.port)
    resp = await client.request("GET", "/rooms/lobby")
    assert resp.status == 400 and resp.headers["content-type"].startswith("text/plain")
    with trio.fail_after(5):
        async with trio_websocket.open_websocket_url(f"ws://127.0.0.1:{server.port}/rooms/a%2Fb") as ws:
            assert await ws.get_message() == "a/b"


async def test_upgrade_on_plain_route_is_not_a_websocket(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, ws_router())
    with trio.fail_after(5), pytest.raises(trio_websocket.ConnectionRejected) as rejected:
        async with trio_websocket.open_websocket_url(f"ws://127.0.0.1:{server.port}/v1/status/leader"):
            pass  # pragma: no cover - the handshake must fail
    assert rejected.value.status_code == 200  # answered as plain HTTP, not switched


async def test_before_hook_can_refuse_and_after_hook_stamps_the_handshake(nursery: trio.Nursery) -> None:
    router = ws_router()

    async def acl(req: Request) -> Response | None:
        return text_response("Permission denied", 403) if req.arg("token") == "bad" else None

    def stamp(req: Request, resp: Response) -> None:
        resp.headers["X-Consul-Default-ACL-Policy"] = "deny"

    router.before.append(acl)
    router.after.append(stamp)
    server = await start_server(nursery, router)
    base = f"ws://127.0.0.1:{server.port}/v1/agent/actors"
    with trio.fail_after(5):
        with pytest.raises(trio_websocket.ConnectionRejected) as rejected:
            async with trio_websocket.open_websocket_url(base + "?token=bad"):
                pass  # pragma: no cover
        assert rejected.value.status_code == 403
        assert rejected.value.body == b"Permission denied"
        async with trio_websocket.open_websocket_url(base + "?token=good") as ws:
            assert (b"x-consul-default-acl-policy", b"deny") in ws.handshake_headers
            assert await ws.get_message() == "hello anon"


async def test_crashing_websocket_handler_closes_with_1011(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server(nursery, ws_router())
    with trio.fail_after(5), caplog.at_level(logging.ERROR, logger="proconsul.http"):
        async with trio_websocket.open_websocket_url(f"ws://127.0.0.1:{server.port}/crash") as ws:
            await ws.send_message("go")
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
    assert closed.value.reason.code == 1011
    assert "broke" in (closed.value.reason.reason or "")
    assert any("websocket handler crashed" in r.getMessage() for r in caplog.records)
    # the server is still healthy
    client = await RawClient.connect(server.port)
    assert (await client.request("GET", "/v1/status/leader")).status == 200


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


async def test_upgrade_pipelined_behind_a_plain_request(nursery: trio.Nursery) -> None:
    """A GET and then the upgrade request in one send: the GET is answered, then the handshake is
    replayed to trio-websocket from the middle of the read buffer.

    (No frame rides along with the upgrade: a client must wait for the 101 first, and wsproto drops
    bytes that arrive before it accepts.)
    """
    server = await start_server(nursery, ws_router())
    client = await RawClient.connect(server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = (
        "GET /v1/agent/actors?who=raw HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
        f"Upgrade: websocket\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    await client.send(
        b"GET /v1/status/leader HTTP/1.1\r\nHost: t\r\n\r\n" + upgrade
    )
    first = await client.response()
    assert first.status == 200 and first.body == b'"127.0.0.1:8300"'
    switching = await client.response()
    assert switching.status == 101 and switching.headers["upgrade"].lower() == "websocket"

    async def frame() -> bytes:
        with trio.fail_after(5):
            while len(client.buf) < 2 or len(client.buf) < 2 + (client.buf[1] & 0x7F):
                assert await client._more(), "server closed the websocket"
        assert client.buf[0] == 0x81  # final text frame, unmasked from the server
        length = client.buf[1] & 0x7F
        payload, client.buf = client.buf[2 : 2 + length], client.buf[2 + length :]
        return payload

    assert await frame() == b"hello raw"
    await client.send(_masked_text_frame("first") + _masked_text_frame("second"))
    assert await frame() == b"echo: first"
    assert await frame() == b"echo: second"


async def test_incomplete_handshake_is_400(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, ws_router())
    client = await RawClient.connect(server.port)
    await client.send(
        b"GET /v1/agent/actors HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    )
    resp = await client.response()
    assert resp.status == 400 and b"Sec-WebSocket-Key" in resp.body
    assert await client.is_closed()


async def test_replay_stream_gives_prefix_then_stream() -> None:
    left, right = trio.testing.memory_stream_pair()
    replay = ReplayStream(right, b"abcdef")
    assert await replay.receive_some(4) == b"abcd"
    assert await replay.receive_some() == b"ef"
    await left.send_all(b"live")
    assert await replay.receive_some(100) == b"live"
    await replay.send_all(b"back")
    assert await left.receive_some(100) == b"back"
    await replay.aclose()
    assert await left.receive_some(100) == b""
