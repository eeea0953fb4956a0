"""Every name form of Consul's DNS interface, over UDP and TCP, against a live ``-dev`` agent."""

from __future__ import annotations

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

from tests.dns.conftest import Agent, AgentFactory, addresses, answers, soa_in_authority

TRANSPORTS = ["udp", "tcp"]


async def populate(agent: Agent) -> None:
    await agent.service("web1", "10.0.0.1", "web", tags=["primary", "v1"], port=8080,
                        meta={"rack": "r1", "rfc1035-spf": "v=spf1 -all", "a=b": "c`d"})
    await agent.service("web2", "10.0.0.2", "web", tags=["v1"], port=8081)
    await agent.service("db1", "10.0.1.1", "db", service_address="10.9.9.9", port=5432)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_service_a_records(agent: Agent, transport: str) -> None:
    await populate(agent)
    reply = await agent.ask(transport, "web.service.consul")
    assert reply.rcode() == dns.rcode.NOERROR
    assert addresses(reply) == ["10.0.0.1", "10.0.0.2"]
    assert reply.flags & dns.flags.AA
    # The service's own address wins over the node's.
    assert addresses(await agent.ask(transport, "db.service.consul")) == ["10.9.9.9"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_service_with_tag_and_datacenter(agent: Agent, transport: str) -> None:
    await populate(agent)
    assert addresses(await agent.ask(transport, "primary.web.service.consul")) == ["10.0.0.1"]
    assert addresses(await agent.ask(transport, "v1.web.service.dc1.consul")) == ["10.0.0.1", "10.0.0.2"]
    assert addresses(await agent.ask(transport, "web.service.dc1.dc.consul")) == ["10.0.0.1", "10.0.0.2"]
    missing = await agent.ask(transport, "nosuchtag.web.service.consul")
    assert missing.rcode() == dns.rcode.NXDOMAIN and soa_in_authority(missing)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_service_srv_with_node_targets(agent: Agent, transport: str) -> None:
    await populate(agent)
    reply = await agent.ask(transport, "web.service.consul", "SRV")
    srvs = sorted(answers(reply, "SRV"), key=lambda rd: rd.port)
    assert [(rd.priority, rd.weight, rd.port, rd.target.to_text()) for rd in srvs] == [
        (1, 1, 8080, "web1.node.dc1.consul."),
        (1, 1, 8081, "web2.node.dc1.consul."),
    ]
    glue = {rrset.name.to_text(): [rd.address for rd in rrset] for rrset in reply.additional
            if rrset.rdtype == dns.rdatatype.A}
    assert glue == {"web1.node.dc1.consul.": ["10.0.0.1"], "web2.node.dc1.consul.": ["10.0.0.2"]}
    # Node meta rides along as TXT for the targets (Consul's enable_additional_node_meta_txt default).
    txt = sorted(b"".join(rd.strings).decode() for rrset in reply.additional if rrset.rdtype == dns.rdatatype.TXT
                 for rd in rrset)
    assert txt == ["a`=b=c``d", "rack=r1", "v=spf1 -all"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_srv_target_is_an_addr_name_when_the_service_has_its_own_address(agent: Agent, transport: str) -> None:
    await populate(agent)
    reply = await agent.ask(transport, "db.service.consul", "SRV")
    (srv,) = answers(reply, "SRV")
    assert srv.target.to_text() == "0a090909.addr.dc1.consul." and srv.port == 5432
    assert [rrset.name.to_text() for rrset in reply.additional if rrset.rdtype == dns.rdatatype.A] == [
        "0a090909.addr.dc1.consul."]
    addr = await agent.ask(transport, "0a090909.addr.dc1.consul")
    assert addresses(addr) == ["10.9.9.9"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", ["_web._tcp.service.consul", "_web._tcp.consul", "_web._tcp.service.dc1.consul",
                                  "_web._tcp.dc1.consul"])
async def test_rfc2782_names(agent: Agent, transport: str, name: str) -> None:
    await populate(agent)
    reply = await agent.ask(transport, name, "SRV")
    assert sorted(rd.port for rd in answers(reply, "SRV")) == [8080, 8081]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_rfc2782_tag_filter(agent: Agent, transport: str) -> None:
    await populate(agent)
    reply = await agent.ask(transport, "_web._primary.service.consul", "SRV")
    assert [rd.port for rd in answers(reply, "SRV")] == [8080]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_node_lookups(agent: Agent, transport: str) -> None:
    await populate(agent)
    reply = await agent.ask(transport, "web1.node.consul")
    assert addresses(reply) == ["10.0.0.1"]
    assert addresses(await agent.ask(transport, "web1.node.dc1.consul")) == ["10.0.0.1"]
    txt = await agent.ask(transport, "web1.node.consul", "TXT")
    assert sorted(b"".join(rd.strings).decode() for rd in answers(txt, "TXT")) == [
        "a`=b=c``d", "rack=r1", "v=spf1 -all"]
    missing = await agent.ask(transport, "nope.node.consul")
    assert missing.rcode() == dns.rcode.NXDOMAIN and soa_in_authority(missing)


async def test_names_are_case_insensitive(agent: Agent) -> None:
    await populate(agent)
    reply = await agent.udp("WEB.Service.CONSUL")
    assert addresses(reply) == ["10.0.0.1", "10.0.0.2"]
    assert reply.answer[0].name.to_text() == "WEB.Service.CONSUL."  # the owner name echoes the question
    assert addresses(await agent.udp("PRIMARY.web.SERVICE.dc1.consul")) == ["10.0.0.1"]
    assert addresses(await agent.udp("Web1.NODE.consul")) == ["10.0.0.1"]


async def test_ipv6_and_hostname_addresses(agent: Agent) -> None:
    await agent.service("v6", "fd00::5", "api", port=1)
    await agent.service("ext", "10.0.0.7", "search", service_address="search.example.com", port=2)
    aaaa = await agent.udp("api.service.consul", "AAAA")
    assert addresses(aaaa) == ["fd00::5"]
    nodata = await agent.udp("api.service.consul", "A")  # the name exists, only not with an A record
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and soa_in_authority(nodata)
    cname = await agent.udp("search.service.consul")
    assert [rd.target.to_text() for rd in answers(cname, "CNAME")] == ["search.example.com."]
    srv = await agent.udp("search.service.consul", "SRV")
    assert [rd.target.to_text() for rd in answers(srv, "SRV")] == ["search.example.com."]


async def test_reverse_lookup_of_nodes_and_service_addresses(agent: Agent) -> None:
    await populate(agent)
    ptr = await agent.udp("1.0.0.10.in-addr.arpa", "PTR")
    assert [rd.target.to_text() for rd in answers(ptr, "PTR")] == ["web1.node.dc1.consul."]
    svc = await agent.udp("9.9.9.10.in-addr.arpa", "PTR")
    assert [rd.target.to_text() for rd in answers(svc, "PTR")] == ["db.service.dc1.consul."]
    unknown = await agent.udp("4.3.2.1.in-addr.arpa", "PTR")
    assert unknown.rcode() == dns.rcode.NXDOMAIN and soa_in_authority(unknown)


async def test_apex_soa_and_ns(agent: Agent) -> None:
    soa = await agent.udp("consul", "SOA")
    (record,) = answers(soa, "SOA")
    assert (record.mname.to_text(), record.rname.to_text()) == ("ns.consul.", "hostmaster.consul.")
    assert (record.refresh, record.retry, record.expire, record.minimum) == (3600, 600, 86400, 0)
    ns = await agent.udp("consul", "NS")
    # The agent's own node carries the "consul" service: it is the zone's name server, with glue.
    assert [rd.target.to_text() for rd in answers(ns, "NS")] == ["n1.node.dc1.consul."]
    assert [rrset.name.to_text() for rrset in ns.additional] == ["n1.node.dc1.consul."]


async def test_other_datacenters_and_unknown_names(agent: Agent) -> None:
    await populate(agent)
    # A datacenter the WAN pool never saw: Consul's "No path to datacenter", which its DNS answers NXDOMAIN
    # (forwarding to a known datacenter is tested in tests/wan).
    for name in ("web.service.dc2.consul", "web1.node.dc2.consul", "nothing.consul", "web.service.dc1.extra.consul", "x.query.consul", "node.consul"):
        reply = await agent.udp(name)
        assert reply.rcode() == dns.rcode.NXDOMAIN and soa_in_authority(reply), name


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_names_outside_the_domain_are_refused(agent: Agent, transport: str) -> None:
    reply = await agent.ask(transport, "example.com")
    assert reply.rcode() == dns.rcode.REFUSED and not reply.answer


async def test_custom_domain(start_agent: AgentFactory) -> None:
    agent = await start_agent("-domain", "Example.Internal")
    await agent.service("web1", "10.0.0.1", "web")
    assert addresses(await agent.udp("web.service.example.internal")) == ["10.0.0.1"]
    assert (await agent.udp("web.service.consul")).rcode() == dns.rcode.REFUSED
    soa = await agent.udp("example.internal", "SOA")
    assert answers(soa, "SOA")[0].mname.to_text() == "ns.example.internal."
