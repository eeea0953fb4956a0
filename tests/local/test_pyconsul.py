"""py-consul's agent API against a live in-process agent (its blocking calls run in worker threads)."""

from __future__ import annotations

import consul
import pytest
import trio
from consul import Check

from actors.context import AgentContext
from actors.local.local_agent import local_agent_of
from tests.local.conftest import client_for, dev_config, in_thread, start_agent, until_local


async def test_services_register_list_deregister(agent: AgentContext) -> None:
    c = client_for(agent)
    assert await in_thread(c.agent.service.register, "foo") is True
    assert await in_thread(c.agent.services) == {"foo": {
        "ID": "foo", "Service": "foo", "Tags": [], "Meta": {}, "Port": 0, "Address": "",
        "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False, "Datacenter": "dc1"}}
    assert await in_thread(c.agent.service.deregister, "foo") is True
    assert await in_thread(c.agent.services) == {}
    assert await in_thread(c.agent.service.register, "foo", address="10.10.10.1", enable_tag_override=True) is True
    services = await in_thread(c.agent.services)
    assert services["foo"]["Address"] == "10.10.10.1" and services["foo"]["EnableTagOverride"] is True
    assert list(await in_thread(c.agent.services, filter_expr='Address == "10.10.10.1"')) == ["foo"]
    definition = await in_thread(c.agent.service_definition, "foo")
    assert definition["ID"] == "foo" and len(definition["ContentHash"]) == 16


async def test_service_with_several_checks_reaches_the_catalog(agent: AgentContext) -> None:
    c = client_for(agent)
    await in_thread(c.agent.service.register, "foo1", check=Check.ttl("10s"),
                    extra_checks=[Check.ttl("20s"), Check.tcp("127.0.0.1", 1, "10s")])
    _, nodes = await in_thread(c.health.service, "foo1")
    assert {check["ServiceID"] for node in nodes for check in node["Checks"]} == {"foo1", ""}
    assert {check["CheckID"] for node in nodes for check in node["Checks"]} == {
        "service:foo1:1", "service:foo1:2", "service:foo1:3", "serfHealth"}
    _, checks = await in_thread(c.health.checks, "foo1")
    assert [check["CheckID"] for check in checks] == ["service:foo1:1", "service:foo1:2", "service:foo1:3"]


async def test_deregister_a_service_id_with_reserved_characters(agent: AgentContext) -> None:
    c = client_for(agent)
    name = "app#127.0.0.1#3000"
    await in_thread(c.agent.service.register, name)
    _, nodes = await in_thread(c.health.service, name)
    assert [node["Service"]["ID"] for node in nodes] == [name]
    assert await in_thread(c.agent.service.deregister, name) is True
    _, nodes = await in_thread(c.health.service, name)
    assert nodes == []


async def test_ttl_checks_with_notes(agent: AgentContext) -> None:
    c = client_for(agent)
    assert await in_thread(c.agent.check.register, "check", Check.ttl("10s"), notes="foo") is True
    assert (await in_thread(c.agent.checks))["check"]["Notes"] == "foo"
    for call, status, note in [(c.agent.check.ttl_warn, "warning", "its not quite right"),
                               (c.agent.check.ttl_fail, "critical", "something went boink!"),
                               (c.agent.check.ttl_pass, "passing", "all hunky dory!")]:
        assert await in_thread(call, "check") is True
        assert (await in_thread(c.agent.checks))["check"]["Status"] == status
        assert await in_thread(call, "check", notes=note) is True
        check = (await in_thread(c.agent.checks))["check"]
        assert (check["Status"], check["Output"]) == (status, note)
    assert await in_thread(c.agent.check.deregister, "check") is True
    assert await in_thread(c.agent.checks) == {}


async def test_ttl_expires_through_the_api(agent: AgentContext) -> None:
    c = client_for(agent)
    await in_thread(c.agent.check.register, "short", Check.ttl("100ms"))
    await in_thread(c.agent.check.ttl_pass, "short")
    assert (await in_thread(c.agent.checks))["short"]["Status"] == "passing"
    local = local_agent_of(agent)
    await until_local(local, lambda: local.state.check("short").status == "critical", timeout=5)
    check = (await in_thread(c.agent.checks))["short"]
    assert (check["Status"], check["Output"]) == ("critical", "TTL expired")


async def test_check_bound_to_a_service(agent: AgentContext) -> None:
    c = client_for(agent)
    await in_thread(c.agent.service.register, "foo1")
    await in_thread(c.agent.check.register, "foo", Check.ttl("10s"), service_id="foo1")
    await in_thread(c.agent.check.register, "foo2", Check.ttl("10s"), service_id="foo1")
    _, nodes = await in_thread(c.health.service, "foo1")
    assert {check["CheckID"] for node in nodes for check in node["Checks"]} == {"foo", "foo2", "serfHealth"}
    # an unknown service is a 404, which py-consul's boolean callback reports as False
    assert await in_thread(c.agent.check.register, "bar", Check.ttl("10s"), service_id="nope") is False
    assert set(await in_thread(c.agent.checks)) == {"foo", "foo2"}


async def test_script_checks_need_enable_script_checks(agent: AgentContext, nursery: trio.Nursery) -> None:
    c = client_for(agent)
    with pytest.raises(consul.ConsulException, match="Scripts are disabled"):
        await in_thread(c.agent.check.register, "script_check", Check.script(["/bin/true"], "10s"))
    ctx, _ = await start_agent(nursery, dev_config("-enable-script-checks"))
    c = client_for(ctx)
    assert await in_thread(c.agent.check.register, "script_check", Check.script(["/bin/true"], "10s")) is True
    assert await in_thread(c.agent.check.register, "check name", Check.script(["/bin/true"], "10s", "10m"),
                           check_id="check_id") is True
    assert set(await in_thread(c.agent.checks)) == {"script_check", "check_id"}


async def test_maintenance_modes(agent: AgentContext) -> None:
    c = client_for(agent)
    await in_thread(c.agent.service.register, "foo", check=Check.ttl("10s"))
    await in_thread(c.agent.service.maintenance, "foo", "true", "test")
    checks = await in_thread(c.agent.checks)
    assert checks["_service_maintenance:foo"]["Notes"] == "test"
    await in_thread(c.agent.service.maintenance, "foo", "false")
    assert "_service_maintenance:foo" not in await in_thread(c.agent.checks)
    await in_thread(c.agent.maintenance, "true", "test")
    assert (await in_thread(c.agent.checks))["_node_maintenance"]["Notes"] == "test"
    _, nodes = await in_thread(c.health.service, "foo", passing=True)
    assert nodes == []
    await in_thread(c.agent.maintenance, "false")
    assert "_node_maintenance" not in await in_thread(c.agent.checks)


async def test_reload(agent: AgentContext) -> None:
    assert await in_thread(client_for(agent).agent.reload) is True


async def test_agent_without_self_registration_syncs_its_node(nursery: trio.Nursery) -> None:
    ctx, _ = await start_agent(nursery, dev_config())
    c = client_for(ctx)
    await in_thread(c.agent.service.register, "solo", port=9000)
    _, nodes = await in_thread(c.catalog.service, "solo")
    assert [(n["Node"], n["ServicePort"]) for n in nodes] == [("n1", 9000)]
