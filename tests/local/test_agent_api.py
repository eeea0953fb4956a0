"""The agent-local HTTP endpoints, called in-process on an agent with local state, checks and anti-entropy."""

from __future__ import annotations

import json

import msgspec
import trio

from actors.config import AgentConfig
from tests.local.conftest import Harness, until_catalog

BARE = {"ID": "foo", "Service": "foo", "Tags": [], "Meta": {}, "Port": 0, "Address": "",
        "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False, "Datacenter": "dc1"}


async def test_register_list_get_and_deregister_a_service(harness: Harness) -> None:
    resp = await harness.call("PUT", "/v1/agent/service/register", {"name": "foo"})
    assert resp.status == 200 and resp.body == b""
    assert await harness.ok("GET", "/v1/agent/services") == {"foo": BARE}
    assert "foo" in harness.catalog_services()  # the endpoint waited for the sync of its change
    resp = await harness.call("GET", "/v1/agent/service/foo")
    doc = json.loads(resp.body)
    assert doc.pop("ContentHash") == resp.headers["X-Consul-ContentHash"] and doc == BARE
    await harness.ok("PUT", "/v1/agent/service/deregister/foo")
    assert await harness.ok("GET", "/v1/agent/services") == {} and "foo" not in harness.catalog_services()


async def test_full_service_definition_round_trips(harness: Harness) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {
        "Name": "web", "ID": "web-1", "Tags": ["v1"], "Address": "10.0.0.5", "Port": 8080, "Meta": {"k": "v"},
        "tagged_addresses": {"wan": {"address": "1.2.3.4", "port": 80}}, "Weights": {"Passing": 10, "Warning": 2},
        "enable_tag_override": True})
    doc = (await harness.ok("GET", "/v1/agent/services"))["web-1"]
    assert doc["TaggedAddresses"] == {"wan": {"Address": "1.2.3.4", "Port": 80}}
    assert (doc["Weights"], doc["EnableTagOverride"], doc["Port"], doc["Address"]) == (
        {"Passing": 10, "Warning": 2}, True, 8080, "10.0.0.5")
    catalog = harness.catalog_services()["web-1"]
    assert (catalog.service, catalog.tags, catalog.port, catalog.weights.passing) == ("web", ["v1"], 8080, 10)


async def test_ids_with_reserved_characters_are_url_decoded(harness: Harness) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "app#127.0.0.1#3000"})
    assert "app#127.0.0.1#3000" in harness.catalog_services()
    await harness.ok("PUT", "/v1/agent/service/deregister/app%23127.0.0.1%233000")
    assert harness.catalog_services().keys() == {"consul"}


async def test_validation_errors_use_consuls_words(harness: Harness) -> None:
    cases = [
        ("PUT", "/v1/agent/service/register", {"port": 80}, 400, "Missing service name"),
        ("PUT", "/v1/agent/service/register", b"", 400, "Request decode failed: EOF"),
        ("PUT", "/v1/agent/service/register", {"name": "x", "port": "80"}, 400, "Request decode failed: "),
        ("PUT", "/v1/agent/check/register", {"ttl": "1s"}, 400, "Missing check name"),
        ("PUT", "/v1/agent/check/register", {"name": "c", "ttl": "1s", "serviceid": "nope"}, 404,
         'ServiceID "nope" does not exist'),
        ("PUT", "/v1/agent/check/register", {"name": "c", "args": ["true"], "interval": "1s"}, 500,
         "Scripts are disabled on this agent from remote calls"),
        ("PUT", "/v1/agent/service/deregister/ghost", b"", 404, 'Unknown service ID "ghost"'),
        ("PUT", "/v1/agent/check/deregister/ghost", b"", 404, 'Unknown check ID "ghost"'),
        ("PUT", "/v1/agent/check/pass/ghost", b"", 404, 'Unknown check ID "ghost"'),
        ("GET", "/v1/agent/service/ghost", b"", 404, "unknown service ID: ghost"),
        ("GET", "/v1/agent/services?filter=Nope%20%3D%3D%201", b"", 400,
         'Failed to create boolean expression evaluator: Selector "Nope"'),
    ]
    for method, target, body, status, text in cases:
        resp = await harness.call(method, target, body)
        assert resp.status == status and resp.body.decode().startswith(text), (target, resp.status, resp.body)
    assert harness.local.state.checks == {}


async def test_filters_on_services_and_checks(harness: Harness) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "tags": ["blue"], "check": {"ttl": "9s"}})
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "db", "tags": ["green"]})
    found = await harness.ok("GET", "/v1/agent/services?filter=" + "blue%20in%20Tags")
    assert list(found) == ["web"]
    found = await harness.ok("GET", "/v1/agent/checks?filter=" + "ServiceName%20%3D%3D%20%22web%22")
    assert list(found) == ["service:web"]
    check = found["service:web"]
    assert (check["Type"], check["Status"], check["Definition"], check["ServiceTags"]) == (
        "ttl", "critical", {"TTL": "9s"}, ["blue"])


async def test_replace_existing_checks(harness: Harness) -> None:
    body = {"name": "web", "checks": [{"id": "a", "name": "a", "ttl": "5s"}, {"id": "b", "name": "b", "ttl": "5s"}]}
    await harness.ok("PUT", "/v1/agent/service/register", body)
    one = {"name": "web", "check": {"id": "a", "name": "a", "ttl": "5s"}}
    await harness.ok("PUT", "/v1/agent/service/register", one)
    assert set(await harness.ok("GET", "/v1/agent/checks")) == {"a", "b"}
    await harness.ok("PUT", "/v1/agent/service/register?replace-existing-checks=true", one)
    assert set(await harness.ok("GET", "/v1/agent/checks")) == {"a"}
    assert set(harness.catalog_checks()) == {"a", "serfHealth"}


async def test_ttl_updates_and_their_errors(harness: Harness) -> None:
    await harness.ok("PUT", "/v1/agent/check/register", {"Name": "mem", "TTL": "30s", "Notes": "n"})
    await harness.ok("PUT", "/v1/agent/check/pass/mem?note=all%20good")
    assert (harness.check("mem").status, harness.check("mem").output) == ("passing", "all good")
    assert harness.catalog_checks()["mem"].status == "passing"
    await harness.ok("PUT", "/v1/agent/check/warn/mem")
    assert harness.check("mem").status == "warning"
    await harness.ok("PUT", "/v1/agent/check/update/mem", {"status": "critical", "output": "x" * 5000})
    assert harness.check("mem").status == "critical"
    assert harness.check("mem").output.endswith(" ... (captured 4096 of 5000 bytes)")
    resp = await harness.call("PUT", "/v1/agent/check/update/mem", {"Status": "sick"})
    assert resp.status == 400 and resp.body == b"Invalid check status: 'sick'"
    await harness.ok("PUT", "/v1/agent/check/register", {"name": "tcp", "tcp": "127.0.0.1:1", "interval": "10s"})
    resp = await harness.call("PUT", "/v1/agent/check/fail/tcp")
    assert resp.status == 500 and resp.body == b'CheckID "tcp" does not have associated TTL'
    await harness.ok("PUT", "/v1/agent/check/deregister/mem")
    assert "mem" not in harness.catalog_checks()


async def test_maintenance_modes(harness: Harness) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "check": {"ttl": "30s", "status": "passing"}})
    assert len(await harness.ok("GET", "/v1/health/service/web?passing")) == 1
    await harness.ok("PUT", "/v1/agent/service/maintenance/web?enable=true&reason=deploying")
    check = (await harness.ok("GET", "/v1/agent/checks"))["_service_maintenance:web"]
    assert (check["Status"], check["Notes"], check["Name"], check["ServiceID"]) == (
        "critical", "deploying", "Service Maintenance Mode", "web")
    assert await harness.ok("GET", "/v1/health/service/web?passing") == []
    await harness.ok("PUT", "/v1/agent/service/maintenance/web?enable=false")
    assert len(await harness.ok("GET", "/v1/health/service/web?passing")) == 1
    await harness.ok("PUT", "/v1/agent/maintenance?enable=True")
    node_check = harness.catalog_checks()["_node_maintenance"]
    assert node_check.status == "critical" and node_check.notes.startswith("Maintenance mode is enabled for this node")
    assert await harness.ok("GET", "/v1/health/service/web?passing") == []
    await harness.ok("PUT", "/v1/agent/maintenance?enable=false")
    assert "_node_maintenance" not in harness.catalog_checks()
    for target, status, text in [
        ("/v1/agent/maintenance", 400, b"Missing value for enable"),
        ("/v1/agent/maintenance?enable=maybe", 400, b'Invalid value for enable: "maybe"'),
        ("/v1/agent/service/maintenance/ghost?enable=true", 404, b'Unknown service ID "ghost"'),
    ]:
        resp = await harness.call("PUT", target)
        assert resp.status == status and resp.body.startswith(text)


async def test_local_service_health_endpoints(harness: Harness) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "id": "w1", "check": {"ttl": "30s"}})
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "id": "w2", "check": {"ttl": "30s"}})
    for verb1, verb2, code, status in [("pass", "pass", 200, "passing"), ("pass", "warn", 429, "warning"),
                                       ("fail", "pass", 503, "critical")]:
        await harness.ok("PUT", f"/v1/agent/check/{verb1}/service:w1")
        await harness.ok("PUT", f"/v1/agent/check/{verb2}/service:w2")
        resp = await harness.call("GET", "/v1/agent/health/service/name/web")
        assert resp.status == code and [e["AggregatedStatus"] for e in json.loads(resp.body)] != []
        resp = await harness.call("GET", "/v1/agent/health/service/name/web?format=text")
        assert (resp.status, resp.body.decode()) == (code, status)
    resp = await harness.call("GET", "/v1/agent/health/service/id/w2")
    doc = json.loads(resp.body)
    assert resp.status == 200 and doc["AggregatedStatus"] == "passing" and doc["Service"]["ID"] == "w2"
    assert [c["CheckID"] for c in doc["Checks"]] == ["service:w2"]
    await harness.ok("PUT", "/v1/agent/maintenance?enable=true")
    resp = await harness.call("GET", "/v1/agent/health/service/id/w2?format=text")
    assert (resp.status, resp.body) == (503, b"maintenance")
    resp = await harness.call("GET", "/v1/agent/health/service/id/nope?format=text")
    assert (resp.status, resp.body) == (404, b"ServiceId nope not found")
    resp = await harness.call("GET", "/v1/agent/health/service/id/nope")
    assert resp.status == 404 and json.loads(resp.body) == {"AggregatedStatus": "critical", "Service": None,
                                                             "Checks": None}
    resp = await harness.call("GET", "/v1/agent/health/service/name/nope")
    assert (resp.status, json.loads(resp.body)) == (404, [])


async def test_service_hash_blocking(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "port": 1})
    first = await harness.call("GET", "/v1/agent/service/web")
    digest = first.headers["X-Consul-ContentHash"]
    start = trio.current_time()
    same = await harness.call("GET", f"/v1/agent/service/web?hash={digest}&wait=20s")
    assert same.headers["X-Consul-ContentHash"] == digest and trio.current_time() - start >= 20
    answers: list = []

    async def blocked() -> None:
        answers.append(await harness.call("GET", f"/v1/agent/service/web?hash={digest}&wait=5m"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(blocked)
        await trio.testing.wait_all_tasks_blocked()
        assert answers == []
        await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "port": 2})
    assert json.loads(answers[0].body)["Port"] == 2 and answers[0].headers["X-Consul-ContentHash"] != digest


async def test_config_definitions_load_at_start(nursery: trio.Nursery) -> None:
    harness = Harness(
        services=[{"name": "cfg", "port": 80, "checks": [{"ttl": "30s"}]},
                  {"port": 1},  # no name: logged and skipped, as nothing can register it
                  {"name": "scripted", "check": {"args": ["true"], "interval": "10s"}}],
        checks=[{"name": "node-ttl", "ttl": "1m", "status": "passing"},
                {"name": "orphan", "ttl": "1m", "service_id": "ghost"}])
    await harness.start(nursery)
    assert set(harness.local.state.services) == {"cfg"}  # script checks need enable_local_script_checks
    assert set(harness.local.state.checks) == {"service:cfg", "node-ttl"}
    await until_catalog(harness.ctx, lambda: {"cfg", "consul"} == set(harness.catalog_services())
                        and "node-ttl" in harness.catalog_checks())
    assert harness.catalog_checks()["node-ttl"].status == "passing"


async def test_reload_rereads_config_definitions(nursery: trio.Nursery) -> None:
    harness = Harness(services=[{"name": "cfg-a"}, {"name": "cfg-b", "check": {"ttl": "10s"}}])
    await harness.start(nursery)
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "api-made"})
    assert set(harness.local.state.services) == {"cfg-a", "cfg-b", "api-made"}
    config: AgentConfig = harness.local.config
    harness.local.config_loader = lambda: msgspec.structs.replace(config, services=[{"name": "cfg-a", "port": 7}])
    await harness.ok("PUT", "/v1/agent/reload")
    assert set(harness.local.state.services) == {"cfg-a", "api-made"}
    assert harness.local.state.service("cfg-a").port == 7 and "service:cfg-b" not in harness.local.state.checks
    await until_catalog(harness.ctx, lambda: set(harness.catalog_services()) == {"consul", "cfg-a", "api-made"})
