"""The truth test: real agent processes on loopback forming a cluster through gossip.

Three servers (``-bootstrap-expect 3``) and a client join through one ``-retry-join`` address; a service
registered at the client appears in the catalog and health of the servers, and every member gets its
``serfHealth`` check from the leader (critical once a member is killed); writes go
through the client (forwarded to a server, then to the leader); the leader is killed with SIGKILL and
a new one takes over; then every server is killed and restarted from its data dir, and every write
that was acknowledged is still there.
"""

from __future__ import annotations

import base64
import time
import json
import signal
from pathlib import Path

from tests.cluster.proc_kit import ProcCluster, wait_until


def kv_get(agent, key: str) -> bytes | None:  # type: ignore[no-untyped-def]
    status, body = agent.call("GET", f"/v1/kv/{key}?consistent")
    if status == 404:
        return None
    if status != 200:
        raise RuntimeError(f"GET {key}: {status} {body!r}")
    value = json.loads(body)[0]["Value"]
    return base64.b64decode(value) if value else b""


def kv_put(agent, key: str, value: bytes) -> bool:  # type: ignore[no-untyped-def]
    status, body = agent.call("PUT", f"/v1/kv/{key}", value)
    return status == 200 and body.strip() == b"true"


def test_three_servers_and_a_client_survive_leader_kill_and_full_restart(tmp_path: Path) -> None:
    cluster = ProcCluster(tmp_path, servers=3, clients=1)
    try:
        cluster.start()
        client = cluster.clients[0]
        wait_until(lambda: cluster.leader() is not None, 60, "a leader")
        wait_until(lambda: len([m for m in client.get_json("/v1/agent/members") if m["Status"] == 1]) == 4, 30,
                   "4 alive members seen by the client")
        # A service registered at the client agent reaches the catalog through anti-entropy.
        service = json.dumps({"Name": "web", "Port": 8080, "Tags": ["v1"],
                              "Check": {"TTL": "1h", "Status": "passing"}}).encode()
        assert client.call("PUT", "/v1/agent/service/register", service)[0] == 200
        wait_until(lambda: [e["Node"]["Node"] for e in cluster.servers[1].get_json("/v1/health/service/web?passing")]
                   == ["c1"], 20, "web on c1 passing in the catalog")
        # The client agent's DNS interface answers through a server.
        def client_dns_answers() -> bool:
            import dns.message
            import dns.query

            import dns.exception

            try:
                reply = dns.query.udp(dns.message.make_query("web.service.consul", "SRV"), "127.0.0.1",
                                      port=client.dns, timeout=2)
            except dns.exception.Timeout:
                return False
            return reply.rcode() == 0 and any(r.port == 8080 for rrset in reply.answer for r in rrset)

        wait_until(client_dns_answers, 20, "web.service.consul SRV from the client's DNS port")
        # The leader turns LAN membership into serfHealth checks, client included.
        wait_until(lambda: any(c["CheckID"] == "serfHealth" and c["Status"] == "passing"
                               for c in cluster.servers[0].get_json("/v1/health/node/c1")), 20, "c1's serfHealth")
        acknowledged: dict[str, bytes] = {}
        for i in range(20):
            key, value = f"k{i}", f"v{i}".encode()
            wait_until(lambda: kv_put(client, key, value), 15, f"write {key} through the client")
            acknowledged[key] = value

        # SIGTERM on a client agent is a graceful leave (Consul's leave_on_terminate default for clients):
        # the servers see it as left (Status 3), not failed, and the leader takes it out of the catalog.
        client.kill(signal.SIGTERM)
        wait_until(lambda: [m["Status"] for m in cluster.servers[0].get_json("/v1/agent/members")
                            if m["Name"] == "c1"] == [3], 20, "c1 seen as left after SIGTERM")
        wait_until(lambda: cluster.servers[0].get_json("/v1/catalog/node/c1") is None, 20,
                   "c1 deregistered from the catalog")

        leader = cluster.leader()
        assert leader is not None
        leader.kill(signal.SIGKILL)
        survivors = [s for s in cluster.servers if s is not leader]
        took = wait_until(lambda: cluster.leader() is not None, 30, "a new leader")
        print(f"new leader after {took:.2f}s")
        wait_until(lambda: any(c["CheckID"] == "serfHealth" and c["Status"] == "critical"
                               for c in survivors[0].get_json(f"/v1/health/node/{leader.name}")), 40,
                   "the killed server's serfHealth going critical")
        for i in range(20, 30):
            key, value = f"k{i}", f"v{i}".encode()
            wait_until(lambda: kv_put(survivors[i % 2], key, value), 15, f"write {key} after failover")
            acknowledged[key] = value

        for server in cluster.servers:
            server.kill(signal.SIGKILL)
        for server in cluster.servers:
            server.start()
        wait_until(lambda: cluster.leader() is not None, 60, "a leader after the full restart")
        for key, value in acknowledged.items():
            got = None

            def readable() -> bool:
                nonlocal got
                got = kv_get(cluster.servers[0], key)
                return got is not None

            wait_until(readable, 15, f"{key} readable")
            assert got == value, f"{key}: acknowledged {value!r}, read {got!r}"
    finally:
        cluster.close()


def test_proconsul_leave_on_the_leader_hands_over_and_shrinks_the_configuration(tmp_path: Path) -> None:
    import subprocess
    import sys

    cluster = ProcCluster(tmp_path, servers=3)
    try:
        cluster.start()
        wait_until(lambda: cluster.leader() is not None, 60, "a leader")
        leader = cluster.leader()
        assert leader is not None and leader.proc is not None
        result = subprocess.run([sys.executable, "-m", "actors.cli", "leave", "-http-addr", f"127.0.0.1:{leader.http}"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert leader.proc.wait(timeout=30) == 0  # the agent process exits after a graceful leave
        leader.proc = None
        survivors = [s for s in cluster.servers if s is not leader]
        wait_until(lambda: cluster.leader() is not None, 30, "a new leader")
        peers = survivors[0].get_json("/v1/operator/raft/configuration")["Servers"]
        assert sorted(p["Node"] for p in peers) == sorted(s.name for s in survivors)
        wait_until(lambda: kv_put(survivors[0], "after-leave", b"x"), 15, "a write after the leave")
    finally:
        cluster.close()


def test_a_paused_leader_never_serves_a_stale_default_read(tmp_path: Path) -> None:
    """Jepsen's 2014 Consul finding: a deposed leader answered default reads from stale state. Here the
    leader is frozen (SIGSTOP), the others elect a new one and accept a write, and a default-mode read
    is queued at the frozen leader before it resumes: it must answer the new value (or fail), never
    the old one, because its lease is measured in time it cannot have counted while frozen."""
    import threading

    cluster = ProcCluster(tmp_path, servers=3)
    try:
        cluster.start()
        wait_until(lambda: cluster.leader() is not None, 60, "a leader")
        old = cluster.leader()
        assert old is not None and old.proc is not None
        wait_until(lambda: kv_put(old, "reg", b"old"), 15, "the first write")
        old.proc.send_signal(signal.SIGSTOP)
        try:
            others = [s for s in cluster.servers if s is not old]
            wait_until(lambda: kv_put(others[0], "reg", b"new"), 30, "a write under the new leader")
            answer: list[object] = []

            def read() -> None:
                try:
                    answer.append(old.call("GET", "/v1/kv/reg?raw", timeout=20))
                except OSError as exc:
                    answer.append(exc)

            reader = threading.Thread(target=read)
            reader.start()
            time.sleep(0.3)  # let the request reach the frozen process's socket buffer before it resumes
        finally:
            old.proc.send_signal(signal.SIGCONT)
        reader.join(timeout=30)
        assert answer, "no answer from the resumed leader"
        result = answer[0]
        if isinstance(result, tuple):
            status, body = result
            assert not (status == 200 and body == b"old"), "the resumed leader served a stale read"
    finally:
        cluster.close()
