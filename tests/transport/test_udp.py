"""The datagram endpoint: delivery, size limits both ways, garbage, a full inbox, and faults by node name.

Loopback UDP from one socket to another arrives in order, so "this datagram was never delivered" is
proven by the next one being the first to arrive.

What must never live here: stream tests.
"""

from __future__ import annotations

import random
from typing import Callable

import trio

from runtime.transport.addresses import AddressBook
from runtime.transport.faults import FaultRule, FaultTable
from runtime.transport.udp import DatagramEndpoint, SendDatagram

from .helpers import LOCALHOST, start

Received = tuple[tuple[str, int], bytes]


async def endpoint(nursery: trio.Nursery, node: str, *, on_datagram: Callable[[tuple[str, int], bytes], None] | None = None,
                   inbox: trio.MemorySendChannel[Received] | None = None, faults: FaultTable | None = None,
                   addresses: AddressBook | None = None, max_size: int = 1400) -> DatagramEndpoint:
    actor = DatagramEndpoint(LOCALHOST, 0, node=node, on_datagram=on_datagram, inbox=inbox, faults=faults,
                             addresses=addresses, max_size=max_size)
    await start(nursery, actor, f"udp:{node}")
    assert actor.address is not None and actor.address[1] != 0
    return actor


async def test_datagrams_both_ways_through_the_method_and_the_inbox(nursery: trio.Nursery) -> None:
    a_send, a_got = trio.open_memory_channel[Received](10)
    b_send, b_got = trio.open_memory_channel[Received](10)
    a = await endpoint(nursery, "a", inbox=a_send)
    b = await endpoint(nursery, "b", inbox=b_send)
    assert a.address is not None and b.address is not None
    with trio.fail_after(5):
        assert await a.send(b.address, b"ping")
        assert await b_got.receive() == (a.address, b"ping")
        assert await b.ref.send(SendDatagram(address=a.address, payload=b"ack"))
        assert await a_got.receive() == (b.address, b"ack")
    assert a.statistics()["sent"] == 1 and a.statistics()["received"] == 1


async def test_oversized_datagrams_are_dropped_and_counted_both_ways(nursery: trio.Nursery) -> None:
    got_send, got = trio.open_memory_channel[Received](10)
    b = await endpoint(nursery, "b", inbox=got_send, max_size=512)
    a = await endpoint(nursery, "a", max_size=512)
    assert b.address is not None
    with trio.fail_after(5):
        assert not await a.send(b.address, b"x" * 513)  # refused at the sender
        with trio.socket.socket(type=trio.socket.SOCK_DGRAM) as raw:  # a peer with another limit
            await raw.sendto(b"y" * 2000, b.address)
            await raw.sendto(b"z" * 512, b.address)
        assert (await got.receive())[1] == b"z" * 512
    assert a.counts["oversized_out"] == 1 and a.counts["sent"] == 0
    assert b.counts["oversized_in"] == 1 and b.counts["received"] == 1


async def test_garbage_that_breaks_the_handler_is_counted_and_the_loop_goes_on(nursery: trio.Nursery) -> None:
    got_send, got = trio.open_memory_channel[bytes](10)

    def decode(source: tuple[str, int], data: bytes) -> None:
        if not data.startswith(b"ok"):
            raise ValueError("not a gossip packet")
        got_send.send_nowait(data)

    b = await endpoint(nursery, "b", on_datagram=decode)
    assert b.address is not None
    with trio.fail_after(5):
        with trio.socket.socket(type=trio.socket.SOCK_DGRAM) as raw:
            for junk in (b"", b"\x00\xff garbage", bytes(range(256))):
                await raw.sendto(junk, b.address)
            await raw.sendto(b"ok", b.address)
        assert await got.receive() == b"ok"
    assert b.counts["handler_errors"] == 3 and b.counts["received"] == 4
    assert b.cell.state == "running" and b.cell.restarts == 0


async def test_a_full_inbox_drops_and_counts(nursery: trio.Nursery) -> None:
    inbox_send, inbox = trio.open_memory_channel[Received](1)
    seen_send, seen = trio.open_memory_channel[bytes](10)
    b = await endpoint(nursery, "b", inbox=inbox_send, on_datagram=lambda _, data: seen_send.send_nowait(data))
    a = await endpoint(nursery, "a")
    assert b.address is not None
    with trio.fail_after(5):
        for n in range(3):
            await a.send(b.address, b"%d" % n)
        assert [await seen.receive() for _ in range(3)] == [b"0", b"1", b"2"]
    assert (await inbox.receive())[1] == b"0"
    assert b.counts["inbox_full"] == 2


async def test_a_closed_port_is_not_an_error_for_the_endpoint(nursery: trio.Nursery) -> None:
    got_send, got = trio.open_memory_channel[Received](10)
    a = await endpoint(nursery, "a", inbox=got_send)
    assert a.address is not None
    with trio.socket.socket(type=trio.socket.SOCK_DGRAM) as closed:
        await closed.bind((LOCALHOST, 0))
        nobody = closed.getsockname()
    with trio.fail_after(5):
        await a.send(nobody, b"anyone there?")  # Linux may report ICMP port unreachable on the next receive
        with trio.socket.socket(type=trio.socket.SOCK_DGRAM) as raw:
            await raw.sendto(b"still here", a.address)
        assert (await got.receive())[1] == b"still here"
    assert a.counts["receive_errors"] <= 1 and a.cell.state == "running"


async def test_faults_by_node_name_with_host_port_fallback(nursery: trio.Nursery) -> None:
    faults = FaultTable(random.Random(5))
    book = AddressBook()
    got_send, got = trio.open_memory_channel[Received](100)
    b = await endpoint(nursery, "b", inbox=got_send)
    a = await endpoint(nursery, "a", faults=faults, addresses=book)
    assert b.address is not None
    with trio.fail_after(5):
        faults.set(FaultRule(src="a", dst=f"127.0.0.1:{b.address[1]}", drop=True))  # b's name unknown yet
        assert await a.send(b.address, b"lost 1")  # sent, as far as the sender can tell
        book.set(b.address, "b")
        faults.replace([FaultRule(src="a", dst="b", drop=True)])
        assert await a.send(b.address, b"lost 2")
        faults.replace([FaultRule(src="a", dst="b", duplicate=1.0)])
        assert await a.send(b.address, b"twice")
        faults.replace([FaultRule(src="a", dst="b", delay=0.2)])
        started = trio.current_time()
        sent_before = a.counts["sent"]
        assert await a.send(b.address, b"late")
        assert a.counts["sent"] == sent_before and a.statistics()["delayed"] == 1  # held back; the sender did not wait
        faults.heal()
        payloads = [(await got.receive())[1] for _ in range(3)]
        assert trio.current_time() - started >= 0.2
    assert payloads == [b"twice", b"twice", b"late"]
    assert faults.links[f"a->127.0.0.1:{b.address[1]}"].dropped == 1
    assert (faults.links["a->b"].dropped, faults.links["a->b"].duplicated, faults.links["a->b"].delayed) == (1, 1, 1)
