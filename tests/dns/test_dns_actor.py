"""The ``dns`` actor itself: wiring, readiness, statistics, no backend, stale reads, port conflicts, restarts."""

from __future__ import annotations

from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import pytest
import trio

from actors.context import AgentContext
from actors.dns import DnsServer
from actors.dns import query as query_module
from actors.dns.server import bind
from actors.state.commands import NodeRegister
from actors.state.models import NodeService
from actors.state.store import StateStore
from runtime.supervisor import ChildSpec, Supervisor, run_root
from runtime.tree import ActorTree
from tests.dns.conftest import TIMEOUT, Agent, AgentFactory, addresses, dev_config


async def test_the_agent_starts_dns_and_publishes_its_address(agent: Agent) -> None:
    host, port = agent.dns_addr
    assert host == "127.0.0.1" and port > 0
    assert agent.cell.kind == "dns" and agent.cell.state == "running"
    await agent.udp("n1.node.consul")
    await agent.tcp("nothing.consul", "TXT")
    stats = agent.stats()
    assert stats["address"] == f"127.0.0.1:{port}"
    assert stats["by_rcode"] == {"NOERROR": 1, "NXDOMAIN": 1} and stats["by_qtype"] == {"A": 1, "TXT": 1}
    assert {"truncated", "dropped", "in_flight", "udp_queued", "tcp_rejected"} <= set(stats)


async def test_dns_port_minus_one_disables_dns(start_agent: AgentFactory) -> None:
    agent = await start_agent(config=dev_config(dns_port=-1))
    assert "dns_addr" not in agent.ctx.extras
    with pytest.raises(KeyError):
        agent.cell


async def test_without_a_backend_in_domain_names_are_servfail(nursery: trio.Nursery) -> None:
    addr = await start_dns(nursery, dev_config(), None)  # an agent with no replicated state (a client, for now)
    assert (await ask(addr, "web.service.consul")).rcode() == dns.rcode.SERVFAIL
    assert (await ask(addr, "example.com")).rcode() == dns.rcode.REFUSED


class LeaderlessBackend:
    """A replica that lost its leader: stale reads answer at once, anything else waits forever."""

    def __init__(self) -> None:
        self.store = StateStore()
        self.store.apply(1, NodeRegister(node="web1", address="10.0.0.1",
                                         service=NodeService(id="web", service="web", port=80)))
        self.modes: list[str] = []

    async def read_barrier(self, mode: str, max_stale: float | None = None) -> None:
        self.modes.append(mode)
        if mode != "stale":
            await trio.sleep_forever()
        await trio.lowlevel.checkpoint()


async def start_dns(nursery: trio.Nursery, cfg: Any, backend: Any) -> tuple[str, int]:
    ctx = AgentContext(cfg, ActorTree(), seed=1)
    ctx.backend = backend
    with trio.fail_after(TIMEOUT):
        await nursery.start(run_root, ctx.tree, ctx.root_path, Supervisor([ChildSpec("dns", DnsServer, ctx)]))
    return ctx.extras["dns_addr"]


async def ask(addr: tuple[str, int], name: str) -> dns.message.Message:
    with trio.fail_after(TIMEOUT):
        return await dns.asyncquery.udp(dns.message.make_query(name, "A"), addr[0], port=addr[1], timeout=TIMEOUT)


async def test_stale_reads_keep_dns_answering_without_a_leader(nursery: trio.Nursery) -> None:
    backend = LeaderlessBackend()
    addr = await start_dns(nursery, dev_config(), backend)
    assert addresses(await ask(addr, "web.service.consul")) == ["10.0.0.1"]
    assert backend.modes == ["stale"]


async def test_without_allow_stale_a_leaderless_read_times_out_as_servfail(
        nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query_module, "READ_TIMEOUT", 0.1)
    backend = LeaderlessBackend()
    addr = await start_dns(nursery, dev_config(allow_stale=False), backend)
    assert (await ask(addr, "web.service.consul")).rcode() == dns.rcode.SERVFAIL
    assert backend.modes == ["default"]


async def test_a_taken_fixed_port_is_an_error() -> None:
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as taken:
        await taken.bind(("127.0.0.1", 0))
        with pytest.raises(OSError):
            await bind("127.0.0.1", taken.getsockname()[1])


async def test_a_crashed_dns_actor_is_restarted_and_answers_again(agent: Agent) -> None:
    await agent.service("web1", "10.0.0.1", "web")
    tree = agent.ctx.tree
    version = tree.version
    tree.inject(agent.cell.path, "crash")
    with trio.fail_after(TIMEOUT):
        while not (agent.cell.restarts == 1 and agent.cell.state == "running"):
            version = await tree.wait_changed(version)
    assert agent.cell.last_error.type == "InjectedCrash"
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1"]  # the republished address
    assert agent.stats()["queries"] == 1  # counters belong to the new incarnation
