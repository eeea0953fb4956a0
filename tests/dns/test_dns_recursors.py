"""Names outside the domain forwarded to the configured recursors (UDP and TCP), in order, with a timeout."""

from __future__ import annotations

import dns.flags
import dns.rcode
import msgspec
import pytest
import trio

from tests.dns.conftest import AgentFactory, addresses, dev_config
from tests.dns.recursor import FakeRecursor


async def start_recursor(nursery: trio.Nursery, recursor: FakeRecursor) -> FakeRecursor:
    await nursery.start(recursor.run)
    return recursor


def with_recursors(*recursors: FakeRecursor, timeout: float = 2.0) -> object:
    cfg = dev_config(recursor_timeout=timeout)
    return msgspec.structs.replace(cfg, recursors=[r.spec for r in recursors])


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_forwarded_to_the_recursor(nursery: trio.Nursery, start_agent: AgentFactory, transport: str) -> None:
    upstream = await start_recursor(nursery, FakeRecursor())
    agent = await start_agent(config=with_recursors(upstream))
    reply = await agent.ask(transport, "www.example.com")
    assert reply.rcode() == dns.rcode.NOERROR and addresses(reply) == ["192.0.2.10"]
    assert upstream.asked == ["www.example.com."]
    # Names in the domain are still ours, and say recursion is available.
    inside = await agent.ask(transport, "n1.node.consul")
    assert addresses(inside) == ["127.0.0.1"] and inside.flags & dns.flags.RA
    assert upstream.asked == ["www.example.com."]


async def test_recursors_are_tried_in_order(nursery: trio.Nursery, start_agent: AgentFactory) -> None:
    failing = await start_recursor(nursery, FakeRecursor("rcode", rcode=dns.rcode.SERVFAIL))
    good = await start_recursor(nursery, FakeRecursor(address="192.0.2.20"))
    agent = await start_agent(config=with_recursors(failing, good))
    reply = await agent.udp("www.example.com")
    assert addresses(reply) == ["192.0.2.20"]
    assert failing.asked == good.asked == ["www.example.com."]


async def test_nxdomain_from_the_recursor_is_passed_on(nursery: trio.Nursery, start_agent: AgentFactory) -> None:
    upstream = await start_recursor(nursery, FakeRecursor("rcode", rcode=dns.rcode.NXDOMAIN))
    agent = await start_agent(config=with_recursors(upstream))
    assert (await agent.udp("nope.example.com")).rcode() == dns.rcode.NXDOMAIN


async def test_silent_recursor_gives_servfail_after_the_timeout(nursery: trio.Nursery,
                                                                start_agent: AgentFactory) -> None:
    dead = await start_recursor(nursery, FakeRecursor("silent"))
    agent = await start_agent(config=with_recursors(dead, timeout=0.2))
    started = trio.current_time()
    reply = await agent.udp("www.example.com")
    assert reply.rcode() == dns.rcode.SERVFAIL
    assert 0.2 <= trio.current_time() - started < 2.0
    assert agent.stats()["recursed"] == 1


async def test_unknown_reverse_names_are_forwarded(nursery: trio.Nursery, start_agent: AgentFactory) -> None:
    upstream = await start_recursor(nursery, FakeRecursor())
    agent = await start_agent(config=with_recursors(upstream))
    await agent.udp("4.3.2.1.in-addr.arpa", "PTR")
    assert upstream.asked == ["4.3.2.1.in-addr.arpa."]
    known = await agent.udp("1.0.0.127.in-addr.arpa", "PTR")  # the agent's own node: answered locally
    assert known.answer and upstream.asked == ["4.3.2.1.in-addr.arpa."]
