"""The fault table applied by framed connections on the sending side: partitions, loss, delay, duplicates.

Most tests use a connected socket pair (node "a" on one end, "b" on the other) so that nothing but the
fault table sits between the two; the last ones go through a listener, where the peer's name comes from
its hello. A frame "never sent" is proven by order: streams never reorder, so after healing, the first
frame to arrive is the first one sent after the heal.

What must never live here: fault-table arithmetic without a connection (test_faults).
"""

from __future__ import annotations

import random

import pytest
import trio

from runtime.transport.connection import FramedConnection, connect
from runtime.transport.errors import ConnectionClosed
from runtime.transport.faults import FaultRule, FaultTable
from runtime.transport.hello import Hello
from runtime.transport.protocols import StreamProtocols

from .helpers import Ping, Pong, start_listener


async def pair(nursery: trio.Nursery, faults: FaultTable) -> tuple[FramedConnection, FramedConnection]:
    left, right = trio.socket.socketpair()
    a = FramedConnection(trio.SocketStream(left), Ping, nursery=nursery, local="a", peer="b", faults=faults)
    b = FramedConnection(trio.SocketStream(right), Ping, nursery=nursery, local="b", peer="a", faults=faults)
    return a, b


async def receive_until(conn: FramedConnection, sentinel: int) -> list[int]:
    got = []
    while (n := (await conn.receive()).n) != sentinel:
        got.append(n)
    return got


async def test_partition_drops_one_way_only_and_heal_restores(nursery: trio.Nursery) -> None:
    faults = FaultTable(random.Random(0), [FaultRule(src="a", dst="b", drop=True)])
    a, b = await pair(nursery, faults)
    with trio.fail_after(5):
        for n in range(5):
            await a.send(Ping(n=n))
        await b.send(Ping(n=100))  # the other direction is untouched
        assert (await a.receive()).n == 100
        faults.heal()
        await a.send(Ping(n=5))
        assert (await b.receive()).n == 5  # 0..4 were never sent
    assert faults.links["a->b"].dropped == 5 and "b->a" not in faults.links
    assert a.counters.frames_out == 1


async def test_loss_rate_is_as_set_and_exactly_reproducible(nursery: trio.Nursery) -> None:
    rule = FaultRule(src="a", dst="b", loss=0.3)
    faults = FaultTable(random.Random(42), [rule])
    replay = FaultTable(random.Random(42), [rule])
    expected = [n for n in range(1000) if not replay.verdict("a", "b").drop]
    a, b = await pair(nursery, faults)
    with trio.fail_after(5):
        async with trio.open_nursery() as inner:
            got: list[int] = []

            async def collect() -> None:
                got.extend(await receive_until(b, -1))

            inner.start_soon(collect)
            for n in range(1000):
                await a.send(Ping(n=n))
            faults.heal()
            await a.send(Ping(n=-1))
    assert got == expected
    assert 650 <= len(got) <= 750
    assert faults.links["a->b"].dropped == 1000 - len(got)


async def test_delay_adds_latency_without_blocking_and_preserves_order(nursery: trio.Nursery) -> None:
    rule = FaultRule(src="a", dst="b", delay=0.25, jitter=0.1)
    faults = FaultTable(random.Random(3), [rule])
    replay = FaultTable(random.Random(3), [rule])
    delays = [replay.verdict("a", "b").delay for _ in range(20)]
    a, b = await pair(nursery, faults)
    with trio.fail_after(5):
        started = trio.current_time()
        for n in range(20):
            await a.send(Ping(n=n))
        faults.heal()
        for n in range(20, 30):  # undelayed frames queue behind the delayed ones
            await a.send(Ping(n=n))
        await a.send(Ping(n=-1))
        assert a.counters.frames_out == 0  # every send returned at once: the frames wait in the delay line
        assert (await b.receive()).n == 0
        assert trio.current_time() - started >= delays[0]
        got = [0, *await receive_until(b, -1)]
        assert trio.current_time() - started >= max(delays)
    assert got == list(range(30))
    assert faults.links["a->b"].delayed == 20 and len(set(delays)) == 20


async def test_duplicate_delivers_twice(nursery: trio.Nursery) -> None:
    faults = FaultTable(random.Random(0), [FaultRule(src="a", dst="b", duplicate=1.0)])
    a, b = await pair(nursery, faults)
    with trio.fail_after(5):
        for n in (1, 2, 3):
            await a.send(Ping(n=n))
        faults.heal()
        await a.send(Ping(n=-1))
        assert await receive_until(b, -1) == [1, 1, 2, 2, 3, 3]
    assert faults.links["a->b"].duplicated == 3 and a.counters.frames_out == 7


async def test_replies_on_an_incoming_connection_are_faulted_by_the_callers_hello_name(nursery: trio.Nursery) -> None:
    faults = FaultTable(random.Random(0), [FaultRule(src="s1", dst="c1", drop=True)])
    handled_send, handled = trio.open_memory_channel[int](10)

    async def echo_and_tell(conn: FramedConnection) -> None:
        while True:
            n = (await conn.receive()).n
            await conn.send(Pong(n=n))
            await handled_send.send(n)

    protocols = StreamProtocols()
    protocols.register("echo", echo_and_tell, Ping)
    listener = await start_listener(nursery, protocols, node="s1", faults=faults)
    assert listener.address is not None
    with trio.fail_after(5):
        conn = await connect(listener.address, Hello(kind="echo", node="c1"), Pong, nursery=nursery)
        await conn.send(Ping(n=1))  # c1 -> s1 flows: one-way partition
        assert await handled.receive() == 1  # ... and the reply has been dropped
        faults.heal()
        await conn.send(Ping(n=2))
        assert (await conn.receive()).n == 2
    assert faults.links["s1->c1"].dropped == 1


async def test_a_partition_refuses_new_connections(nursery: trio.Nursery) -> None:
    faults = FaultTable(random.Random(0), [FaultRule(src="c1", dst="s1", drop=True)])
    listener = await start_listener(nursery, node="s1")
    assert listener.address is not None
    with trio.fail_after(5):
        with pytest.raises(ConnectionClosed, match="c1 -> s1 is partitioned"):
            await connect(listener.address, Hello(kind="echo", node="c1"), Pong, nursery=nursery, peer="s1", faults=faults)
        faults.heal()
        conn = await connect(listener.address, Hello(kind="echo", node="c1"), Pong, nursery=nursery, peer="s1", faults=faults)
        await conn.send(Ping(n=1))
        assert (await conn.receive()).n == 1
    assert listener.accepted == 1
