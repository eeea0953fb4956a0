"""``PUT /v1/txn``: verbs across kinds, 200/409 shapes, read-only fast path, limits and bad bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

from actors.backend import LocalBackend, ReadMeta
from tests.api.conftest import Local


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def txn(local: Local, ops: Any, query: str = "") -> tuple[int, Any, dict[str, str]]:
    resp = await local.call("PUT", "/v1/txn" + query, json.dumps(ops) if not isinstance(ops, str) else ops)
    body = json.loads(resp.body) if resp.status in (200, 409) else resp.body.decode()
    return resp.status, body, resp.headers


async def test_kv_writes_commit_atomically(local: Local) -> None:
    status, body, headers = await txn(local, [
        {"KV": {"Verb": "set", "Key": "a", "Value": b64("1"), "Flags": 3}},
        {"kv": {"verb": "set", "key": "b", "value": b64("2")}},
        {"KV": {"Verb": "get", "Key": "a"}},
        {"KV": {"Verb": "delete", "Key": "zzz"}},
    ])
    assert status == 200 and body["Errors"] is None
    results = body["Results"]
    assert [r["KV"]["Key"] for r in results] == ["a", "b", "a"]
    assert results[0]["KV"]["Value"] is None and results[0]["KV"]["Flags"] == 3  # set results carry no value
    assert results[2]["KV"]["Value"] == b64("1")
    assert "X-Consul-Index" not in headers

    index = results[0]["KV"]["ModifyIndex"]
    status, body, _ = await txn(local, [
        {"KV": {"Verb": "set", "Key": "c", "Value": b64("3")}},
        {"KV": {"Verb": "cas", "Key": "a", "Value": b64("x"), "Index": index + 50}},
        {"KV": {"Verb": "get", "Key": "missing"}},
    ])
    assert status == 409 and body["Results"] is None
    assert body["Errors"] == [
        {"OpIndex": 1, "What": 'failed to set key "a", index is stale'},
        {"OpIndex": 2, "What": 'key "missing" doesn\'t exist'},
    ]
    assert (await local.call("GET", "/v1/kv/c")).status == 404  # rolled back


async def test_read_only_txn_is_a_read(local: Local) -> None:
    await local.call("PUT", "/v1/kv/r/1", "one")
    writes_before = local.backend.index
    status, body, headers = await txn(local, [{"KV": {"Verb": "get-tree", "Key": "r/"}},
                                              {"KV": {"Verb": "check-not-exists", "Key": "r/2"}}], "?stale")
    assert status == 200 and [r["KV"]["Key"] for r in body["Results"]] == ["r/1"]
    assert headers["X-Consul-KnownLeader"] == "true" and headers["X-Consul-LastContact"] == "0"
    assert local.backend.index == writes_before  # nothing went through the log
    status, body, _ = await txn(local, [{"KV": {"Verb": "get", "Key": "r/none"}}])
    assert status == 409 and body["Errors"][0]["OpIndex"] == 0
    status, body, _ = await txn(local, [{"KV": {"Verb": "get", "Key": "r/1"}}], "?stale&consistent")
    assert (status, body) == (400, "Cannot specify ?stale with ?consistent, conflicting semantics.")


async def test_read_only_txn_honours_consistency(local: Local) -> None:
    seen: list[str] = []

    class Recording(LocalBackend):
        async def read_barrier(self, mode, max_stale=None):  # type: ignore[no-untyped-def]
            seen.append(mode)
            return ReadMeta(known_leader=True, last_contact_ms=0, consistency="consistent")

    backend = Recording()
    backend.store = local.backend.store
    local.ctx.backend = backend
    await txn(local, [{"KV": {"Verb": "get-or-empty", "Key": "x"}}], "?consistent")
    assert seen == ["consistent"]


async def test_catalog_ops_and_sessions(local: Local) -> None:
    sid = (await local.json("PUT", "/v1/session/create"))["ID"]
    status, body, _ = await txn(local, [
        {"Node": {"Verb": "set", "Node": {"Node": "t1", "Address": "10.9.9.9", "Meta": {"k": "v"}}}},
        {"Service": {"Verb": "set", "Node": "t1", "Service": {"Service": "cache", "Port": 6379}}},
        {"Check": {"Verb": "set", "Check": {"Node": "t1", "CheckID": "cache-up", "Name": "up",
                                            "Status": "passing", "ServiceID": "cache",
                                            "Definition": {"TCP": "10.9.9.9:6379", "Interval": 10_000_000_000}}}},
        {"KV": {"Verb": "lock", "Key": "leader", "Value": b64("t1"), "Session": sid}},
        {"KV": {"Verb": "check-session", "Key": "leader", "Session": sid}},
    ])
    assert status == 200, body
    kinds = [next(iter(r)) for r in body["Results"]]
    assert kinds == ["Node", "Service", "Check", "KV", "KV"]
    assert body["Results"][0]["Node"]["Datacenter"] == "dc1"  # defaulted, as Consul does
    assert body["Results"][2]["Check"]["Definition"] == {"TCP": "10.9.9.9:6379", "Interval": "10s"}
    [entry] = await local.json("GET", "/v1/health/service/cache")
    assert entry["Node"]["Meta"] == {"k": "v"} and entry["Checks"][0]["CheckID"] == "cache-up"

    node_index = body["Results"][0]["Node"]["ModifyIndex"]
    status, body, _ = await txn(local, [
        {"Node": {"Verb": "cas", "Node": {"Node": "t1", "Address": "10.9.9.10", "ModifyIndex": node_index + 1}}},
        {"Service": {"Verb": "get", "Node": "t1", "Service": {"ID": "nope"}}},
    ])
    assert status == 409 and [e["OpIndex"] for e in body["Errors"]] == [0, 1]
    status, body, _ = await txn(local, [{"Node": {"Verb": "get", "Node": {"Node": "t1"}}}])
    assert status == 200 and body["Results"][0]["Node"]["Address"] == "10.9.9.9"


async def test_limits_and_bad_bodies(local: Local) -> None:
    limits = local.ctx.config.limits
    too_many = [{"KV": {"Verb": "get-or-empty", "Key": f"k{i}"}} for i in range(129)]
    status, text, _ = await txn(local, too_many)
    assert (status, text) == (413, "Transaction contains too many operations (129 > 128)")
    assert (await txn(local, too_many[:128]))[0] == 200
    big = b64("x" * (limits.kv_max_value_size + 1))
    status, text, _ = await txn(local, [{"KV": {"Verb": "set", "Key": "big", "Value": big}}])
    assert status == 413  # the body is too large before any value is looked at
    body_len = len(json.dumps([{"KV": {"Verb": "set", "Key": "big", "Value": big}}]))
    assert text == (f"Request body({body_len} bytes) too large, max size: "  # Consul's txn_endpoint.go text
                    f"{max(limits.txn_max_req_len, limits.kv_max_value_size)} bytes. "
                    "See https://www.consul.io/docs/agent/config/config-files#txn_max_req_len.")
    cases = [
        ("", "Failed to parse body: EOF"),
        ("{", "Failed to parse body: Input data was truncated"),
        ('{"KV": {}}', "Failed to parse body: expected an array, got object at $"),
        ('[{"KV": {"Verb": "set", "Key": "a", "Value": "***"}}]', None),
        ('[{"KV": {"Verb": "set", "Key": "a", "Flags": -1}}]',
         "Failed to parse body: $[0].KV.Flags must be an unsigned integer"),
        ('[{"KV": {"Verb": 1, "Key": "a"}}]', "Failed to parse body: $[0].KV.Verb must be a string"),
        ('[{"Service": {"Verb": "set", "Node": "n1", "Service": {"Service": "s", "Port": "x"}}}]',
         "Failed to parse body: Expected `int`, got `str` - at `$[0].Service.Service.Port`"),
    ]
    for body, text in cases:
        status, got, _ = await txn(local, body)
        assert status == 400, body
        if text is None:
            assert got.startswith("Failed to parse body: failed to decode value: illegal base64 data")
        else:
            assert got == text, body
    status, body, _ = await txn(local, [{"KV": {"Verb": "explode", "Key": "a"}}])
    assert status == 409 and body["Errors"] == [{"OpIndex": 0, "What": 'unknown KV verb "explode"'}]
    assert (await local.call("GET", "/v1/kv/a")).status == 404
    resp = await local.call("PUT", "/v1/txn?dc=mars", json.dumps([{"KV": {"Verb": "set", "Key": "a"}}]))
    assert (resp.status, resp.body) == (500, b"No path to datacenter")


async def test_value_limit_per_op(local: Local) -> None:
    from msgspec.structs import replace

    cfg = local.ctx.config
    local.ctx.config = replace(cfg, limits=replace(cfg.limits, kv_max_value_size=8, txn_max_req_len=4096))
    status, text, _ = await txn(local, [{"KV": {"Verb": "set", "Key": "big", "Value": b64("123456789")}}])
    assert (status, text) == (413, 'Value for key "big" is too large (9 > 8 bytes)')
