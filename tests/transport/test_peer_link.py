"""The peer link: ordered delivery, replies, reconnection after the peer restarts, and loss as information.

What must never live here: listener-side checks beyond what the link needs to be observed.
"""

from __future__ import annotations

import random

import trio
import trio.testing

from runtime.transport.connection import FramedConnection
from runtime.transport.faults import FaultRule, FaultTable
from runtime.transport.peer_link import LinkConfig, PeerLink
from runtime.transport.protocols import StreamProtocols

from .helpers import LOCALHOST, Ping, Pong, start, start_listener, unused_port

FAST = LinkConfig(backoff_initial=0.01, backoff_max=0.05, connect_timeout=1.0)


class Sink:
    """A "raft" protocol handler that records (sender, n) and answers each Ping with a Pong."""

    def __init__(self) -> None:
        self.send, self.received = trio.open_memory_channel[tuple[str, int]](1000)
        self.protocols = StreamProtocols()
        self.protocols.register("raft", self.serve, Ping)

    async def serve(self, conn: FramedConnection) -> None:
        assert conn.hello is not None
        while True:
            message = await conn.receive()
            await self.send.send((conn.hello.node, message.n))
            await conn.send(Pong(n=message.n))


class Events:
    """Collects the link's callbacks so a test can wait for them in order."""

    def __init__(self) -> None:
        self.send, self.receive = trio.open_memory_channel[tuple[str, str]](1000)

    def up(self, peer: str) -> None:
        self.send.send_nowait(("up", peer))

    def down(self, peer: str) -> None:
        self.send.send_nowait(("down", peer))

    async def expect(self, what: str) -> None:
        """Wait for the next ``what``, skipping repeats of other events (a down link reports every attempt)."""
        while (await self.receive.receive())[0] != what:
            pass


async def test_messages_arrive_in_order_and_replies_reach_on_message(nursery: trio.Nursery) -> None:
    sink = Sink()
    listener = await start_listener(nursery, sink.protocols, node="s1")
    assert listener.address is not None
    reply_send, replies = trio.open_memory_channel[int](100)
    link = PeerLink("s1", listener.address, node="n2", dc="dc1", protocol="raft", config=FAST,
                    on_message=lambda pong: reply_send.send_nowait(pong.n), receive_type=Pong)
    ref = await start(nursery, link, "peer:s1")
    with trio.fail_after(5):
        for n in range(50):
            assert await ref.send(Ping(n=n))
        assert [await sink.received.receive() for _ in range(50)] == [("n2", n) for n in range(50)]
        assert [await replies.receive() for _ in range(50)] == list(range(50))
        await trio.testing.wait_all_tasks_blocked()  # the link counts a message once its write returns
    stats = link.statistics()
    assert stats["connected"] and stats["sent"] == 50 and stats["received"] == 50 and stats["dropped"] == 0
    assert listener.statistics()["open"] == {"raft": 1}


async def test_reports_unreachable_while_the_peer_is_down_and_reconnects_when_it_returns(nursery: trio.Nursery) -> None:
    sink = Sink()
    events = Events()
    with trio.fail_after(5):
        async with trio.open_nursery() as first_life:
            listener = await start_listener(first_life, sink.protocols, node="s1")
            assert listener.address is not None
            port = listener.address[1]
            link = PeerLink("s1", (LOCALHOST, port), node="n2", config=FAST, on_connected=events.up,
                            on_unreachable=events.down)
            ref = await start(nursery, link, "peer:s1")
            await events.expect("up")
            await ref.send(Ping(n=1))
            assert await sink.received.receive() == ("n2", 1)
            first_life.cancel_scope.cancel()  # the peer goes away, taking its connections with it

        await events.expect("down")
        assert not link.connected
        await events.expect("down")  # and again for a failed reconnect attempt
        assert "cannot connect" in (link.last_error or "")
        failures_while_down = link.failures
        assert failures_while_down >= 2

        await start_listener(nursery, sink.protocols, node="s1", port=port)
        await events.expect("up")
        await ref.send(Ping(n=2))
        assert await sink.received.receive() == ("n2", 2)
        await trio.testing.wait_all_tasks_blocked()
    stats = link.statistics()
    assert stats["connected"] and stats["reconnects"] == 1 and stats["sent"] == 2 and stats["last_error"] is None


class SmallLink(PeerLink):
    inbox_size = 4


async def test_a_full_inbox_drops_and_counts_while_the_peer_is_unreachable(nursery: trio.Nursery) -> None:
    events = Events()
    link = SmallLink("s9", (LOCALHOST, unused_port()), node="n1", on_unreachable=events.down,
                     config=LinkConfig(backoff_initial=30.0, backoff_max=30.0))
    ref = await start(nursery, link, "peer:s9")
    with trio.fail_after(5):
        await events.expect("down")  # the first attempt was refused; the link now waits ~30 s
    accepted = [ref.send_nowait(Ping(n=n)) for n in range(7)]
    assert accepted == [True] * 4 + [False] * 3
    stats = link.statistics()
    assert stats["inbox_full"] == 3 and stats["dropped"] == 3 and not stats["connected"]
    assert 24.0 <= stats["backoff"] <= 36.0
    assert link.cell.dropped == 3 and link.cell.state == "running"


async def test_a_partition_makes_the_peer_unreachable_until_healed(nursery: trio.Nursery) -> None:
    sink = Sink()
    events = Events()
    faults = FaultTable(random.Random(0), [FaultRule(src="n1", dst="s1", drop=True)])
    listener = await start_listener(nursery, sink.protocols, node="s1")
    assert listener.address is not None
    link = PeerLink("s1", listener.address, node="n1", faults=faults, config=FAST, on_connected=events.up,
                    on_unreachable=events.down)
    ref = await start(nursery, link, "peer:s1")
    with trio.fail_after(5):
        await events.expect("down")
        assert "partitioned" in (link.last_error or "")
        faults.heal()
        await events.expect("up")
        await ref.send(Ping(n=1))
        assert await sink.received.receive() == ("n1", 1)
    assert listener.accepted == 1


def test_backoff_doubles_up_to_the_cap_with_seeded_jitter() -> None:
    config = LinkConfig(backoff_initial=0.1, backoff_max=1.0, backoff_jitter=0.2)

    def waits(seed: int) -> list[float]:
        link = PeerLink("s1", (LOCALHOST, 1), node="n1", config=config, rng=random.Random(seed))
        return [link.backoff_for(n) for n in range(1, 7)]

    for wait, base in zip(waits(1), [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]):
        assert base * 0.8 <= wait <= base * 1.2
    assert waits(1) == waits(1) and waits(1) != waits(2)
