"""End to end with py-consul 1.8 (a real, synchronous Consul client) against an in-process ``-dev`` agent.

Every client call runs in a worker thread (``trio.to_thread``) so the agent keeps serving.
"""

from __future__ import annotations

import base64
from typing import Any

import consul
import pytest
import trio
import trio.testing

from actors.context import AgentContext
from tests.api.conftest import in_thread


async def test_kv(client: consul.Consul) -> None:
    kv = client.kv
    assert await in_thread(kv.put, "py/a", "1") is True
    assert await in_thread(kv.put, "py/b/c", b"\x00bin", flags=7) is True
    index, entry = await in_thread(kv.get, "py/a")
    assert entry["Value"] == b"1" and entry["Key"] == "py/a" and int(index) >= entry["ModifyIndex"]
    _, entry = await in_thread(kv.get, "py/b/c")
    assert entry["Value"] == b"\x00bin" and entry["Flags"] == 7
    _, missing = await in_thread(kv.get, "py/none")
    assert missing is None
    _, entries = await in_thread(kv.get, "py/", recurse=True)
    assert [e["Key"] for e in entries] == ["py/a", "py/b/c"]
    _, keys = await in_thread(kv.get, "py/", keys=True, separator="/")
    assert keys == ["py/a", "py/b/"]
    _, stale = await in_thread(kv.get, "py/a", consistency="stale")
    assert stale["Value"] == b"1"

    _, entry = await in_thread(kv.get, "py/a")
    assert await in_thread(kv.put, "py/a", "2", cas=entry["ModifyIndex"] + 1000) is False
    assert await in_thread(kv.put, "py/a", "2", cas=entry["ModifyIndex"]) is True
    assert await in_thread(kv.put, "py/new", "x", cas=0) is True
    assert await in_thread(kv.put, "py/new", "y", cas=0) is False
    assert await in_thread(kv.put, "py/dir/", None) is True  # a "directory" key with no value
    _, entry = await in_thread(kv.get, "py/dir/")
    assert entry["Value"] is None

    sid = await in_thread(client.session.create, name="py-lock", ttl=15)
    assert await in_thread(kv.put, "py/lock", "me", acquire=sid) is True
    _, entry = await in_thread(kv.get, "py/lock")
    assert entry["Session"] == sid and entry["LockIndex"] == 1
    assert await in_thread(kv.put, "py/lock", "me", release=sid) is True
    _, entry = await in_thread(kv.get, "py/lock")
    assert "Session" not in entry

    assert await in_thread(kv.delete, "py/a") is True
    assert await in_thread(kv.delete, "py/new", cas=1) is False
    assert await in_thread(kv.delete, "py/", recurse=True) is True
    _, gone = await in_thread(kv.get, "py/", recurse=True)
    assert gone is None
    with pytest.raises(consul.ConsulException, match="No path to datacenter"):
        await in_thread(kv.get, "x", dc="dc9")


async def test_txn(client: consul.Consul) -> None:
    value = base64.b64encode(b"txn-value").decode()
    result = await in_thread(client.txn.put, [
        {"KV": {"Verb": "set", "Key": "tx/one", "Value": value}},
        {"KV": {"Verb": "get", "Key": "tx/one"}},
    ])
    assert result["Errors"] is None
    assert base64.b64decode(result["Results"][1]["KV"]["Value"]) == b"txn-value"
    # A rolled-back transaction is a 409, which py-consul reports as a client error.
    with pytest.raises(consul.base.ConsulException, match="409"):
        await in_thread(client.txn.put, [{"KV": {"Verb": "get", "Key": "tx/none"}}])


async def test_sessions(client: consul.Consul) -> None:
    session = client.session
    sid = await in_thread(session.create, name="s1", lock_delay=5, behavior="delete", ttl=20)
    _, info = await in_thread(session.info, sid)
    assert info["Name"] == "s1" and info["LockDelay"] == 5 * 10**9 and info["Behavior"] == "delete"
    assert info["TTL"] == "20s" and info["Node"] == "n1"
    _, listed = await in_thread(session.list)
    assert sid in [s["ID"] for s in listed]
    _, on_node = await in_thread(session.node, "n1")
    assert sid in [s["ID"] for s in on_node]
    renewed = await in_thread(session.renew, sid)
    assert renewed["ID"] == sid
    assert await in_thread(session.destroy, sid) is True
    _, info = await in_thread(session.info, sid)
    assert info is None
    with pytest.raises(consul.NotFound):
        await in_thread(session.renew, sid)
    with pytest.raises(consul.ConsulException, match="Missing node registration"):
        await in_thread(session.create, node="ghost")


async def test_catalog(client: consul.Consul) -> None:
    catalog = client.catalog
    ok = await in_thread(
        catalog.register, "py-node", "10.3.3.3",
        service={"Service": "redis", "ID": "redis1", "Tags": ["primary", "v1"], "Port": 6379},
        check={"Node": "py-node", "CheckID": "service:redis1", "Name": "Redis health check",
               "Status": "passing", "ServiceID": "redis1"},
        node_meta={"ignored": "as query parameters"},
        tagged_addresses={"wan": "1.1.1.1"},
    )
    assert ok is True
    assert await in_thread(catalog.datacenters) == ["dc1"]
    _, nodes = await in_thread(catalog.nodes)
    assert {n["Node"] for n in nodes} == {"n1", "py-node"}
    _, services = await in_thread(catalog.services)
    assert services == {"consul": [], "redis": ["primary", "v1"]}
    _, instances = await in_thread(catalog.service, "redis", tag="primary")
    assert [(i["Node"], i["ServicePort"]) for i in instances] == [("py-node", 6379)]
    _, node = await in_thread(catalog.node, "py-node")
    assert node["Node"]["TaggedAddresses"] == {"wan": "1.1.1.1"} and "redis1" in node["Services"]
    _, filtered = await in_thread(catalog.nodes, filter_expr='Node == "n1"')
    assert [n["Node"] for n in filtered] == ["n1"]
    assert await in_thread(catalog.deregister, "py-node", service_id="redis1") is True
    _, services = await in_thread(catalog.services)
    assert "redis" not in services
    assert await in_thread(catalog.deregister, "py-node") is True
    _, node = await in_thread(catalog.node, "py-node")
    assert node is None


async def test_health(client: consul.Consul) -> None:
    for i, status in enumerate(("passing", "critical")):
        await in_thread(
            client.catalog.register, f"h{i}", f"10.4.4.{i}",
            service={"Service": "api", "ID": "api", "Port": 80},
            check={"CheckID": "api-check", "Name": "api", "Status": status, "ServiceID": "api"},
        )
    _, all_entries = await in_thread(client.health.service, "api")
    assert len(all_entries) == 2
    _, healthy = await in_thread(client.health.service, "api", passing=True)
    assert [e["Node"]["Node"] for e in healthy] == ["h0"]
    _, checks = await in_thread(client.health.checks, "api")
    assert sorted(c["Status"] for c in checks) == ["critical", "passing"]
    _, critical = await in_thread(client.health.state, "critical")
    assert [(c["Node"], c["CheckID"]) for c in critical] == [("h1", "api-check")]
    _, mine = await in_thread(client.health.node, "n1")
    assert [c["CheckID"] for c in mine] == ["serfHealth"]
    _, consul_svc = await in_thread(client.health.service, "consul", passing=True)
    assert [e["Service"]["Port"] for e in consul_svc] == [8300]


async def test_operator_and_status(client: consul.Consul) -> None:
    config = await in_thread(client.operator.raft_config)
    assert config["Index"] == 0 and config["Servers"][0]["Leader"] is True
    health = await in_thread(client.operator.autopilot_health)
    assert health["Healthy"] is True


async def test_blocking_kv_get(agent: AgentContext, client: consul.Consul, nursery: trio.Nursery) -> None:
    backend: Any = agent.backend
    await in_thread(client.kv.put, "blk/key", "v1")
    index, _ = await in_thread(client.kv.get, "blk/key")

    parked = trio.Event()
    parks = 0
    original = backend.wait_changed

    async def spy(ws: Any, deadline: float) -> bool:
        nonlocal parks
        parks += 1
        parked.set()
        return await original(ws, deadline)

    backend.wait_changed = spy
    result: list[Any] = []
    answered = trio.Event()

    async def blocked_get() -> None:
        result.append(await in_thread(client.kv.get, "blk/key", index=index, wait="30s"))
        answered.set()

    try:
        with trio.fail_after(20):
            nursery.start_soon(blocked_get)
            await parked.wait()
            await in_thread(client.kv.put, "blk/other", "noise")
            await trio.testing.wait_all_tasks_blocked()
            assert result == [] and parks == 1  # the unrelated write woke nothing
            await in_thread(client.kv.put, "blk/key", "v2")
            await answered.wait()
    finally:
        del backend.wait_changed
    new_index, entry = result[0]
    assert int(new_index) > int(index) and entry["Value"] == b"v2"
