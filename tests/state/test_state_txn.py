"""Transactions: every verb, atomicity, error reporting and result shape."""

from __future__ import annotations

import msgspec
import pytest

from actors.state import (
    HealthCheck,
    InvalidInput,
    KVSet,
    MAX_VALUE_SIZE,
    Node,
    NodeService,
    SessionDestroy,
    Txn,
    TxnCheckOp,
    TxnKVOp,
    TxnNodeOp,
    TxnServiceOp,
    is_read_only,
)


def kv(verb, key="", **kw):
    return TxnKVOp(verb=verb, key=key, **kw)


def run(h, *ops):
    return h.ok(Txn(ops=list(ops)))


def js(obj):
    return msgspec.json.decode(msgspec.json.encode(obj))


def test_set_get_and_result_shape(h):
    resp = run(h, kv("set", "a", value=b"1", flags=3), kv("get", "a"))
    assert resp.ok
    body = js(resp)
    assert body["Errors"] is None
    assert body["Results"] == [
        {"KV": {"LockIndex": 0, "Key": "a", "Flags": 3, "Value": None, "CreateIndex": 1, "ModifyIndex": 1}},
        {"KV": {"LockIndex": 0, "Key": "a", "Flags": 3, "Value": "MQ==", "CreateIndex": 1, "ModifyIndex": 1}},
    ]


def test_rollback_is_atomic_and_reports_every_error(h):
    h.ok(KVSet(key="exists", value=b"x"))
    before = h.store.kv_list("")
    applied = h.do(
        Txn(
            ops=[
                kv("set", "new", value=b"1"),
                kv("get", "missing"),
                kv("delete", "exists"),
                kv("cas", "exists", value=b"2", index=999),
            ]
        )
    )
    assert applied.ok  # a rolled-back transaction is a result, not a store error
    resp = applied.value
    assert resp.results is None
    assert js(resp)["Errors"] == [
        {"OpIndex": 1, "What": 'key "missing" doesn\'t exist'},
        {"OpIndex": 3, "What": 'failed to set key "exists", index is stale'},
    ]
    assert applied.touched == frozenset()
    assert h.store.kv_list("") == before
    assert h.store.kv_get("new")[1] is None


def test_cas_verbs(h):
    resp = run(h, kv("cas", "k", value=b"1", index=0))
    assert resp.results[0].kv.modify_index == 1
    resp = h.ok(Txn(ops=[kv("cas", "k", value=b"2", index=0)]))
    assert resp.errors[0].what == 'failed to set key "k", index is stale'
    assert run(h, kv("cas", "k", value=b"2", index=1)).ok
    assert h.store.kv_get("k")[1].value == b"2"


def test_get_or_empty_get_tree(h):
    run(h, kv("set", "t/a", value=b"a"), kv("set", "t/b", value=b"b"), kv("set", "u", value=b"u"))
    resp = run(h, kv("get-or-empty", "nope"), kv("get-tree", "t/"))
    assert resp.results[0].kv.key == "nope" and resp.results[0].kv.value is None
    assert [(r.kv.key, r.kv.value) for r in resp.results[1:]] == [("t/a", b"a"), ("t/b", b"b")]


def test_check_verbs(h):
    run(h, kv("set", "k", value=b"v"))
    assert run(h, kv("check-index", "k", index=1), kv("check-not-exists", "other")).ok
    ops = [kv("check-index", "k", index=5), kv("check-not-exists", "k"), kv("check-index", "zz", index=1)]
    resp = h.ok(Txn(ops=ops))
    assert [e.what for e in resp.errors] == [
        'failed index check for key "k", current modify index 1 != 5',
        'key "k" exists',
        'failed to check index, key "zz" doesn\'t exist',
    ]


def test_lock_unlock_check_session(h):
    h.node()
    h.session("s1")
    h.session("s2")
    resp = run(h, kv("lock", "l", value=b"x", session="s1"), kv("check-session", "l", session="s1"))
    assert resp.results[0].kv.session == "s1" and resp.results[0].kv.lock_index == 1
    resp = h.ok(
        Txn(
            ops=[
                kv("lock", "l", session="s2"),
                kv("unlock", "l", session="s2"),
                kv("check-session", "l", session="s2"),
                kv("lock", "l"),
                kv("lock", "l", session="ghost"),
            ]
        )
    )
    assert [e.what for e in resp.errors] == [
        'failed to lock key "l", lock is already held',
        'failed to unlock key "l", lock isn\'t held, or is held by another session',
        'failed session check for key "l", current session "s1" != "s2"',
        "missing session",
        'invalid session "ghost"',
    ]
    assert run(h, kv("unlock", "l", session="s1")).results[0].kv.session is msgspec.UNSET


def test_lock_delay_in_txn(h):
    h.node()
    h.session("s1")
    h.session("s2")
    run(h, kv("lock", "l", session="s1"))
    h.ok(SessionDestroy(id="s1"))
    resp = h.ok(Txn(ops=[kv("lock", "l", session="s2")]))
    assert resp.errors[0].what == 'failed to lock key "l" due to lock delay'
    resp = h.ok(Txn(ops=[kv("lock", "l", session="s2")]), now_ns=h.now_ns + 15 * 1_000_000_000)
    assert resp.ok and resp.results[0].kv.lock_index == 2


def test_delete_verbs(h):
    run(h, kv("set", "a"), kv("set", "d/1"), kv("set", "d/2"), kv("set", "c"))
    resp = run(h, kv("delete", "a"), kv("delete-tree", "d/"), kv("delete-cas", "c", index=1))
    assert resp.results == []
    assert h.store.kv_list("")[1] == []
    run(h, kv("set", "c"))
    resp = h.ok(Txn(ops=[kv("delete-cas", "c", index=1)]))
    assert resp.errors[0].what == 'failed to delete key "c", index is stale'


def test_unknown_verb(h):
    resp = h.ok(Txn(ops=[kv("explode", "k")]))
    assert resp.errors[0].what == 'unknown KV verb "explode"'


def test_txn_value_too_large_is_op_error(h):
    resp = h.ok(Txn(ops=[kv("set", "k", value=b"x" * (MAX_VALUE_SIZE + 1))]))  # the protocol ceiling; the configured kv_max_value_size is the API edge's
    assert resp.errors[0].op_index == 0 and "too large" in resp.errors[0].what


def test_node_verbs(h):
    resp = run(h, TxnNodeOp(verb="set", node=Node(node="n1", address="10.0.0.1")))
    assert resp.results[0].node.modify_index == 1
    assert list(js(resp)["Results"][0]) == ["Node"]
    resp = h.ok(
        Txn(
            ops=[
                TxnNodeOp(verb="cas", node=Node(node="n1", address="10.0.0.2", modify_index=7)),
                TxnNodeOp(verb="get", node=Node(node="n2")),
                TxnNodeOp(verb="delete-cas", node=Node(node="n1", modify_index=7)),
            ]
        )
    )
    assert [e.what for e in resp.errors] == [
        'failed to set node "n1", index is stale',
        'node "n2" doesn\'t exist',
        'failed to delete node "n1", index is stale',
    ]
    resp = run(
        h,
        TxnNodeOp(verb="cas", node=Node(node="n1", address="10.0.0.2", modify_index=1)),
        TxnNodeOp(verb="get", node=Node(node="n1")),
    )
    assert resp.results[1].node.address == "10.0.0.2"
    assert run(h, TxnNodeOp(verb="delete-cas", node=Node(node="n1", modify_index=3))).ok
    assert h.store.nodes()[1] == []


def test_service_verbs(h):
    h.node()
    resp = run(h, TxnServiceOp(verb="set", node="n1", service=NodeService(id="w", service="web")))
    assert resp.results[0].service.id == "w"
    idx = resp.results[0].service.modify_index
    resp = h.ok(
        Txn(
            ops=[
                TxnServiceOp(
                    verb="cas", node="n1", service=NodeService(id="w", service="web", modify_index=idx + 5)
                ),
                TxnServiceOp(verb="get", node="n1", service=NodeService(id="zz")),
                TxnServiceOp(verb="set", node="ghost", service=NodeService(id="w", service="web")),
            ]
        )
    )
    assert [e.what for e in resp.errors] == [
        'failed to set service "w" on node "n1", index is stale',
        'service "zz" on node "n1" doesn\'t exist',
        "Missing node registration",
    ]
    resp = run(
        h,
        TxnServiceOp(
            verb="cas", node="n1", service=NodeService(id="w", service="web", tags=["x"], modify_index=idx)
        ),
        TxnServiceOp(verb="get", node="n1", service=NodeService(id="w")),
    )
    assert resp.results[1].service.tags == ["x"]
    assert run(h, TxnServiceOp(verb="delete", node="n1", service=NodeService(id="w"))).ok
    assert h.store.service_nodes("web")[1] == []


def test_check_verbs(h):
    h.node()
    resp = run(h, TxnCheckOp(verb="set", check=HealthCheck(node="n1", check_id="c", status="passing")))
    c_idx = resp.results[0].check.modify_index
    resp = h.ok(
        Txn(
            ops=[
                TxnCheckOp(
                    verb="cas", check=HealthCheck(node="n1", check_id="c", status="warning", modify_index=0)
                ),
                TxnCheckOp(verb="get", check=HealthCheck(node="n1", check_id="zz")),
                TxnCheckOp(
                    verb="delete-cas", check=HealthCheck(node="n1", check_id="c", modify_index=c_idx + 1)
                ),
            ]
        )
    )
    assert [e.what for e in resp.errors] == [
        'failed to set check "c" on node "n1", index is stale',
        'check "zz" on node "n1" doesn\'t exist',
        'failed to delete check "c" on node "n1", index is stale',
    ]
    warn = HealthCheck(node="n1", check_id="c", status="warning", modify_index=c_idx)
    resp = run(h, TxnCheckOp(verb="cas", check=warn))
    assert resp.results[0].check.status == "warning"
    assert run(h, TxnCheckOp(verb="delete", check=HealthCheck(node="n1", check_id="c"))).ok
    assert h.store.node_check("n1", "c") is None


def test_mixed_txn_rolls_back_catalog_too(h):
    resp = h.ok(
        Txn(
            ops=[
                TxnNodeOp(verb="set", node=Node(node="n1", address="10.0.0.1")),
                TxnServiceOp(verb="set", node="n1", service=NodeService(id="w", service="web")),
                kv("get", "nope"),
            ]
        )
    )
    assert resp.errors and h.store.nodes()[1] == [] and h.store.services()[1] == {}


def test_later_ops_see_earlier_writes(h):
    resp = run(h, kv("set", "k", value=b"1"), kv("check-index", "k", index=1), kv("get", "k"))
    assert resp.results[-1].kv.value == b"1"


def test_read_only_txn(h):
    run(h, kv("set", "k", value=b"1"))
    ops = [kv("get", "k"), kv("get-tree", ""), TxnNodeOp(verb="get", node=Node(node="n1"))]
    assert is_read_only(ops)
    resp = h.store.read_txn(ops)
    assert resp.errors[0].op_index == 2  # node missing; nothing else happened
    assert h.store.read_txn(ops[:2]).results[0].kv.value == b"1"
    assert not is_read_only([kv("set", "k")])
    with pytest.raises(InvalidInput):
        h.store.read_txn([kv("set", "k")])
    assert h.store.last_index == 1
