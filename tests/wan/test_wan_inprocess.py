"""Two datacenters in one process (one server each, joined over the WAN pool): the forwarding logic.

dc1's (``s1``) and dc2's (``t1``) servers run as full agent trees over loopback
(``tests/cluster/cluster_kit.py``), DNS on ephemeral ports; requests go through each server's own router,
DNS questions through its own query handler. dc1 re-checks the route of a waiting blocking query every
0.3 s and closes its breaker after 1 s (``wan`` config), so those paths run within a short test. What is
checked, from dc1:

* DNS names with a ``.dc2`` label (service, tag, RFC 2782 SRV, node) are answered by dc2's data; an
  unknown datacenter is NXDOMAIN with the SOA, a known one whose servers are gone SERVFAIL, fast;
* ``PUT /v1/event/fire/<name>?dc=dc2`` lands in dc2's event buffer (not dc1's); ``GET
  /v1/event/list?dc=dc2`` lists dc1's own events, as Consul does;
* ``PUT /v1/catalog/register`` / ``deregister`` with a body ``Datacenter: dc2`` act on dc2's catalog;
  ``?dc=dc2`` without a body datacenter registers locally (Consul reads only the body there);
* a forwarded blocking query keeps index/wait semantics: it waits out ``wait`` when nothing changes
  (its route checked meanwhile, never failed for its silence), and wakes with the new value when dc2
  changes;
* a WAN partition set in the fault tables by node names only (``s1`` <-> ``t1``): the first request for
  dc2 fails within the connect timeout (on its already open connection: at its route check), the next
  ones at once (breaker open) while dc1's own requests keep working; the WAN gossip is cut by the same
  rules (the pool's ``<node>.<dc>`` names are read as node names); after the heal forwarding resumes;
* the routing helpers (which datacenter a request names, the forward timeout of a blocking query).

What must never live here: real processes (``test_wan_processes.py``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, AsyncIterator

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import msgspec
import pytest
import trio

from actors.config import WanForwarding
from actors.wan.router import body_datacenter, forward_timeout, strip_dc, target_datacenter
from runtime.http import Request, Response
from runtime.transport.faults import FaultRule
from tests.cluster.cluster_kit import Server, make_cluster, wait_for, wait_leader

TIMEOUT = 20.0


def _with_dns(server: Server) -> Server:
    server.cfg = msgspec.structs.replace(server.cfg, ports=msgspec.structs.replace(server.cfg.ports, dns=0))
    return server


async def call(server: Server, method: str, target: str, body: bytes | str = b"") -> Response:
    assert server.ctx is not None
    raw = body.encode() if isinstance(body, str) else body
    with trio.fail_after(TIMEOUT):
        return await server.ctx.extras["router"].dispatch(Request(method, target, body=raw))


async def get_json(server: Server, target: str) -> Any:
    resp = await call(server, "GET", target)
    assert resp.status == 200, (target, resp.status, resp.body)
    return json.loads(bytes(resp.body))


async def ask(server: Server, name: str, rdtype: str = "A") -> dns.message.Message:
    assert server.ctx is not None
    query = dns.message.make_query(name, rdtype)
    with trio.fail_after(TIMEOUT):
        reply = await server.ctx.extras["dns.handler"].answer(query.to_wire(), "udp")
    assert reply is not None
    return dns.message.from_wire(reply)


def _renamed(server: Server, node: str) -> Server:
    """The same server agent under another node name (the kit names every cluster's nodes s1, s2...)."""
    address = server.servers[server.name]
    return Server(node, msgspec.structs.replace(server.cfg, node_name=node), {node: address})


def _quick_wan(server: Server) -> Server:
    server.cfg = msgspec.structs.replace(server.cfg, wan=WanForwarding(route_check_interval=0.3, breaker_cooldown=1.0))
    return server


def _link(server: Server, dc: str) -> Any:
    assert server.ctx is not None
    return server.ctx.extras["wan"].links.get(dc)


@pytest.fixture
async def two_dcs(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[tuple[Server, Server]]:
    (dc1,) = make_cluster(tmp_path / "dc1", 1)
    wan = dc1.cfg.ports.serf_wan
    (dc2,) = make_cluster(tmp_path / "dc2", 1, extra_flags=(
        "-datacenter", "dc2", "-retry-join-wan", f"127.0.0.1:{wan}", "-retry-interval-wan", "1s"))
    dc1, dc2 = _quick_wan(dc1), _renamed(dc2, "t1")
    for server in (_with_dns(dc1), _with_dns(dc2)):
        await server.start(nursery)
    await wait_leader([dc1])
    await wait_leader([dc2])
    for server in (dc1, dc2):
        wan_router = server.ctx.extras["wan"]  # type: ignore[union-attr]
        await wait_for(lambda: wan_router.remote_datacenters() == ({"dc2"} if server is dc1 else {"dc1"}),
                       TIMEOUT, f"the other datacenter in {server.cfg.datacenter}'s WAN pool")
    yield dc1, dc2
    for server in (dc1, dc2):
        if server.running:
            server.crash()


async def test_dns_names_with_another_datacenter(two_dcs: tuple[Server, Server]) -> None:
    dc1, dc2 = two_dcs
    service = {"Node": "web-node", "Address": "10.2.0.7", "NodeMeta": {"rack": "r2"},
               "Service": {"Service": "web", "Tags": ["v1"], "Port": 8080}}
    assert (await call(dc2, "PUT", "/v1/catalog/register", json.dumps(service))).status == 200

    reply = await ask(dc1, "web.service.dc2.consul.")
    assert reply.rcode() == dns.rcode.NOERROR
    assert [r.to_text() for rr in reply.answer for r in rr] == ["10.2.0.7"]
    # The answer is dc2's own (authoritative), for the question as asked.
    assert reply.flags & dns.flags.AA and str(reply.question[0].name) == "web.service.dc2.consul."
    assert (await ask(dc1, "v1.web.service.dc2.consul.")).answer
    assert (await ask(dc1, "v2.web.service.dc2.consul.")).rcode() == dns.rcode.NXDOMAIN
    assert (await ask(dc1, "web.service.dc2.dc.consul.")).answer  # the <dc>.dc locality form
    srv = await ask(dc1, "_web._tcp.service.dc2.consul.", "SRV")
    assert [(r.port, str(r.target)) for rr in srv.answer for r in rr] == [(8080, "web-node.node.dc2.consul.")]
    node = await ask(dc1, "web-node.node.dc2.consul.")
    assert [r.to_text() for rr in node.answer for r in rr] == ["10.2.0.7"]
    # dc1 itself has no such service; the local answer is unaffected.
    assert (await ask(dc1, "web.service.consul.")).rcode() == dns.rcode.NXDOMAIN
    assert (await ask(dc1, "web.service.dc1.consul.")).rcode() == dns.rcode.NXDOMAIN
    # An unknown datacenter: NXDOMAIN with the SOA (Consul: "No path to datacenter" is a name error).
    unknown = await ask(dc1, "web.service.mars.consul.")
    assert unknown.rcode() == dns.rcode.NXDOMAIN
    assert [rr.rdtype for rr in unknown.authority] == [dns.rdatatype.SOA]
    stats = dc1.ctx.extras["dns.handler"].stats  # type: ignore[union-attr]
    assert stats.wan_forwarded >= 6 and stats.wan_failed == 0
    link = _link(dc1, "dc2")
    assert link.statistics()["last_rtt_ms"] is not None and link.statistics()["errors"] == 0

    # dc2's server goes away: the datacenter is still known (WAN member, not left) but cannot answer.
    dc2.crash()
    for _ in range(3):
        started = trio.current_time()
        gone = await ask(dc1, "web.service.dc2.consul.")
        assert gone.rcode() == dns.rcode.SERVFAIL
        assert trio.current_time() - started < 2.0
    assert stats.wan_failed == 3
    # The local datacenter keeps answering.
    assert (await ask(dc1, "s1.node.consul.")).rcode() == dns.rcode.NOERROR


async def test_events_fired_for_another_datacenter(two_dcs: tuple[Server, Server]) -> None:
    dc1, dc2 = two_dcs
    resp = await call(dc1, "PUT", "/v1/event/fire/deploy?dc=dc2", b"v42")
    assert resp.status == 200, resp.body
    fired = json.loads(bytes(resp.body))
    assert fired["Name"] == "deploy" and base64.b64decode(fired["Payload"]) == b"v42"

    def seen_in(server: Server) -> list[str]:
        return [e.id for e in server.ctx.extras["gossip"].events.events("deploy")]  # type: ignore[union-attr]

    await wait_for(lambda: seen_in(dc2) == [fired["ID"]], TIMEOUT, "the event in dc2's buffer")
    listed = await get_json(dc2, "/v1/event/list?name=deploy")
    assert [e["ID"] for e in listed] == [fired["ID"]]
    # dc1 never got it; its list ignores ?dc (Consul lists the agent's own events).
    assert seen_in(dc1) == []
    assert await get_json(dc1, "/v1/event/list?dc=dc2&name=deploy") == []
    # A datacenter nobody knows: Consul's 500.
    resp = await call(dc1, "PUT", "/v1/event/fire/deploy?dc=mars")
    assert (resp.status, bytes(resp.body)) == (500, b"No path to datacenter")


async def test_body_datacenter_routes_catalog_writes(two_dcs: tuple[Server, Server]) -> None:
    dc1, dc2 = two_dcs
    body = {"Datacenter": "dc2", "Node": "far", "Address": "10.9.9.9"}
    resp = await call(dc1, "PUT", "/v1/catalog/register", json.dumps(body))
    assert (resp.status, bytes(resp.body)) == (200, b"true")
    assert "far" in [n["Node"] for n in await get_json(dc2, "/v1/catalog/nodes")]
    assert "far" not in [n["Node"] for n in await get_json(dc1, "/v1/catalog/nodes")]
    assert "far" in [n["Node"] for n in await get_json(dc1, "/v1/catalog/nodes?dc=dc2")]
    # Lower-case key, as Consul's lenient decoding accepts.
    resp = await call(dc1, "PUT", "/v1/catalog/register", '{"datacenter": "dc2", "Node": "far2", "Address": "10.9.9.8"}')
    assert resp.status == 200
    # ?dc= without a body Datacenter: Consul registers in the local datacenter.
    resp = await call(dc1, "PUT", "/v1/catalog/register?dc=dc2", json.dumps({"Node": "near", "Address": "10.1.1.1"}))
    assert resp.status == 200
    assert "near" in [n["Node"] for n in await get_json(dc1, "/v1/catalog/nodes")]
    assert "near" not in [n["Node"] for n in await get_json(dc2, "/v1/catalog/nodes")]

    resp = await call(dc1, "PUT", "/v1/catalog/deregister", json.dumps({"Datacenter": "dc2", "Node": "far"}))
    assert (resp.status, bytes(resp.body)) == (200, b"true")
    assert "far" not in [n["Node"] for n in await get_json(dc2, "/v1/catalog/nodes")]
    # Unknown datacenter in the body; a body that is not JSON is the local handler's 400.
    resp = await call(dc1, "PUT", "/v1/catalog/register", json.dumps({**body, "Datacenter": "mars"}))
    assert (resp.status, bytes(resp.body)) == (500, b"No path to datacenter")
    resp = await call(dc1, "PUT", "/v1/catalog/register", "{not json")
    assert resp.status == 400


async def test_forwarded_blocking_query_keeps_index_and_wait(two_dcs: tuple[Server, Server]) -> None:
    dc1, dc2 = two_dcs
    assert (await call(dc2, "PUT", "/v1/kv/blk", b"one")).status == 200
    first = await call(dc1, "GET", "/v1/kv/blk?dc=dc2")
    index = int(first.headers["X-Consul-Index"])

    # Nothing changes: the remote server holds the query for the whole wait, then answers the same index.
    # Its route is checked every 0.3 s meanwhile (dc1's wan config); silence is not a failure.
    link = _link(dc1, "dc2")
    checks = link.statistics()["route_checks"]
    started = trio.current_time()
    same = await call(dc1, "GET", f"/v1/kv/blk?dc=dc2&index={index}&wait=2s")
    took = trio.current_time() - started
    assert same.status == 200 and int(same.headers["X-Consul-Index"]) == index
    assert took >= 1.9, f"a blocking query forwarded to dc2 returned after {took:.3f} s, before its wait"
    stats = link.statistics()
    assert stats["route_checks"] - checks >= 3 and stats["route_checks_failed"] == 0, stats
    assert stats["errors"] == 0 and stats["breaker"] == "closed", stats

    # A change in dc2 wakes it: it returns the new value, long before its 30 s wait.
    result: dict[str, Any] = {}

    async def blocked() -> None:
        result["resp"] = await call(dc1, "GET", f"/v1/kv/blk?dc=dc2&index={index}&wait=30s")
        result["at"] = trio.current_time()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(blocked)
        await wait_for(lambda: link.in_flight == 1, TIMEOUT, "the blocking query in flight to dc2")
        assert "resp" not in result
        written_at = trio.current_time()
        assert (await call(dc2, "PUT", "/v1/kv/blk", b"two")).status == 200
    resp = result["resp"]
    assert resp.status == 200 and int(resp.headers["X-Consul-Index"]) > index
    assert base64.b64decode(json.loads(bytes(resp.body))[0]["Value"]) == b"two"
    assert result["at"] - written_at < 5.0
    assert link.in_flight == 0 and link.statistics()["breaker"] == "closed"


async def test_wan_partition_fails_fast_then_forwarding_resumes(two_dcs: tuple[Server, Server]) -> None:
    dc1, dc2 = two_dcs
    assert dc1.ctx is not None and dc2.ctx is not None
    assert (await call(dc2, "PUT", "/v1/kv/p", b"before")).status == 200
    assert (await call(dc1, "GET", "/v1/kv/p?dc=dc2")).status == 200  # the connection to t1 is open now
    link = _link(dc1, "dc2")
    connect_timeout = dc1.cfg.wan.connect_timeout

    # The cut, as anyone calling PUT /v1/agent/faults would write it: node names, both directions.
    faults1, faults2 = dc1.ctx.extras["faults"], dc2.ctx.extras["faults"]
    faults1.replace([FaultRule(src="s1", dst="t1", drop=True)])
    faults2.replace([FaultRule(src="t1", dst="s1", drop=True)])

    started = trio.current_time()
    first = await call(dc1, "GET", "/v1/kv/p?dc=dc2")
    took_first = trio.current_time() - started
    assert first.status == 500, (first.status, first.body)
    assert took_first < connect_timeout + 0.5 < 2.0, f"the first request for the cut dc2 took {took_first:.2f} s"
    assert link.statistics()["breaker"] == "open"
    slowest = 0.0
    for target in ("/v1/kv/p?dc=dc2", "/v1/catalog/nodes?dc=dc2", "/v1/kv/p?dc=dc2&index=1&wait=30s"):
        for _ in range(5):
            started = trio.current_time()
            resp = await call(dc1, "GET", target)
            slowest = max(slowest, trio.current_time() - started)
            assert (resp.status, bytes(resp.body)) == (500, b"No path to datacenter"), target
    assert slowest < 0.1, f"a request for dc2 took {slowest:.3f} s while its breaker was open"
    assert (await ask(dc1, "web.service.dc2.consul.")).rcode() == dns.rcode.SERVFAIL
    assert (await call(dc1, "PUT", "/v1/kv/local", b"here")).status == 200  # dc1's own requests are untouched
    assert (await call(dc1, "GET", "/v1/kv/local")).status == 200

    # The same two rules cut the WAN gossip (the pool's "<node>.<dc>" names are read as node names) and
    # the forwarder's route checks; no link is counted under a WAN member name.
    assert (faults1.canonical("s1.dc1"), faults1.canonical("t1.dc2")) == ("s1", "t1")
    assert (faults2.canonical("t1.dc2"), faults2.canonical("s1.dc1")) == ("t1", "s1")
    links = faults1.statistics()["links"]
    assert links["s1->t1"]["dropped"] > 0, links
    assert not any("." in name for name in links), links

    # Heal: within a breaker cooldown or two a trial request gets through and forwarding resumes.
    faults1.heal()
    faults2.heal()
    healed_at = trio.current_time()
    while (await call(dc1, "GET", "/v1/kv/p?dc=dc2")).status != 200:
        assert trio.current_time() - healed_at < TIMEOUT, link.statistics()
        await trio.sleep(0.1)
    assert trio.current_time() - healed_at < 3 * dc1.cfg.wan.breaker_cooldown + 1.0
    assert link.statistics()["breaker"] == "closed"
    assert json.loads(bytes((await call(dc1, "GET", "/v1/kv/p?dc=dc2")).body))[0]["Key"] == "p"


def test_target_datacenter_and_timeouts() -> None:
    assert target_datacenter(Request("GET", "/v1/kv/a?dc=dc2")) == "dc2"
    assert target_datacenter(Request("GET", "/v1/catalog/datacenters?dc=dc2")) == ""
    assert target_datacenter(Request("GET", "/v1/agent/self?dc=dc2")) == ""
    assert target_datacenter(Request("PUT", "/v1/event/fire/x?dc=dc2")) == "dc2"
    assert target_datacenter(Request("GET", "/v1/event/list?dc=dc2")) == ""
    assert target_datacenter(Request("PUT", "/v1/catalog/register?dc=dc3", body=b'{"Datacenter":"dc2"}')) == "dc2"
    assert target_datacenter(Request("PUT", "/v1/catalog/register?dc=dc3", body=b'{"Node":"x"}')) == ""
    assert target_datacenter(Request("PUT", "/v1/catalog/deregister", body=b'{"DATACENTER":"dc2"}')) == "dc2"
    assert body_datacenter(b"[1]") == body_datacenter(b"{bad") == body_datacenter(b'{"Datacenter": 3}') == ""
    assert strip_dc("/v1/kv/a", "dc=dc2&index=5&dc=x&wait=1s") == "/v1/kv/a?index=5&wait=1s"
    assert forward_timeout(Request("GET", "/v1/kv/a")) == WanForwarding().request_timeout == 10.0
    # A blocking query may take its wait plus Consul's wait/16 jitter before the remote answers.
    assert forward_timeout(Request("GET", "/v1/kv/a?index=3&wait=300s")) > 300 + 300 / 16
    assert forward_timeout(Request("GET", "/v1/kv/a?index=3")) > 300 + 300 / 16  # default wait 5 min
    assert forward_timeout(Request("GET", "/v1/kv/a?index=3&wait=1h")) > 600 + 600 / 16  # capped at 10 min
