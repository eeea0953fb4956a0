"""Consistency modes and the query-string rules shared by every read."""

from __future__ import annotations

import pytest

from actors.backend import LocalBackend, ReadMeta
from tests.api.conftest import Local

READS = [
    "/v1/kv/k",
    "/v1/kv/?recurse",
    "/v1/kv/?keys",
    "/v1/session/list",
    "/v1/session/node/n1",
    "/v1/catalog/nodes",
    "/v1/catalog/services",
    "/v1/catalog/service/consul",
    "/v1/catalog/node/n1",
    "/v1/catalog/node-services/n1",
    "/v1/health/node/n1",
    "/v1/health/checks/consul",
    "/v1/health/service/consul",
    "/v1/health/state/any",
]


def sep(target: str) -> str:
    return "&" if "?" in target else "?"


@pytest.mark.parametrize("target", READS)
async def test_every_read_reports_its_consistency(local: Local, target: str) -> None:
    await local.call("PUT", "/v1/kv/k", "v")
    for flags, effective in (("", "leader"), ("stale", "stale"), ("consistent", "consistent"),
                             ("leader", "leader"), ("max_stale=5s", "stale"), ("max_stale=0s", "leader")):
        resp = await local.call("GET", target + (sep(target) + flags if flags else ""))
        assert resp.status == 200, (target, flags, resp.body)
        assert resp.headers["X-Consul-Effective-Consistency"] == effective, (target, flags)
        assert resp.headers["X-Consul-KnownLeader"] == "true"
        assert resp.headers["X-Consul-LastContact"] == "0"
        assert int(resp.headers["X-Consul-Index"]) >= 1
    resp = await local.call("GET", target + sep(target) + "stale&consistent")
    assert (resp.status, resp.body) == (400, b"Cannot specify ?stale with ?consistent, conflicting semantics.")
    resp = await local.call("GET", target + sep(target) + "consistent&max_stale=1s")
    assert resp.status == 400


async def test_backend_sees_the_requested_mode(local: Local) -> None:
    seen: list[tuple[str, float | None]] = []

    class Recording(LocalBackend):
        async def read_barrier(self, mode, max_stale=None):  # type: ignore[no-untyped-def]
            seen.append((mode, max_stale))
            return ReadMeta(known_leader=False, last_contact_ms=1234, consistency="stale")

    backend = Recording()
    backend.store = local.backend.store
    local.ctx.backend = backend
    resp = await local.call("GET", "/v1/catalog/nodes?max_stale=2s")
    # LastContact (1.234 s) is within max_stale (2 s): one stale read.
    assert seen == [("stale", 2.0)]
    assert resp.headers["X-Consul-KnownLeader"] == "false"
    assert resp.headers["X-Consul-LastContact"] == "1234"
    seen.clear()
    await local.call("GET", "/v1/catalog/nodes?max_stale=1s")
    # Too stale: Consul retries once in default mode.
    assert seen == [("stale", 1.0), ("default", None)]
    seen.clear()
    await local.call("GET", "/v1/kv/x?consistent")
    assert seen == [("consistent", None)]


async def test_cached_with_consistent_is_refused(local: Local) -> None:
    resp = await local.call("GET", "/v1/catalog/nodes?cached&consistent")
    assert (resp.status, resp.body) == (400, b"Cannot specify ?cached with ?consistent, conflicting semantics.")


async def test_error_order_follows_consul(local: Local) -> None:
    # Consistency is checked before wait/index, which come before the datacenter and the filter.
    resp = await local.call("GET", "/v1/catalog/nodes?stale&consistent&wait=bad&dc=x&filter=(")
    assert resp.body.startswith(b"Cannot specify ?stale")
    resp = await local.call("GET", "/v1/catalog/nodes?wait=bad&index=bad&dc=x")
    assert resp.body == b"Invalid wait time"
    resp = await local.call("GET", "/v1/catalog/nodes?index=1.5&dc=x")
    assert resp.body == b"Invalid index"
    resp = await local.call("GET", "/v1/catalog/nodes?dc=x&filter=(")
    assert (resp.status, resp.body) == (500, b"No path to datacenter")
    resp = await local.call("GET", "/v1/catalog/nodes?dc=dc1&filter=Node%20==")
    assert resp.status == 400 and resp.body.startswith(b"Failed to create boolean expression evaluator")


async def test_without_a_backend_reads_and_writes_fail_cleanly(local: Local) -> None:
    local.ctx.backend = None
    for method, target in (("GET", "/v1/kv/k"), ("PUT", "/v1/kv/k"), ("GET", "/v1/catalog/nodes"),
                           ("PUT", "/v1/session/create"), ("GET", "/v1/operator/raft/configuration")):
        resp = await local.call(method, target)
        assert (resp.status, resp.body) == (500, b"No known Consul servers"), target
