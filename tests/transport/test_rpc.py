"""RPC over the stream transport: round trips, multiplexing, remote errors, timeouts, lost servers, faults.

What must never live here: codec or listener bad-input cases (test_frames, test_listener).
"""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing

from runtime.messages import Message
from runtime.transport.addresses import AddressBook
from runtime.transport.errors import RpcConnectionLost, RpcError, RpcRemoteError, RpcTimeout, RpcUnreachable
from runtime.transport.faults import FaultRule, FaultTable
from runtime.transport.protocols import StreamProtocols
from runtime.transport.rpc_client import RpcClient, RpcClientActor
from runtime.transport.rpc_server import RpcServer

from .helpers import LOCALHOST, Ping, start, start_listener, unused_port


class Add(Message, tag="test.add"):
    a: int
    b: int


class Fail(Message, tag="test.fail"):
    why: str


class Hang(Message, tag="test.hang"):
    pass


class Gather(Message, tag="test.gather"):
    n: int


class Forward(Message, tag="test.forward"):
    request: Fail


class Sum(Message, tag="test.sum"):
    value: int


Request = Add | Fail | Hang | Gather | Forward
Response = Sum


class Service:
    """The handler behind one test server. ``Gather`` calls wait until ``gather`` of them are in flight."""

    def __init__(self, gather: int = 0, forward_to: tuple[RpcClient, tuple[str, int]] | None = None) -> None:
        self.gather = gather
        self.arrived = 0
        self.all_here = trio.Event()
        self.forward_to = forward_to

    async def handle(self, request: Request) -> Response:
        if isinstance(request, Add):
            return Sum(value=request.a + request.b)
        if isinstance(request, Fail):
            raise ValueError(request.why)
        if isinstance(request, Gather):
            self.arrived += 1
            if self.arrived == self.gather:
                self.all_here.set()
            await self.all_here.wait()  # only returns if the calls really are concurrent
            return Sum(value=request.n)
        if isinstance(request, Forward):
            assert self.forward_to is not None
            client, address = self.forward_to
            return await client.call(address, request.request)
        await trio.sleep_forever()
        raise AssertionError


async def start_server(nursery: trio.Nursery, service: Service, *, node: str = "s1", dc: str = "dc1",
                       faults: FaultTable | None = None, port: int = 0) -> tuple[str, int]:
    protocols = StreamProtocols()
    protocols.add(RpcServer(service.handle, Request, node=node, dc=dc).protocol())
    listener = await start_listener(nursery, protocols, node=node, faults=faults, port=port)
    assert listener.address is not None
    return listener.address


async def start_client(nursery: trio.Nursery, *, node: str = "c1", faults: FaultTable | None = None,
                       addresses: AddressBook | None = None) -> RpcClient:
    client = RpcClient(node=node, dc="dc1", response_type=Response, faults=faults, addresses=addresses)
    await start(nursery, RpcClientActor(client), f"rpc:{node}")
    return client


async def test_round_trip(nursery: trio.Nursery) -> None:
    address = await start_server(nursery, Service())
    client = await start_client(nursery)
    with trio.fail_after(5):
        assert await client.call(address, Add(a=2, b=40)) == Sum(value=42)
        assert await client.call(address, Add(a=1, b=1)) == Sum(value=2)
    assert client.statistics()["calls"] == 2 and client.statistics()["connections"] == [f"{address[0]}:{address[1]}"]


async def test_concurrent_calls_are_multiplexed_over_one_connection(nursery: trio.Nursery) -> None:
    service = Service(gather=20)
    address = await start_server(nursery, service)
    client = await start_client(nursery)
    results: dict[int, int] = {}

    async def one(n: int) -> None:
        results[n] = (await client.call(address, Gather(n=n))).value

    with trio.fail_after(5):
        async with trio.open_nursery() as calls:
            for n in range(20):
                calls.start_soon(one, n)
    assert results == {n: n for n in range(20)}
    assert client.counters.frames_out == 1 + 20  # one hello, then every request on the same connection
    assert len(client.statistics()["connections"]) == 1


async def test_a_remote_error_comes_back_boxed_and_the_connection_stays_up(nursery: trio.Nursery) -> None:
    address = await start_server(nursery, Service(), node="s1", dc="dc1")
    client = await start_client(nursery)
    with trio.fail_after(5):
        with pytest.raises(RpcRemoteError, match=r"ValueError at s1 \(dc1\): no such key") as caught:
            await client.call(address, Fail(why="no such key"))
        assert await client.call(address, Add(a=1, b=2)) == Sum(value=3)
    error = caught.value.error
    assert (error.origin_node, error.origin_dc, error.kind, error.message, error.relay) == ("s1", "dc1", "ValueError", "no such key", ())
    assert client.counters.frames_in == 2  # both replies on the one connection
    assert client.statistics()["remote_errors"] == 1


async def test_a_relayed_error_keeps_its_origin_and_records_the_hop(nursery: trio.Nursery) -> None:
    leader = await start_server(nursery, Service(), node="s2", dc="dc2")
    forwarder_client = await start_client(nursery, node="s1")
    follower = await start_server(nursery, Service(forward_to=(forwarder_client, leader)), node="s1", dc="dc1")
    client = await start_client(nursery)
    with trio.fail_after(5):
        with pytest.raises(RpcRemoteError, match=r"ValueError at s2 \(dc2\) via s1: not leader") as caught:
            await client.call(follower, Forward(request=Fail(why="not leader")))
    assert caught.value.error.origin_node == "s2" and caught.value.error.relay == ("s1",)


async def test_an_undecodable_request_body_is_a_remote_decode_error(nursery: trio.Nursery) -> None:
    address = await start_server(nursery, Service())
    client = await start_client(nursery)
    with trio.fail_after(5):
        with pytest.raises(RpcRemoteError, match="DecodeError") as caught:
            await client.call(address, Ping(n=1))  # not in the server's request union
        assert await client.call(address, Add(a=0, b=0)) == Sum(value=0)
    assert caught.value.error.kind == "DecodeError"


async def test_timeout(nursery: trio.Nursery) -> None:
    address = await start_server(nursery, Service())
    client = await start_client(nursery)
    with trio.fail_after(5):
        started = trio.current_time()
        with pytest.raises(RpcTimeout, match="no reply from 127.0.0.1:.* within 0.2s"):
            await client.call(address, Hang(), timeout=0.2)
        assert 0.2 <= trio.current_time() - started < 1.0
        assert await client.call(address, Add(a=1, b=1)) == Sum(value=2)  # the connection is still fine
    assert isinstance(RpcTimeout("x"), trio.TooSlowError)
    assert client.statistics()["timeouts"] == 1


async def test_nothing_listening_is_unreachable(nursery: trio.Nursery) -> None:
    client = await start_client(nursery)
    with trio.fail_after(5):
        with pytest.raises(RpcUnreachable, match="cannot connect"):
            await client.call((LOCALHOST, unused_port()), Add(a=1, b=1))
    assert client.statistics()["unreachable"] == 1 and client.statistics()["connections"] == []


async def test_a_server_lost_mid_call_fails_the_call_as_unreachable(nursery: trio.Nursery) -> None:
    client = await start_client(nursery)
    with trio.fail_after(5):
        async with trio.open_nursery() as server_life:
            address = await start_server(server_life, Service())
            assert await client.call(address, Add(a=1, b=1)) == Sum(value=2)

            async def stop_server_once_pending() -> None:
                while client.statistics()["pending"] == 0:
                    await trio.testing.wait_all_tasks_blocked()
                server_life.cancel_scope.cancel()

            server_life.start_soon(stop_server_once_pending)
            with pytest.raises(RpcConnectionLost, match="lost"):  # sent: it may have been handled
                await client.call(address, Hang(), timeout=4)


async def test_connect_probe_heard_since_and_drop(nursery: trio.Nursery) -> None:
    faults = FaultTable(random.Random(0))
    address = await start_server(nursery, Service(), node="s1")
    client = await start_client(nursery, node="c1", faults=faults, addresses=AddressBook({address: "s1"}))
    with trio.fail_after(5):
        await client.connect(address)  # opens the pooled connection, sends nothing
        assert client.counters.frames_out == 1 and len(client.statistics()["connections"]) == 1
        before = trio.current_time()
        assert not client.heard_since(address, before)
        assert await client.call(address, Add(a=1, b=1)) == Sum(value=2)
        assert client.heard_since(address, before) and not client.heard_since(address, trio.current_time() + 1)
        await client.probe(address)  # a fresh connection, closed at once; the pooled one is untouched
        assert client.statistics()["probes"] == 1 and len(client.statistics()["connections"]) == 1

        # Cut c1 -> s1: the pooled connection silently loses what it sends, a probe is refused at once,
        # and dropping the connection fails the call waiting on it (as maybe delivered), not at its timeout.
        faults.set(FaultRule(src="c1", dst="s1", drop=True))
        with pytest.raises(RpcUnreachable, match="partitioned"):
            await client.probe(address)
        failure: list[BaseException] = []

        async def waiting_call() -> None:
            try:
                await client.call(address, Add(a=2, b=2), timeout=30)
            except RpcError as exc:
                failure.append(exc)

        async with trio.open_nursery() as calls:
            calls.start_soon(waiting_call)
            while client.statistics()["pending"] == 0:
                await trio.testing.wait_all_tasks_blocked()
            started = trio.current_time()
            assert client.drop(address, "route lost")
        assert trio.current_time() - started < 1.0
        assert len(failure) == 1 and isinstance(failure[0], RpcConnectionLost) and "route lost" in str(failure[0])
        assert client.statistics()["connections"] == [] and not client.drop(address, "again")
        with pytest.raises(RpcUnreachable, match="partitioned") as info:
            await client.connect(address)
        assert not isinstance(info.value, RpcConnectionLost)  # nothing was sent
        faults.heal()
        assert await client.call(address, Add(a=3, b=3)) == Sum(value=6)
    stats = client.statistics()
    assert (stats["probes"], stats["probe_failures"], stats["dropped"]) == (2, 1, 1)


async def test_a_probe_needs_the_dial_only_and_is_refused_by_a_closed_port(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    client = await start_client(nursery)
    with trio.socket.socket() as sock:  # listening, never accepting: the dial completes, the hello is sent
        await sock.bind((LOCALHOST, 0))
        sock.listen(1)
        address = sock.getsockname()
        await client.probe(address, timeout=0.3)
    with pytest.raises(RpcUnreachable, match="cannot connect"):
        await client.probe((LOCALHOST, unused_port()), timeout=0.3)


async def test_a_client_that_is_not_running_is_unreachable() -> None:
    client = RpcClient(node="c1")
    with pytest.raises(RpcUnreachable, match="not running"):
        await client.call((LOCALHOST, 1), Add(a=1, b=1))


async def test_faults_apply_by_node_name_both_ways(nursery: trio.Nursery) -> None:
    faults = FaultTable(random.Random(0))
    address = await start_server(nursery, Service(), node="s1", faults=faults)
    book = AddressBook({address: "s1"})
    client = await start_client(nursery, node="c1", faults=faults, addresses=book)
    with trio.fail_after(5):
        faults.set(FaultRule(src="c1", dst="s1", drop=True))
        with pytest.raises(RpcUnreachable, match="c1 -> s1 is partitioned"):
            await client.call(address, Add(a=1, b=1))
        faults.heal()
        assert await client.call(address, Add(a=1, b=1)) == Sum(value=2)
        faults.set(FaultRule(src="s1", dst="c1", drop=True))  # the answers are lost on the way back
        with pytest.raises(RpcTimeout):
            await client.call(address, Add(a=2, b=2), timeout=0.2)
        faults.heal()
        assert await client.call(address, Add(a=3, b=3)) == Sum(value=6)
    assert faults.links["c1->s1"].dropped == 1 and faults.links["s1->c1"].dropped == 1


async def test_a_request_too_large_for_a_frame_is_refused_locally(nursery: trio.Nursery) -> None:
    address = await start_server(nursery, Service())
    client = RpcClient(node="c1", response_type=Response, max_frame=64)
    await start(nursery, RpcClientActor(client), "rpc:small")
    with trio.fail_after(5):
        with pytest.raises(RpcError, match="request not sent: frame of .* bytes exceeds the limit of 64"):
            await client.call(address, Fail(why="x" * 100))
        assert await client.call(address, Add(a=1, b=1)) == Sum(value=2)
