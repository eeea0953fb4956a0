"""``/v1/catalog/*`` and ``/v1/health/*``: shapes, lenient bodies, filters and Consul's error texts."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.api.conftest import Local


def web(node: str, address: str, status: str = "passing", tags: list[str] | None = None, **extra: Any) -> str:
    return json.dumps({
        "Node": node,
        "Address": address,
        "NodeMeta": {"rack": node[-1]},
        "Service": {"Service": "web", "ID": f"web-{node}", "Tags": tags or [], "Port": 8080},
        "Check": {"Name": "web ok", "CheckID": f"chk-{node}", "ServiceID": f"web-{node}", "Status": status},
        **extra,
    })


async def seed(local: Local) -> None:
    assert await local.json("PUT", "/v1/catalog/register", web("a1", "10.0.0.1", tags=["v1", "primary"])) is True
    assert await local.json("PUT", "/v1/catalog/register", web("a2", "10.0.0.2", "warning", tags=["v1"])) is True
    node_check = {"Node": "a2", "Address": "10.0.0.2", "NodeMeta": {"rack": "2"},
                  "Checks": [{"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing"}]}
    assert await local.json("PUT", "/v1/catalog/register", json.dumps(node_check)) is True


async def test_self_registration(local: Local) -> None:
    nodes = await local.json("GET", "/v1/catalog/nodes")
    [me] = nodes
    assert me["Node"] == "n1" and me["Address"] == "127.0.0.1" and me["ID"] == local.ctx.node_id
    assert me["Datacenter"] == "dc1" and me["TaggedAddresses"]["lan"] == "127.0.0.1"
    assert await local.json("GET", "/v1/catalog/services") == {"consul": []}
    [svc] = await local.json("GET", "/v1/catalog/service/consul")
    assert svc["ServicePort"] == 8300 and svc["ServiceTags"] == [] and svc["ServiceID"] == "consul"
    [check] = await local.json("GET", "/v1/health/node/n1")
    assert (check["CheckID"], check["Name"], check["Status"], check["Output"]) == (
        "serfHealth", "Serf Health Status", "passing", "Agent alive and reachable")
    assert check["ServiceID"] == "" and check["ServiceTags"] == []
    assert await local.json("GET", "/v1/catalog/datacenters") == ["dc1"]


async def test_service_and_node_views(local: Local) -> None:
    await seed(local)
    assert await local.json("GET", "/v1/catalog/services") == {"consul": [], "web": ["primary", "v1"]}
    both = await local.json("GET", "/v1/catalog/service/web")
    assert [s["Node"] for s in both] == ["a1", "a2"]
    assert set(both[0]) >= {"ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta", "ServiceKind",
                            "ServiceID", "ServiceName", "ServiceTags", "ServiceAddress", "ServiceWeights",
                            "ServiceMeta", "ServicePort", "ServiceEnableTagOverride", "ServiceProxy",
                            "ServiceConnect", "CreateIndex", "ModifyIndex"}
    assert [s["Node"] for s in await local.json("GET", "/v1/catalog/service/web?tag=primary")] == ["a1"]
    assert [s["Node"] for s in await local.json("GET", "/v1/catalog/service/web?tag=v1&tag=primary")] == ["a1"]
    assert [s["Node"] for s in await local.json("GET", "/v1/catalog/service/web?node-meta=rack:2")] == ["a2"]
    assert await local.json("GET", "/v1/catalog/service/nope") == []
    flt = quote('ServiceTags contains "primary"')
    assert [s["Node"] for s in await local.json("GET", f"/v1/catalog/service/web?filter={flt}&near=_agent")] == ["a1"]

    node = await local.json("GET", "/v1/catalog/node/a1")
    assert node["Node"]["Node"] == "a1" and list(node["Services"]) == ["web-a1"]
    assert node["Services"]["web-a1"]["Port"] == 8080
    listed = await local.json("GET", "/v1/catalog/node-services/a1")
    assert [s["ID"] for s in listed["Services"]] == ["web-a1"]
    filtered = await local.json("GET", f"/v1/catalog/node/a1?filter={quote('Port == 1')}")
    assert filtered["Services"] == {}
    assert await local.json("GET", "/v1/catalog/node/ghost") is None
    assert await local.json("GET", "/v1/catalog/node-services/ghost") is None
    assert [n["Node"] for n in await local.json("GET", "/v1/catalog/nodes?node-meta=rack:1")] == ["a1"]
    assert [n["Node"] for n in await local.json("GET", f"/v1/catalog/nodes?filter={quote('Node == a2')}")] == ["a2"]
    by_meta = await local.json("GET", "/v1/catalog/services?node-meta=rack:2")
    assert by_meta == {"web": ["v1"]}


async def test_health_views(local: Local) -> None:
    await seed(local)
    entries = await local.json("GET", "/v1/health/service/web")
    assert [e["Node"]["Node"] for e in entries] == ["a1", "a2"]
    assert [c["CheckID"] for c in entries[1]["Checks"]] == ["serfHealth", "chk-a2"]  # node checks first
    assert set(entries[0]) == {"Node", "Service", "Checks"}
    passing = await local.json("GET", "/v1/health/service/web?passing")
    assert [e["Node"]["Node"] for e in passing] == ["a1"]  # warning is dropped too
    assert await local.json("GET", "/v1/health/service/web?passing=false") == entries
    assert len(await local.json("GET", "/v1/health/service/web?passing=1")) == 1
    assert [e["Node"]["Node"] for e in await local.json("GET", "/v1/health/service/web?tag=primary")] == ["a1"]
    flt = quote('Checks.Status == warning')
    assert [e["Node"]["Node"] for e in await local.json("GET", f"/v1/health/service/web?filter={flt}")] == ["a2"]
    bad = await local.call("GET", "/v1/health/service/web?passing=maybe")
    assert (bad.status, bad.body) == (400, b"Invalid value for ?passing")

    checks = await local.json("GET", "/v1/health/checks/web")
    assert [c["CheckID"] for c in checks] == ["chk-a1", "chk-a2"]
    assert checks[0]["ServiceName"] == "web" and checks[0]["ServiceTags"] == ["v1", "primary"]
    assert [c["Node"] for c in await local.json("GET", "/v1/health/checks/web?node-meta=rack:2")] == ["a2"]
    assert [c["Node"] for c in await local.json("GET", "/v1/health/node/a2")] == ["a2", "a2"]
    warning = await local.json("GET", "/v1/health/state/warning")
    assert [c["CheckID"] for c in warning] == ["chk-a2"]
    assert len(await local.json("GET", "/v1/health/state/any")) == 4
    assert len(await local.json("GET", "/v1/health/state/passing?node-meta=rack:1")) == 1
    assert await local.json("GET", "/v1/health/state/critical") == []


async def test_missing_names_and_bad_state(local: Local) -> None:
    for target, text in (
        ("/v1/catalog/service/", "Missing service name"),
        ("/v1/catalog/node/", "Missing node name"),
        ("/v1/catalog/node-services/", "Missing node name"),
        ("/v1/health/node/", "Missing node name"),
        ("/v1/health/checks/", "Missing service name"),
        ("/v1/health/service/", "Missing service name"),
        ("/v1/health/state/", "Missing check state"),
        ("/v1/health/state/sleepy", 'Invalid state: "sleepy"'),
        ("/v1/health/state/any?filter=Bogus%20==%201",
         'Failed to create boolean expression evaluator: Selector "Bogus" is not valid'),
    ):
        resp = await local.call("GET", target)
        assert (resp.status, resp.body.decode()) == (400, text), target


async def test_register_is_lenient(local: Local) -> None:
    body = {
        "node": "py1", "address": "10.1.1.1", "datacenter": "dc1",
        "tagged_addresses": {"wan": "1.2.3.4"}, "nodemeta": {"Env": "prod"},
        "service": {"service": "api", "id": "api-1", "tags": ["x"], "port": 9000,
                    "enable_tag_override": True, "meta": {"Version": "2"},
                    "TaggedAddresses": {"lan": {"address": "10.1.1.1", "port": 9000}}},
        "check": {"name": "api http", "serviceid": "api-1", "status": "passing",
                  "definition": {"http": "http://10.1.1.1:9000/health", "interval": "60s", "timeout": 5_000_000_000,
                                 "tls_skip_verify": True}},
        "WriteRequest": {"Token": "ignored"},
    }
    assert await local.json("PUT", "/v1/catalog/register", json.dumps(body)) is True
    node = await local.json("GET", "/v1/catalog/node/py1")
    assert node["Node"]["TaggedAddresses"] == {"wan": "1.2.3.4"} and node["Node"]["Meta"] == {"Env": "prod"}
    svc = node["Services"]["api-1"]
    assert svc["EnableTagOverride"] is True and svc["Meta"] == {"Version": "2"}
    assert svc["TaggedAddresses"] == {"lan": {"Address": "10.1.1.1", "Port": 9000}}
    [check] = await local.json("GET", "/v1/health/checks/api")
    assert check["CheckID"] == "api http"  # CheckID defaults to Name
    assert check["Definition"] == {"HTTP": "http://10.1.1.1:9000/health", "Interval": "1m0s", "Timeout": "5s",
                                   "TLSSkipVerify": True}


async def test_register_and_deregister_errors(local: Local) -> None:
    cases = [
        ("", 400, "Request decode failed: EOF"),
        ("{not json", 400, None),
        ("[]", 400, "Request decode failed: expected an object, got array at $"),
        ('{"Node": 5, "Address": "x"}', 400, "Request decode failed: Expected `str`, got `int` - at `$.Node`"),
        ('{"Node": "x", "Address": "1.1.1.1", "Service": {"Service": "s", "Port": "80"}}', 400,
         "Request decode failed: Expected `int`, got `str` - at `$.Service.Port`"),
        ('{"Node": "x", "Address": "1.1.1.1", "Check": {"Name": "c", "Definition": {"Interval": "often"}}}', 400,
         'Request decode failed: time: invalid duration "often"'),
        ('{"Address": "1.1.1.1"}', 400, "Must provide node"),
        ('{"Node": "x"}', 400, "Must provide address if SkipNodeUpdate is not set"),
        ('{"Node": "x", "Address": "1.1.1.1", "ID": "nope"}', 400, "Bad node ID: uuid string is wrong length"),
        ('{"Node": "x", "Address": "1.1.1.1", "Service": {"ID": "s1"}}', 400, "Must provide service name with ID"),
        ('{"Node": "x", "Address": "1.1.1.1", "Service": {"Service": "s", "Address": "0.0.0.0"}}', 400,
         "Invalid service address"),
        ('{"Node": "x", "Address": "1.1.1.1", "Check": {"Name": "c", "Status": "sad"}}', 400,
         'failed inserting check on node "x": Invalid check status: "sad"'),
        ('{"Node": "x", "Address": "1.1.1.1", "Datacenter": "dc2"}', 500, "No path to datacenter"),
    ]
    for body, status, text in cases:
        resp = await local.call("PUT", "/v1/catalog/register", body)
        assert resp.status == status, (body, resp.body)
        if text is not None:
            assert resp.body.decode() == text, body
        else:
            assert resp.body.startswith(b"Request decode failed: ")
    assert [n["Node"] for n in await local.json("GET", "/v1/catalog/nodes")] == ["n1"]  # nothing partial

    resp = await local.call("PUT", "/v1/catalog/deregister", "{}")
    assert (resp.status, resp.body) == (400, b"Must provide node")
    resp = await local.call("PUT", "/v1/catalog/deregister", '{"Node": "n1", "Datacenter": "far"}')
    assert (resp.status, resp.body) == (500, b"No path to datacenter")
    assert await local.json("PUT", "/v1/catalog/deregister", '{"Node": "ghost"}') is True


async def test_deregister_levels(local: Local) -> None:
    await seed(local)
    assert await local.json("PUT", "/v1/catalog/deregister", '{"node": "a2", "checkid": "serfHealth"}') is True
    assert [c["CheckID"] for c in await local.json("GET", "/v1/health/node/a2")] == ["chk-a2"]
    assert await local.json("PUT", "/v1/catalog/deregister", '{"Node": "a2", "ServiceID": "web-a2"}') is True
    assert await local.json("GET", "/v1/health/node/a2") == []
    assert [s["Node"] for s in await local.json("GET", "/v1/catalog/service/web")] == ["a1"]
    assert await local.json("PUT", "/v1/catalog/deregister", '{"Node": "a1"}') is True
    assert await local.json("GET", "/v1/catalog/node/a1") is None
    assert await local.json("GET", "/v1/catalog/service/web") == []


async def test_operator_documents(local: Local) -> None:
    config = await local.json("GET", "/v1/operator/raft/configuration?stale")
    assert config["Index"] == 0
    [server] = config["Servers"]
    assert server == {"ID": local.ctx.node_id, "Node": "n1", "Address": "127.0.0.1:8300", "Leader": True,
                      "Voter": True, "ProtocolVersion": "3", "LastIndex": local.backend.store.last_index}
    health = await local.json("GET", "/v1/operator/autopilot/health")
    assert health["Healthy"] is True and health["FailureTolerance"] == 0
    [member] = health["Servers"]
    assert member["Leader"] and member["Voter"] and member["Healthy"] and member["SerfStatus"] == "alive"

    class Raft:
        def raft_configuration(self) -> dict[str, Any]:
            return {"Servers": [], "Index": 7}

        def autopilot_health(self) -> dict[str, Any]:
            return {"Healthy": False, "FailureTolerance": 0, "Servers": []}

    local.ctx.extras["raft"] = Raft()
    assert (await local.json("GET", "/v1/operator/raft/configuration"))["Index"] == 7
    unhealthy = await local.call("GET", "/v1/operator/autopilot/health")
    assert unhealthy.status == 429 and json.loads(unhealthy.body)["Healthy"] is False
