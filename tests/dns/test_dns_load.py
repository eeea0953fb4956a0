"""Bounded concurrency: a saturated or flooded DNS actor drops excess UDP, and the HTTP API keeps answering."""

from __future__ import annotations

import dns.message
import dns.rcode
import msgspec
import trio
import trio.testing

from actors.dns import DnsServer
from runtime.supervisor import ChildSpec
from tests.dns.conftest import TIMEOUT, Agent, AgentFactory, addresses, dev_config
from tests.dns.recursor import FakeRecursor
from tests.support.http_client import call


async def test_full_worker_pool_drops_and_counts_excess_datagrams(nursery: trio.Nursery,
                                                                  start_agent: AgentFactory) -> None:
    dead = FakeRecursor("silent")
    await nursery.start(dead.run)
    cfg = dev_config(dns_port=-1, recursor_timeout=0.5)  # the agent starts no DNS actor of its own
    agent: Agent = await start_agent(config=msgspec.structs.replace(cfg, recursors=[dead.spec]))
    root = agent.ctx.tree.get(agent.ctx.root_path).actor
    await root.add_child(ChildSpec("dns", DnsServer, agent.ctx, port=0, udp_workers=2, udp_queue=2))

    queries = [dns.message.make_query(f"q{i}.example.com", "A") for i in range(50)]
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
        await sock.connect(agent.dns_addr)
        for query in queries:
            await sock.send(query.to_wire())
        # Loopback delivery is immediate: once every task is blocked, the reader has seen all 50.
        await trio.testing.wait_all_tasks_blocked()
        stats = agent.stats()
        assert (stats["in_flight"], stats["udp_queued"], stats["dropped"]) == (2, 2, 46)

        # The HTTP API answers while the DNS pool is saturated.
        with trio.fail_after(TIMEOUT):
            assert (await call(agent.ctx.http_addr, "GET", "/v1/status/leader")).status == 200

        # The four accepted queries are answered SERVFAIL once the dead recursor times out.
        with trio.fail_after(TIMEOUT):
            replies = [dns.message.from_wire(await sock.recv(65535)) for _ in range(4)]
    assert {r.rcode() for r in replies} == {dns.rcode.SERVFAIL}
    assert {r.id for r in replies} <= {q.id for q in queries}
    await agent.service("web1", "10.0.0.1", "web")
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1"]
    assert agent.stats()["in_flight"] == 0 and agent.cell.restarts == 0


async def test_flood_does_not_starve_http(agent: Agent) -> None:
    await agent.service("web1", "10.0.0.1", "web")
    wire = dns.message.make_query("web.service.consul", "A").to_wire()
    marker = dns.message.make_query("n1.node.consul", "A")
    latencies: list[float] = []
    flooding = True

    async def flood() -> None:
        nonlocal flooding
        with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
            await sock.connect(agent.dns_addr)

            async def until_marker_answered() -> None:
                with trio.fail_after(4 * TIMEOUT):
                    while (await sock.recv(65535))[:2] != marker.id.to_bytes(2, "big"):
                        pass

            async with trio.open_nursery() as nursery:
                nursery.start_soon(until_marker_answered)
                for _ in range(2000):
                    await sock.send(wire)
                await sock.send(marker.to_wire())  # answered after (nearly) all the flood: FIFO queue
        flooding = False

    async def http() -> None:
        while flooding or len(latencies) < 5:
            started = trio.current_time()
            with trio.fail_after(TIMEOUT):
                assert (await call(agent.ctx.http_addr, "GET", "/v1/catalog/service/web")).status == 200
            latencies.append(trio.current_time() - started)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(flood)
        nursery.start_soon(http)
    assert len(latencies) >= 5 and max(latencies) < 1.0, latencies
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1"]
    stats = agent.stats()
    assert stats["queries"] + stats["dropped"] <= 2002 and stats["errors"] == 0
