"""Two datacenters of real agent processes on loopback, federated over the WAN pool.

dc1 runs three servers (``-bootstrap-expect 3``) and a client agent; dc2 one server. Every server joins
the WAN pool through s1's WAN port. From dc1 (its servers and its client):

* a KV write in dc2 is read with ``?dc=dc2`` and a write is sent into dc2; dc2's catalog and health are
  read; both datacenters list both in ``/v1/catalog/datacenters``;
* DNS ``web.service.dc2.consul`` (A, tag, RFC 2782 SRV) and ``<node>.node.dc2.consul`` through a dc1
  server's and the client's DNS port, answered with dc2's data; an unknown datacenter is NXDOMAIN;
* an event fired with ``?dc=dc2`` at the client reaches dc2's server;
* a blocking query for dc2 through the client waits for the change in dc2;
* the ``wan/dc:dc2`` link and its statistics show in the inspector tree;
* dc2's server is killed (SIGKILL, by PID): requests for dc2 fail fast with 500 ``No path to
  datacenter`` (DNS SERVFAIL) while dc1's own request latency holds: p99 of local reads is measured
  with dc2 up and with dc2 down, both times under the same load of requests for dc2 (four threads), and
  printed;
* dc2's server is started again (same data dir and ports): forwarding resumes.

Only processes started here are killed, by PID; every wait is deadline-bounded polling.
"""

from __future__ import annotations

import base64
import json
import signal
import threading
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode

from tests.cluster.proc_kit import ProcAgent, wait_until

LOCAL_SAMPLES = 300


def _leader(agent: ProcAgent) -> bool:
    return bool(agent.get_json("/v1/status/leader"))


def _kv(agent: ProcAgent, key: str, dc: str = "") -> bytes | None:
    status, body = agent.call("GET", f"/v1/kv/{key}" + (f"?dc={dc}" if dc else ""))
    if status == 404:
        return None
    if status != 200:
        raise RuntimeError(f"GET {key}: {status} {body!r}")
    return base64.b64decode(json.loads(body)[0]["Value"] or "")


def _find(node: object, suffix: str) -> dict | None:  # type: ignore[type-arg]
    """The inspector tree node whose path ends with ``suffix``."""
    if isinstance(node, dict):
        if str(node.get("path", "")).endswith(suffix):
            return node
        children = node.get("children", [])
        for child in children.values() if isinstance(children, dict) else children:
            found = _find(child, suffix)
            if found is not None:
                return found
    return None


def _ask(agent: ProcAgent, name: str, rdtype: str = "A") -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=agent.dns, timeout=5)


def _addresses(reply: dns.message.Message) -> list[str]:
    return sorted(r.to_text() for rr in reply.answer for r in rr if rr.rdtype in (1, 28))


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.99 + 0.5) - 1)]


def _local_latencies(agents: list[ProcAgent], count: int) -> list[float]:
    """Seconds per local request (a KV read and a catalog read, round robin over dc1's agents)."""
    took = []
    for i in range(count):
        agent = agents[i % len(agents)]
        start = time.monotonic()
        status, _ = agent.call("GET", "/v1/kv/local" if i % 2 else "/v1/catalog/nodes", timeout=10)
        took.append(time.monotonic() - start)
        assert status == 200, (agent.name, status)
    return took


def _local_latencies_under_dc2_load(dc1: list[ProcAgent], s1: ProcAgent, client: ProcAgent,
                                    expect: tuple[int, bytes | None]) -> tuple[list[float], list[float]]:
    """(local latencies, latencies of the requests for dc2 sent meanwhile, each answering ``expect``)."""
    remote: list[float] = []
    problems: list[str] = []
    stop = threading.Event()

    def hammer_dc2() -> None:
        while not stop.is_set():
            for agent in (s1, client):
                start = time.monotonic()
                status, body = agent.call("GET", "/v1/kv/wan/key?dc=dc2", timeout=15)
                remote.append(time.monotonic() - start)
                if status != expect[0] or (expect[1] is not None and body != expect[1]):
                    problems.append(f"{agent.name}: {status} {body[:80]!r}")

    hammers = [threading.Thread(target=hammer_dc2) for _ in range(4)]
    for thread in hammers:
        thread.start()
    try:
        local = _local_latencies(dc1, LOCAL_SAMPLES)
    finally:
        stop.set()
        for thread in hammers:
            thread.join(timeout=30)
    assert not problems, problems[:5]
    return local, remote


def test_two_datacenters_forward_fail_fast_and_resume(tmp_path: Path) -> None:
    s1 = ProcAgent("s1", tmp_path, ["-server", "-datacenter", "dc1", "-bootstrap-expect", "3"])
    dc1_servers = [s1] + [ProcAgent(f"s{i}", tmp_path, ["-server", "-datacenter", "dc1", "-bootstrap-expect", "3"])
                          for i in (2, 3)]
    for agent in dc1_servers[1:]:
        agent.args += ["-retry-join", f"127.0.0.1:{s1.lan}", "-retry-interval", "1s"]
    dc2 = ProcAgent("t1", tmp_path, ["-server", "-datacenter", "dc2", "-bootstrap-expect", "1"])
    for agent in [*dc1_servers[1:], dc2]:
        agent.args += ["-retry-join-wan", f"127.0.0.1:{s1.wan}", "-retry-interval-wan", "1s"]
    client = ProcAgent("c1", tmp_path, ["-datacenter", "dc1", "-retry-join", f"127.0.0.1:{s1.lan}",
                                        "-retry-interval", "1s"])
    dc1 = [*dc1_servers, client]
    agents = [*dc1, dc2]
    try:
        for agent in agents:
            agent.start()
        wait_until(lambda: all(_leader(a) for a in dc1_servers) and _leader(dc2), 60, "a leader in each datacenter")
        for agent in dc1:
            wait_until(lambda: agent.get_json("/v1/catalog/datacenters") == ["dc1", "dc2"], 60,
                       f"dc2 known at {agent.name}")
        assert dc2.get_json("/v1/catalog/datacenters") == ["dc2", "dc1"]
        wan_names = sorted(m["Name"] for m in s1.get_json("/v1/agent/members?wan=1") if m["Status"] == 1)
        assert wan_names == ["s1.dc1", "s2.dc1", "s3.dc1", "t1.dc2"]

        # KV: a write in dc2 read from dc1 (every dc1 agent), and a write sent into dc2 from dc1.
        assert dc2.call("PUT", "/v1/kv/wan/key", b"from-dc2") == (200, b"true")
        for agent in dc1:
            assert _kv(agent, "wan/key", dc="dc2") == b"from-dc2", agent.name
        assert _kv(s1, "wan/key") is None
        assert client.call("PUT", "/v1/kv/wan/back?dc=dc2", b"via-dc1-client") == (200, b"true")
        assert _kv(dc2, "wan/back") == b"via-dc1-client"

        # Catalog and health of dc2, read from dc1; a service registered through dc1 with a body naming dc2.
        web = {"Datacenter": "dc2", "Node": "web-1", "Address": "10.2.0.1",
               "Service": {"Service": "web", "Tags": ["blue"], "Port": 8080},
               "Check": {"CheckID": "web-alive", "Name": "web", "ServiceID": "web", "Status": "passing"}}
        assert client.call("PUT", "/v1/catalog/register", json.dumps(web).encode()) == (200, b"true")
        nodes = s1.get_json("/v1/catalog/service/web?dc=dc2")
        assert [(n["Node"], n["Datacenter"], n["ServicePort"]) for n in nodes] == [("web-1", "dc2", 8080)]
        assert s1.get_json("/v1/catalog/service/web") == []
        health = client.get_json("/v1/health/service/web?dc=dc2&passing")
        assert [e["Node"]["Node"] for e in health] == ["web-1"]
        assert "consul" in s1.get_json("/v1/catalog/services?dc=dc2")

        # DNS through a dc1 server and through the dc1 client: answered with dc2's catalog.
        for agent in (s1, client):
            assert _addresses(_ask(agent, "web.service.dc2.consul")) == ["10.2.0.1"], agent.name
            assert _addresses(_ask(agent, "blue.web.service.dc2.consul")) == ["10.2.0.1"], agent.name
            srv = _ask(agent, "_web._tcp.service.dc2.consul", "SRV")
            assert [(r.port, str(r.target)) for rr in srv.answer for r in rr] == [(8080, "web-1.node.dc2.consul.")]
            assert _addresses(_ask(agent, "web-1.node.dc2.consul")) == ["10.2.0.1"], agent.name
            assert _ask(agent, "web.service.consul").rcode() == dns.rcode.NXDOMAIN  # not in dc1
            assert _ask(agent, "web.service.mars.consul").rcode() == dns.rcode.NXDOMAIN  # unknown dc

        # An event fired at the dc1 client for dc2 reaches dc2's agents (and not dc1's).
        status, body = client.call("PUT", "/v1/event/fire/deploy?dc=dc2", b"v7")
        assert status == 200, body
        event_id = json.loads(body)["ID"]
        wait_until(lambda: [e["ID"] for e in dc2.get_json("/v1/event/list?name=deploy")] == [event_id], 20,
                   "the event at dc2's server")
        assert client.get_json("/v1/event/list?name=deploy") == []

        # A blocking query for dc2 through the client: held until dc2 changes, then the new value.
        index = int(json.loads(client.call("GET", "/v1/kv/wan/key?dc=dc2")[1])[0]["ModifyIndex"])
        answer: dict[str, object] = {}

        def blocking() -> None:
            answer["reply"] = client.call("GET", f"/v1/kv/wan/key?dc=dc2&index={index}&wait=20s", timeout=40)
            answer["at"] = time.monotonic()

        waiter = threading.Thread(target=blocking)
        waiter.start()
        link_stats = lambda: _find(s1.get_json("/v1/agent/actors"), "/wan/dc:dc2") or {}  # noqa: E731
        # The client's request lands on one dc1 server; wait until one of them has it in flight to dc2.
        wait_until(lambda: any((_find(a.get_json("/v1/agent/actors"), "/wan/dc:dc2") or {})
                               .get("stats", {}).get("in_flight") == 1 for a in dc1_servers),
                   20, "the blocking query in flight to dc2")
        assert "reply" not in answer
        changed_at = time.monotonic()
        assert dc2.call("PUT", "/v1/kv/wan/key", b"changed") == (200, b"true")
        waiter.join(timeout=30)
        status, body = answer["reply"]  # type: ignore[misc]
        assert status == 200 and base64.b64decode(json.loads(body)[0]["Value"]) == b"changed"
        assert answer["at"] - changed_at < 5.0  # type: ignore[operator]

        # The link and its statistics in dc1's inspector tree.
        link = link_stats()
        stats = link["stats"]
        assert stats["breaker"] == "closed" and stats["last_rtt_ms"] is not None, stats
        assert stats["in_flight"] == 0 and stats["errors"] == 0, stats

        # dc1's own latency, measured twice under the same load of requests for dc2 (4 threads): with dc2
        # up (they succeed), then with dc2's server killed (they must fail fast).
        assert s1.call("PUT", "/v1/kv/local", b"here") == (200, b"true")
        before, remote_ok = _local_latencies_under_dc2_load(dc1, s1, client, (200, None))
        dc2.kill(signal.SIGKILL)
        during, failures = _local_latencies_under_dc2_load(dc1, s1, client, (500, b"No path to datacenter"))
        assert _ask(s1, "web.service.dc2.consul").rcode() == dns.rcode.SERVFAIL
        assert _ask(client, "web.service.dc2.consul").rcode() == dns.rcode.SERVFAIL
        p99_before, p99_during = _p99(before), _p99(during)
        print(f"\ndc1 local p99: {p99_before * 1000:.1f} ms with dc2 up ({len(remote_ok)} forwarded requests "
              f"meanwhile, p99 {_p99(remote_ok) * 1000:.1f} ms), {p99_during * 1000:.1f} ms with dc2 down "
              f"({len(failures)} requests for dc2 meanwhile, slowest {max(failures) * 1000:.1f} ms, "
              f"p99 {_p99(failures) * 1000:.1f} ms)")
        assert len(failures) >= 20
        assert max(failures) < 5.0, f"a request for the dead dc2 took {max(failures):.2f} s"
        assert p99_during < 3 * p99_before + 0.1, (p99_before, p99_during)  # same load: only dc2 differs
        link = link_stats()
        stats = link["stats"]
        assert stats["errors"] > 0 or stats["breaker"] != "closed", stats

        # dc2 comes back: forwarding resumes (WAN rejoin, breaker half-open trial).
        dc2.start()
        wait_until(lambda: _kv(s1, "wan/key", dc="dc2") == b"changed", 90, "forwarding to dc2 again from s1")
        wait_until(lambda: _kv(client, "wan/key", dc="dc2") == b"changed", 30, "forwarding to dc2 again from c1")
        wait_until(lambda: _addresses(_ask(client, "web.service.dc2.consul")) == ["10.2.0.1"], 30,
                   "DNS for dc2 again through the client")
        assert _kv(s1, "local") == b"here"
    finally:
        for agent in agents:
            agent.kill()
