"""Two datacenters of real agent processes on loopback, federated over the WAN pool.

dc1 and dc2 each run one server (``-bootstrap-expect 1``); dc2's server joins dc1's WAN port. A KV
write in dc2 is read from dc1 with ``?dc=dc2``, dc2's catalog is read from dc1, both list both
datacenters; then dc2's server is killed (SIGKILL, by PID) and a request for dc2 fails fast with 500
``No path to datacenter`` while dc1 keeps serving its own KV. Only processes started here are killed.
"""

from __future__ import annotations

import base64
import json
import signal
import time
from pathlib import Path

from tests.cluster.proc_kit import ProcAgent, wait_until


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


def test_two_datacenters_forward_and_fail_fast(tmp_path: Path) -> None:
    dc1 = ProcAgent("s1", tmp_path, ["-server", "-datacenter", "dc1", "-bootstrap-expect", "1"])
    dc2 = ProcAgent("t1", tmp_path, ["-server", "-datacenter", "dc2", "-bootstrap-expect", "1"])
    dc2.args += ["-retry-join-wan", f"127.0.0.1:{dc1.wan}", "-retry-interval-wan", "1s"]
    client = ProcAgent("c1", tmp_path, ["-datacenter", "dc1", "-retry-join", f"127.0.0.1:{dc1.lan}",
                                        "-retry-interval", "1s"])
    agents = [dc1, dc2, client]
    try:
        for agent in agents:
            agent.start()
        wait_until(lambda: _leader(dc1) and _leader(dc2), 30, "a leader in each datacenter")
        wait_until(lambda: dc1.get_json("/v1/catalog/datacenters") == ["dc1", "dc2"], 30, "dc2 known in dc1")
        assert dc2.get_json("/v1/catalog/datacenters") == ["dc2", "dc1"]

        # A write in dc2, read from dc1 through the WAN; dc1's own KV does not have it.
        assert dc2.call("PUT", "/v1/kv/wan/key", b"from-dc2") == (200, b"true")
        assert _kv(dc1, "wan/key", dc="dc2") == b"from-dc2"
        assert _kv(dc1, "wan/key") is None
        # And the other way round, a write forwarded from dc1 into dc2.
        assert dc1.call("PUT", "/v1/kv/wan/back?dc=dc2", b"via-dc1") == (200, b"true")
        assert _kv(dc2, "wan/back") == b"via-dc1"
        # Through a dc1 client agent: client → dc1 server → dc2 server, ``dc`` surviving the first hop.
        wait_until(lambda: len(dc1.get_json("/v1/catalog/nodes")) == 2, 30, "the client in dc1's catalog")
        assert _kv(client, "wan/key", dc="dc2") == b"from-dc2"
        assert client.get_json("/v1/catalog/datacenters") == ["dc1", "dc2"]
        # The link shows up in dc1's inspector tree with its statistics.
        link = _find(dc1.get_json("/v1/agent/actors"), "/wan/dc:dc2")
        assert link is not None, "wan/dc:dc2 in the inspector tree"
        stats = json.dumps(link)
        assert '"breaker": "closed"' in stats and '"last_rtt_ms"' in stats, stats
        # dc2's catalog, read from dc1: dc2's server registered itself as "consul".
        nodes = dc1.get_json("/v1/catalog/service/consul?dc=dc2")
        assert [(n["Node"], n["Datacenter"]) for n in nodes] == [("t1", "dc2")]
        assert "consul" in dc1.get_json("/v1/catalog/services?dc=dc2")
        # Unknown datacenter: Consul's 500.
        assert dc1.call("GET", "/v1/kv/wan/key?dc=nowhere") == (500, b"No path to datacenter")

        dc2.kill(signal.SIGKILL)
        for _ in range(3):
            start = time.monotonic()
            status, body = dc1.call("GET", "/v1/kv/wan/key?dc=dc2", timeout=15)
            took = time.monotonic() - start
            assert (status, body) == (500, b"No path to datacenter")
            assert took < 5.0, took
        assert dc1.call("PUT", "/v1/kv/local", b"still-here") == (200, b"true")
        assert _kv(dc1, "local") == b"still-here"
    finally:
        for agent in agents:
            agent.kill()
