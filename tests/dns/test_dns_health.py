"""Health filtering, SRV weights, only_passing, per-query shuffling and TTLs."""

from __future__ import annotations

import dns.rcode

from tests.dns.conftest import Agent, AgentFactory, addresses, answers

WEB1, WEB2 = ("web1", "10.0.0.1"), ("web2", "10.0.0.2")


async def two_instances(agent: Agent) -> None:
    for node, address in (WEB1, WEB2):
        await agent.service(node, address, "web", weights={"Passing": 10, "Warning": 3},
                            checks=[{"CheckID": "web-alive", "Name": "alive", "Status": "passing", "ServiceID": "web"}])


async def test_critical_service_check_hides_the_instance(agent: Agent) -> None:
    await two_instances(agent)
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1", "10.0.0.2"]
    await agent.check(*WEB1, "web-alive", "critical", service_id="web")
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.2"]
    assert [rd.target.to_text() for rd in answers(await agent.tcp("web.service.consul", "SRV"), "SRV")] == [
        "web2.node.dc1.consul."]
    await agent.check(*WEB2, "web-alive", "critical", service_id="web")
    gone = await agent.udp("web.service.consul")
    assert gone.rcode() == dns.rcode.NXDOMAIN
    await agent.check(*WEB1, "web-alive", "passing", service_id="web")
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1"]


async def test_critical_node_check_and_maintenance_hide_every_service_of_the_node(agent: Agent) -> None:
    await two_instances(agent)
    await agent.service("web1", "10.0.0.1", "api", service_id="api")
    await agent.check(*WEB1, "_node_maintenance", "critical")
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.2"]
    assert (await agent.udp("api.service.consul")).rcode() == dns.rcode.NXDOMAIN
    # Node lookups are not health-filtered, as in Consul.
    assert addresses(await agent.udp("web1.node.consul")) == ["10.0.0.1"]


async def test_service_maintenance_hides_only_that_instance(agent: Agent) -> None:
    await two_instances(agent)
    await agent.check(*WEB2, "_service_maintenance:web", "critical", service_id="web")
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1"]


async def test_warning_instances_are_returned_with_the_warning_weight(agent: Agent) -> None:
    await two_instances(agent)
    await agent.check(*WEB2, "web-alive", "warning", service_id="web")
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1", "10.0.0.2"]
    weights = {rd.target.to_text(): rd.weight for rd in answers(await agent.udp("web.service.consul", "SRV"), "SRV")}
    assert weights == {"web1.node.dc1.consul.": 10, "web2.node.dc1.consul.": 3}


async def test_only_passing_hides_warning_instances(start_agent: AgentFactory) -> None:
    agent = await start_agent(only_passing=True)
    await two_instances(agent)
    await agent.check(*WEB2, "web-alive", "warning", service_id="web")
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1"]


async def test_answers_are_shuffled_per_query(agent: Agent) -> None:
    for i in range(6):
        await agent.service(f"n{i + 10}", f"10.0.2.{i + 1}", "web")
    orders = set()
    for _ in range(12):
        reply = await agent.tcp("web.service.consul")
        orders.add(tuple(rd.address for rd in answers(reply, "A")))
    assert all(sorted(order) == sorted(next(iter(orders))) for order in orders)
    assert len(orders) > 1  # 6! orders: twelve identical draws would mean no shuffling at all


async def test_ttls_from_config(start_agent: AgentFactory) -> None:
    agent = await start_agent(node_ttl=30.0, service_ttl={"db": 7.0, "web*": 5.0, "*": 1.0})
    await agent.service("web1", "10.0.0.1", "web")
    await agent.service("web1", "10.0.0.1", "webapp", service_id="webapp")
    await agent.service("db1", "10.0.1.1", "db")
    await agent.service("db1", "10.0.1.1", "cache", service_id="cache")
    ttls = {}
    for name in ("web", "webapp", "db", "cache"):
        ttls[name] = (await agent.udp(f"{name}.service.consul")).answer[0].ttl
    assert ttls == {"web": 5, "webapp": 5, "db": 7, "cache": 1}
    srv = await agent.udp("web.service.consul", "SRV")
    assert {rrset.ttl for rrset in srv.answer} == {5}
    assert (await agent.udp("web1.node.consul")).answer[0].ttl == 30


async def test_ttls_default_to_zero(agent: Agent) -> None:
    await agent.service("web1", "10.0.0.1", "web")
    assert (await agent.udp("web.service.consul")).answer[0].ttl == 0
    assert (await agent.udp("web1.node.consul")).answer[0].ttl == 0
