"""The stream listener: dispatch by hello, and bad input ends only the offending connection.

What must never live here: fault-table or RPC semantics (their own files).
"""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from runtime.supervisor import ChildSpec, Supervisor, run_root
from runtime.transport.connection import FramedConnection, connect
from runtime.transport.errors import ConnectionClosed
from runtime.transport.hello import Hello
from runtime.transport.listener import StreamLimits, StreamListener
from runtime.transport.protocols import StreamProtocols
from runtime.tree import ActorTree

from .helpers import (Ping, Pong, echo, echo_protocols, encode, hello_bytes, raw_frame, raw_stream, read_to_close,
                      start, start_listener, unused_port)


async def ping(conn: FramedConnection, n: int) -> int:
    await conn.send(Ping(n=n))
    reply = await conn.receive()
    assert isinstance(reply, Pong)
    return reply.n


async def test_binds_port_zero_and_serves_a_protocol_named_by_the_hello(nursery: trio.Nursery) -> None:
    listener = await start_listener(nursery)
    assert listener.address is not None and listener.address[1] != 0
    with trio.fail_after(5):
        conn = await connect(listener.address, Hello(kind="echo", node="c1", dc="dc1"), Pong, nursery=nursery)
        async with conn:
            assert await ping(conn, 7) == 7
            await trio.testing.wait_all_tasks_blocked()  # the server counts its write once send_all returns
            stats = listener.statistics()
            assert stats["open"] == {"echo": 1} and stats["frames_in"] == 1 and stats["frames_out"] == 1
    assert stats["address"] == f"127.0.0.1:{listener.address[1]}"


async def test_two_protocols_share_one_port(nursery: trio.Nursery) -> None:
    seen: list[tuple[str, str, str]] = []

    async def record(conn: FramedConnection) -> None:
        assert conn.hello is not None
        seen.append((conn.hello.kind, conn.hello.node, conn.hello.dc))
        await conn.send(Pong(n=len(seen)))

    protocols = StreamProtocols()
    protocols.register("raft", record, Ping)
    protocols.register("rpc", record, Ping)
    listener = await start_listener(nursery, protocols)
    assert listener.address is not None
    with trio.fail_after(5):
        for kind in ("raft", "rpc"):
            async with await connect(listener.address, Hello(kind=kind, node="s2", dc="dc2"), Pong, nursery=nursery) as conn:
                await conn.receive()
    assert seen == [("raft", "s2", "dc2"), ("rpc", "s2", "dc2")]
    with pytest.raises(ValueError, match="already registered"):
        protocols.register("rpc", record, Ping)


BAD_INPUTS = [
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad_version", id="http-on-the-wrong-port"),
    pytest.param(raw_frame(b"\xc1\xc1"), "bad_hello", id="hello-not-msgpack"),
    pytest.param(raw_frame(encode({"t": "transport.hello", "kind": "echo"})), "bad_hello", id="hello-missing-node"),
    pytest.param(b"\x01\x00\x01\x00\x00", "oversized", id="hello-length-over-limit"),
    pytest.param(hello_bytes(kind="nosuch"), "unknown_kind", id="unknown-protocol"),
    pytest.param(hello_bytes() + raw_frame(encode({"t": "test.bogus", "n": 1})), "undecodable", id="unknown-tag"),
    pytest.param(hello_bytes() + raw_frame(b"\xc1"), "undecodable", id="frame-not-msgpack"),
    pytest.param(hello_bytes() + b"\x01\x7f\xff\xff\xff", "oversized", id="frame-over-limit"),
    pytest.param(hello_bytes() + b"\x09\x00", "bad_version", id="frame-bad-version"),
    pytest.param(hello_bytes() + b"\x01\x00\x00", "truncated", id="closed-inside-a-frame"),
    pytest.param(b"\x01\x00\x00", "truncated", id="closed-inside-the-hello"),
]


@pytest.mark.parametrize("data, reason", BAD_INPUTS)
async def test_bad_input_closes_that_connection_only(nursery: trio.Nursery, caplog: pytest.LogCaptureFixture,
                                                     data: bytes, reason: str) -> None:
    listener = await start_listener(nursery)
    assert listener.address is not None
    with trio.fail_after(5):
        good = await connect(listener.address, Hello(kind="echo", node="c1"), Pong, nursery=nursery)
        assert await ping(good, 1) == 1
        with caplog.at_level(logging.WARNING, logger="proconsul.transport"):
            bad = await raw_stream(listener.address, data)
            if reason == "truncated":
                await bad.send_eof()
            assert b"Pong" not in await read_to_close(bad)
        assert listener.counters.errors == {reason: 1}
        transport_lines = [r for r in caplog.records if r.name == "proconsul.transport"]
        assert len(transport_lines) == 1 and transport_lines[0].fields["reason"] == reason  # type: ignore[attr-defined]
        assert await ping(good, 2) == 2  # the listener and other connections carry on
        fresh = await connect(listener.address, Hello(kind="echo", node="c2"), Pong, nursery=nursery)
        assert await ping(fresh, 3) == 3
    assert listener.cell.state == "running" and listener.cell.restarts == 0


async def test_a_slow_hello_times_out_while_others_are_served(nursery: trio.Nursery) -> None:
    listener = await start_listener(nursery, limits=StreamLimits(hello_timeout=0.2))
    assert listener.address is not None
    with trio.fail_after(5):
        slow = await raw_stream(listener.address, hello_bytes()[:3])  # and then nothing
        silent = await raw_stream(listener.address)
        good = await connect(listener.address, Hello(kind="echo", node="c1"), Pong, nursery=nursery)
        assert await ping(good, 1) == 1
        started = trio.current_time()
        assert await read_to_close(slow) == b""
        assert await read_to_close(silent) == b""
        assert trio.current_time() - started < 1.0
    assert listener.counters.errors == {"hello_timeout": 2}


async def test_a_failing_handler_is_counted_and_the_listener_survives(nursery: trio.Nursery) -> None:
    async def broken(conn: FramedConnection) -> None:
        message = await conn.receive()
        if message.n == 13:
            raise RuntimeError("unlucky")
        await echo(conn)

    protocols = StreamProtocols()
    protocols.register("echo", broken, Ping)
    listener = await start_listener(nursery, protocols)
    assert listener.address is not None
    with trio.fail_after(5):
        conn = await connect(listener.address, Hello(kind="echo", node="c1"), Pong, nursery=nursery)
        await conn.send(Ping(n=13))
        with pytest.raises(ConnectionClosed):
            await conn.receive()
        conn = await connect(listener.address, Hello(kind="echo", node="c1"), Pong, nursery=nursery)
        await conn.send(Ping(n=1))  # consumed by the handler's first receive
        assert await ping(conn, 2) == 2
    assert listener.counters.errors == {"handler_error": 1}


async def test_connection_limit(nursery: trio.Nursery) -> None:
    listener = await start_listener(nursery, limits=StreamLimits(max_connections=1))
    assert listener.address is not None
    with trio.fail_after(5):
        first = await connect(listener.address, Hello(kind="echo", node="c1"), Pong, nursery=nursery)
        assert await ping(first, 1) == 1
        second = await raw_stream(listener.address, hello_bytes())
        assert await read_to_close(second) == b""
        assert await ping(first, 2) == 2
    assert listener.counters.errors == {"too_many_connections": 1}


async def test_a_busy_port_fails_the_actor_at_start(nursery: trio.Nursery) -> None:
    listener = await start_listener(nursery)
    assert listener.address is not None
    second = StreamListener("127.0.0.1", listener.address[1], StreamProtocols(), node="s2")
    with pytest.raises(OSError):
        await run_root(ActorTree(), "listener:s2", second)


async def test_restarted_by_its_supervisor_on_the_same_port_with_the_same_protocols(nursery: trio.Nursery) -> None:
    port = unused_port()
    root = Supervisor([ChildSpec("listener", StreamListener, "127.0.0.1", port, echo_protocols(), node="s1")])
    await start(nursery, root, "transport")
    tree = root.cell.tree
    cell = tree.get("transport/listener")
    with trio.fail_after(5):
        old = await connect(("127.0.0.1", port), Hello(kind="echo", node="c1"), Pong, nursery=nursery)
        assert await ping(old, 1) == 1
        tree.inject("transport/listener", "crash")
        with pytest.raises(ConnectionClosed):  # its connections went down with it
            await ping(old, 2)
        seen = tree.version
        while not (cell.state == "running" and cell.restarts == 1):
            seen = await tree.wait_changed(seen)
        new = await connect(("127.0.0.1", port), Hello(kind="echo", node="c1"), Pong, nursery=nursery)
        assert await ping(new, 3) == 3
    assert cell.actor is not None and cell.actor.statistics()["accepted"] == 1  # a fresh instance
