"""Fixtures for the DNS tests: an in-process ``-dev`` agent with HTTP and DNS on ephemeral loopback ports.

What lives here: `dev_config` (ports set on the parsed config, as only in-process tests need), the
`Agent` helper (register nodes/services/checks through ``/v1/catalog/register``, ask questions over
UDP or TCP with dnspython, send raw bytes, read the DNS actor's statistics) and the fixtures that start
one agent per test. Every network wait is bounded by ``trio.fail_after``.

What must never live here: assertions about DNS behaviour; those are the tests' own.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Awaitable, Callable

import dns.asyncquery
import dns.message
import dns.rdatatype
import msgspec
import pytest
import trio

from actors.agent import serve_agent
from actors.context import AgentContext
from actors.flags import parse_agent_flags
from tests.support.http_client import call

TIMEOUT = 5.0


def dev_config(*flags: str, dns_port: int = 0, **dns_config: Any) -> Any:
    """A ``-dev`` config with HTTP and DNS on ephemeral ports, plus ``dns_config`` overrides."""
    cfg = parse_agent_flags(["-dev", "-node", "n1", *flags], hostname="testhost")
    cfg = msgspec.structs.replace(cfg, ports=msgspec.structs.replace(cfg.ports, http=0, dns=dns_port, server=0, serf_lan=0, serf_wan=0))
    if dns_config:
        cfg = msgspec.structs.replace(cfg, dns_config=msgspec.structs.replace(cfg.dns_config, **dns_config))
    return cfg


class Agent:
    """One running agent and the ways the tests talk to it."""

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx

    @property
    def dns_addr(self) -> tuple[str, int]:
        return self.ctx.extras["dns_addr"]

    @property
    def cell(self) -> Any:
        return self.ctx.tree.get(f"{self.ctx.root_path}/dns")

    def stats(self) -> dict[str, Any]:
        return self.cell.actor.statistics()

    async def wait_for_self_registration(self) -> None:
        """Block (HTTP blocking queries, bounded) until the agent's own node carries the ``consul`` service."""
        index = 0
        with trio.fail_after(TIMEOUT):
            while True:
                reply = await call(self.ctx.http_addr, "GET", f"/v1/catalog/service/consul?index={index}&wait=2s")
                assert reply.status == 200, reply
                if reply.json():
                    return
                index = int(reply.headers["x-consul-index"])

    async def register(self, body: dict[str, Any]) -> None:
        reply = await call(self.ctx.http_addr, "PUT", "/v1/catalog/register", json.dumps(body).encode())
        assert reply.status == 200, reply

    async def service(self, node: str, address: str, service: str, *, port: int = 8080, tags: list[str] = (),
                      service_address: str = "", service_id: str = "", checks: list[dict[str, Any]] = (),
                      weights: dict[str, int] | None = None, meta: dict[str, str] | None = None) -> None:
        svc: dict[str, Any] = {"ID": service_id or service, "Service": service, "Tags": list(tags), "Port": port,
                               "Address": service_address}
        if weights is not None:
            svc["Weights"] = weights
        body: dict[str, Any] = {"Node": node, "Address": address, "Service": svc, "Checks": list(checks)}
        if meta is not None:
            body["NodeMeta"] = meta
        await self.register(body)

    async def check(self, node: str, address: str, check_id: str, status: str, service_id: str = "") -> None:
        await self.register({"Node": node, "Address": address, "SkipNodeUpdate": True,
                             "Check": {"CheckID": check_id, "Name": check_id, "Status": status,
                                       "ServiceID": service_id}})

    async def udp(self, name: str, rdtype: str = "A", **query: Any) -> dns.message.Message:
        q = dns.message.make_query(name, rdtype, **query)
        host, port = self.dns_addr
        with trio.fail_after(TIMEOUT):
            return await dns.asyncquery.udp(q, host, port=port, timeout=TIMEOUT)

    async def tcp(self, name: str, rdtype: str = "A", **query: Any) -> dns.message.Message:
        q = dns.message.make_query(name, rdtype, **query)
        host, port = self.dns_addr
        with trio.fail_after(TIMEOUT):
            return await dns.asyncquery.tcp(q, host, port=port, timeout=TIMEOUT)

    async def ask(self, transport: str, name: str, rdtype: str = "A", **query: Any) -> dns.message.Message:
        return await (self.udp if transport == "udp" else self.tcp)(name, rdtype, **query)

    async def raw_udp(self, data: bytes, *, expect_reply: bool = True) -> bytes | None:
        """Send ``data`` in one datagram; return the reply (or None when none is expected)."""
        with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
            await sock.connect(self.dns_addr)
            await sock.send(data)
            if not expect_reply:
                return None
            with trio.fail_after(TIMEOUT):
                return await sock.recv(65535)


def answers(msg: dns.message.Message, rdtype: str) -> list[Any]:
    """The rdatas of type ``rdtype`` in the answer section, in order."""
    want = dns.rdatatype.from_text(rdtype)
    return [rd for rrset in msg.answer if rrset.rdtype == want for rd in rrset]


def addresses(msg: dns.message.Message) -> list[str]:
    return sorted(rd.address for rrset in msg.answer if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                  for rd in rrset)


def soa_in_authority(msg: dns.message.Message) -> bool:
    return any(rrset.rdtype == dns.rdatatype.SOA for rrset in msg.authority)


AgentFactory = Callable[..., Awaitable[Agent]]


@pytest.fixture
async def start_agent(nursery: trio.Nursery) -> AgentFactory:
    """``await start_agent(*flags, **dns_config)``: an agent for this test, stopped with it."""

    async def start(*flags: str, config: Any = None, **dns_config: Any) -> Agent:
        cfg = config if config is not None else dev_config(*flags, **dns_config)
        with trio.fail_after(TIMEOUT):
            ctx = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
        agent = Agent(ctx)
        if cfg.server:
            await agent.wait_for_self_registration()
        return agent

    return start


@pytest.fixture
async def agent(start_agent: AgentFactory) -> AsyncIterator[Agent]:
    yield await start_agent()
