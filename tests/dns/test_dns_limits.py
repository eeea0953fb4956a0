"""Answer limits: UDP trimmed to udp_answer_limit and 512 bytes (or the EDNS0 size), TCP complete, TC bit."""

from __future__ import annotations

import dns.flags
import dns.message

from actors.state.commands import Txn, TxnNodeOp, TxnServiceOp
from actors.state.models import Node, NodeService
from tests.dns.conftest import Agent, AgentFactory, addresses, answers

COUNT = 20


async def many(agent: Agent, *, long_names: bool = False) -> None:
    for i in range(COUNT):
        node = f"node-{i:02d}" + ("-with-a-rather-long-name-to-fill-the-packet" if long_names else "")
        await agent.service(node, f"10.0.3.{i + 1}", "big", port=9000 + i)


async def test_udp_answers_are_limited_to_three_without_tc(agent: Agent) -> None:
    await many(agent)
    reply = await agent.udp("big.service.consul")
    assert len(answers(reply, "A")) == 3
    assert not reply.flags & dns.flags.TC
    assert agent.stats()["truncated"] >= 1


async def test_tcp_answers_are_complete(agent: Agent) -> None:
    await many(agent)
    reply = await agent.tcp("big.service.consul")
    assert addresses(reply) == sorted(f"10.0.3.{i + 1}" for i in range(COUNT))
    srv = await agent.tcp("big.service.consul", "SRV")
    assert len(answers(srv, "SRV")) == COUNT and len(srv.additional) >= COUNT


async def test_edns0_lifts_the_answer_count_limit(agent: Agent) -> None:
    await many(agent)
    reply = await agent.udp("big.service.consul", use_edns=0, payload=4096)
    assert len(answers(reply, "A")) == COUNT
    assert reply.edns == 0  # the reply carries an OPT record too


async def test_udp_answer_limit_is_capped_at_eight(start_agent: AgentFactory) -> None:
    agent = await start_agent(udp_answer_limit=50)
    await many(agent)
    assert len(answers(await agent.udp("big.service.consul"), "A")) == 8


async def test_udp_reply_fits_512_bytes(start_agent: AgentFactory) -> None:
    agent = await start_agent(udp_answer_limit=8)
    await many(agent, long_names=True)
    raw = await agent.raw_udp(dns.message.make_query("big.service.consul", "SRV").to_wire())
    assert raw is not None and len(raw) <= 512
    reply = dns.message.from_wire(raw)
    srvs = answers(reply, "SRV")
    assert 1 <= len(srvs) < 8
    # The additional section holds only the kept targets' records.
    targets = {rd.target for rd in srvs}
    assert {rrset.name for rrset in reply.additional} <= targets
    assert not reply.flags & dns.flags.TC


async def test_tc_bit_with_enable_truncate(start_agent: AgentFactory) -> None:
    agent = await start_agent(enable_truncate=True)
    await many(agent)
    udp = await agent.udp("big.service.consul")
    assert udp.flags & dns.flags.TC and len(answers(udp, "A")) == 3
    tcp = await agent.tcp("big.service.consul")
    assert not tcp.flags & dns.flags.TC and len(answers(tcp, "A")) == COUNT
    small = await agent.udp("n1.node.consul")
    assert not small.flags & dns.flags.TC


async def test_a_record_limit(start_agent: AgentFactory) -> None:
    agent = await start_agent(a_record_limit=5)
    await many(agent)
    assert len(answers(await agent.tcp("big.service.consul"), "A")) == 5
    assert len(answers(await agent.tcp("big.service.consul", "SRV"), "SRV")) == COUNT  # SRV is not limited


async def test_very_large_answers_are_trimmed_off_the_event_loop(agent: Agent) -> None:
    # 600 instances on one node, one transaction: more than OFFLOAD_ANSWERS SRV records.
    ops = [TxnNodeOp(verb="set", node=Node(node="bulk", address="10.0.4.1"))]
    ops += [TxnServiceOp(verb="set", node="bulk", service=NodeService(id=f"bulk-{i}", service="bulk", port=20000 + i))
            for i in range(600)]
    (await agent.ctx.backend.write(Txn(ops=ops))).unwrap()
    tcp = await agent.tcp("bulk.service.consul", "SRV")
    assert len(answers(tcp, "SRV")) == 600
    udp = await agent.udp("bulk.service.consul", "SRV", use_edns=0, payload=4096)
    assert 60 < len(answers(udp, "SRV")) < 600 and len(udp.to_wire()) <= 4096
    assert agent.stats()["truncated"] == 1 and agent.stats()["errors"] == 0
