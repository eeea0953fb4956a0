"""Sessions: create rules, invalidation paths, lock-delay, TTL expiry helpers."""

from __future__ import annotations

import msgspec
import pytest

from actors.state import (
    CheckUpdate,
    HealthCheck,
    InvalidInput,
    KVSet,
    NodeDeregister,
    NodeRegister,
    NodeService,
    NotFound,
    ServiceCheck,
    SessionCreate,
    SessionDestroy,
    SessionRenew,
    TombstoneReap,
    expired_sessions,
)

SECOND = 1_000_000_000


def test_create_defaults_and_json(h):
    h.node()
    assert h.session("ABC-1") == "ABC-1"
    index, sess = h.store.session_get("abc-1")  # IDs are case-insensitive
    assert sess.node_checks == ["serfHealth"]
    assert sess.behavior == "release"
    assert sess.lock_delay == 15 * SECOND
    assert (sess.create_index, sess.modify_index) == (index, index)
    body = msgspec.json.decode(msgspec.json.encode(sess))
    assert body == {
        "ID": "ABC-1",
        "Name": "",
        "Node": "n1",
        "LockDelay": 15 * SECOND,
        "Behavior": "release",
        "TTL": "",
        "NodeChecks": ["serfHealth"],
        "ServiceChecks": None,
        "CreateIndex": index,
        "ModifyIndex": index,
    }


@pytest.mark.parametrize(
    "kwargs, kind, message",
    [
        (dict(id="s", node="ghost"), NotFound, "Missing node registration"),
        (dict(id="", node="n1"), InvalidInput, "Missing session ID"),
        (dict(id="s", node="n1", behavior="explode"), InvalidInput, "Invalid session behavior: explode"),
        (dict(id="s", node="n1", node_checks=["nope"]), NotFound, "Missing check 'nope' registration"),
        (dict(id="s", node="n1", node_checks=["bad"]), InvalidInput, "Check 'bad' is in critical state"),
        (dict(id="s", node="n1", ttl="ten"), InvalidInput, None),
        (dict(id="s", node="n1", lock_delay_ns=-1), InvalidInput, None),
    ],
)
def test_create_rejections(h, kwargs, kind, message):
    h.node()
    h.check("n1", "bad", "critical")
    applied = h.do(SessionCreate(**kwargs))
    assert isinstance(applied.error, kind)
    if message:
        assert applied.error.message == message
    assert h.store.session_list()[1] == []


def test_create_without_serf_check_fails_by_default(h):
    h.ok(NodeRegister(node="ext", address="1.1.1.1"))
    applied = h.do(SessionCreate(id="s", node="ext"))
    assert applied.error.message == "Missing check 'serfHealth' registration"
    assert h.ok(SessionCreate(id="s", node="ext", node_checks=[])) == "s"


def test_duplicate_id_rejected(h):
    h.node()
    h.session("s")
    assert isinstance(h.do(SessionCreate(id="S", node="n1")).error, InvalidInput)


def test_destroy_release_behavior(h):
    h.node()
    h.session("s1")
    h.ok(KVSet(key="a", value=b"v", acquire="s1"))
    h.ok(KVSet(key="b", acquire="s1"))
    assert h.ok(SessionDestroy(id="s1")) is True
    for key in ("a", "b"):
        _, e = h.store.kv_get(key)
        assert e.session is msgspec.UNSET and e.lock_index == 1
    assert h.store.kv_get("a")[1].value == b"v"
    assert h.store.session_get("s1")[1] is None
    assert h.ok(SessionDestroy(id="s1")) is True  # idempotent


def test_destroy_delete_behavior(h):
    h.node()
    h.session("s1", behavior="delete")
    h.ok(KVSet(key="a", acquire="s1"))
    h.ok(KVSet(key="keep"))
    h.ok(SessionDestroy(id="s1"))
    assert h.store.kv_get("a")[1] is None
    assert "a" in h.store.kv_tombstones()
    assert h.store.kv_get("keep")[1] is not None


def test_lock_delay_after_invalidation(h):
    h.node()
    h.session("s1", lock_delay_ns=10 * SECOND)
    h.session("s2")
    h.ok(KVSet(key="lock", acquire="s1"))
    t0 = h.now_ns
    h.ok(SessionDestroy(id="s1"), now_ns=t0)
    assert h.store.kv_lock_delay("lock") == t0 + 10 * SECOND
    assert h.ok(KVSet(key="lock", acquire="s2"), now_ns=t0 + 9 * SECOND) is False
    assert h.store.kv_get("lock")[1].session is msgspec.UNSET
    assert h.ok(KVSet(key="lock", acquire="s2"), now_ns=t0 + 10 * SECOND) is True
    assert h.store.kv_get("lock")[1].lock_index == 2


def test_lock_delay_zero_disables(h):
    h.node()
    h.session("s1", lock_delay_ns=0)
    h.session("s2")
    h.ok(KVSet(key="lock", acquire="s1"))
    h.ok(SessionDestroy(id="s1"))
    assert h.store.kv_lock_delay("lock") == 0
    assert h.ok(KVSet(key="lock", acquire="s2")) is True


def test_lock_delay_capped_at_60s(h):
    h.node()
    h.session("s1", lock_delay_ns=3600 * SECOND)
    h.ok(KVSet(key="lock", acquire="s1"))
    h.ok(SessionDestroy(id="s1"), now_ns=0)
    assert h.store.kv_lock_delay("lock") == 60 * SECOND


def test_lock_delay_also_after_delete_behavior(h):
    h.node()
    h.session("s1", behavior="delete")
    h.session("s2")
    h.ok(KVSet(key="lock", acquire="s1"))
    h.ok(SessionDestroy(id="s1"))
    assert h.ok(KVSet(key="lock", acquire="s2")) is False


def test_expired_lock_delays_pruned_by_reap(h):
    h.node()
    h.session("s1")
    h.ok(KVSet(key="lock", acquire="s1"))
    h.ok(SessionDestroy(id="s1"), now_ns=0)
    h.ok(TombstoneReap(up_to_index=0), now_ns=14 * SECOND)
    assert h.store.kv_lock_delay("lock") == 15 * SECOND
    h.ok(TombstoneReap(up_to_index=0), now_ns=15 * SECOND)
    assert h.store.kv_lock_delay("lock") == 0


def test_invalidated_when_node_check_goes_critical_via_check_update(h):
    h.node()
    h.session("s1")
    h.ok(KVSet(key="lock", acquire="s1"))
    h.ok(CheckUpdate(node="n1", check_id="serfHealth", status="warning"))
    assert h.store.session_get("s1")[1] is not None  # warning does not invalidate
    h.ok(CheckUpdate(node="n1", check_id="serfHealth", status="critical"))
    assert h.store.session_get("s1")[1] is None
    assert h.store.kv_get("lock")[1].session is msgspec.UNSET


def test_invalidated_when_register_turns_check_critical(h):
    h.node()
    h.session("s1")
    h.node(status="critical")  # re-register the node with a critical serfHealth
    assert h.store.session_get("s1")[1] is None


def test_session_on_other_check_is_not_affected(h):
    h.node()
    h.check("n1", "disk", "passing")
    h.session("s1", node_checks=["disk"])
    h.ok(CheckUpdate(node="n1", check_id="serfHealth", status="critical"))
    assert h.store.session_get("s1")[1] is not None
    h.ok(CheckUpdate(node="n1", check_id="disk", status="critical"))
    assert h.store.session_get("s1")[1] is None


def test_service_check_session(h):
    h.node()
    h.service("n1", "web")
    h.check("n1", "web-alive", "passing", service_id="web")
    h.session("s1", node_checks=[], service_checks=[ServiceCheck(id="web-alive")])
    _, sess = h.store.session_get("s1")
    body = msgspec.json.decode(msgspec.json.encode(sess))
    assert body["ServiceChecks"] == [{"ID": "web-alive", "Namespace": ""}]
    # Deregistering the service removes its checks, which invalidates the session.
    h.ok(NodeDeregister(node="n1", service_id="web"))
    assert h.store.session_get("s1")[1] is None


def test_invalidated_when_check_deregistered(h):
    h.node()
    h.session("s1")
    h.ok(NodeDeregister(node="n1", check_id="serfHealth"))
    assert h.store.session_get("s1")[1] is None


def test_invalidated_when_node_deregistered(h):
    h.node()
    h.node("n2", "10.0.0.2")
    h.session("s1", node_checks=[])
    h.session("s2", node="n2")
    h.ok(KVSet(key="lock", acquire="s1"))
    h.ok(NodeDeregister(node="n1"))
    assert h.store.session_get("s1")[1] is None
    assert h.store.session_get("s2")[1] is not None
    assert h.store.kv_get("lock")[1].session is msgspec.UNSET
    assert h.store.kv_lock_delay("lock") > 0


def test_session_reads(h):
    h.node()
    h.node("n2", "10.0.0.2")
    h.session("b", node="n1")
    h.session("a", node="n1")
    h.session("c", node="n2")
    assert [s.id for s in h.store.session_list()[1]] == ["a", "b", "c"]
    assert [s.id for s in h.store.node_sessions("N1")[1]] == ["a", "b"]
    index, _ = h.store.session_list()
    assert index == h.index


def test_renew(h):
    h.node()
    h.session("s1", ttl="10s")
    renewed = h.ok(SessionRenew(id="s1"), now_ns=h.now_ns + 5 * SECOND)
    assert renewed.id == "s1"
    assert h.store.session_timers() == [("s1", 10 * SECOND, h.now_ns + 5 * SECOND)]
    assert h.ok(SessionRenew(id="ghost")) is None


def test_renew_touches_nothing(h):
    h.node()
    h.session("s1", ttl="10s")
    assert h.do(SessionRenew(id="s1")).touched == frozenset()


def test_ttl_expiry_uses_twice_the_ttl(h):
    h.node()
    t0 = h.now_ns
    h.ok(SessionCreate(id="s1", node="n1", ttl="10s"), now_ns=t0)
    h.ok(SessionCreate(id="s2", node="n1", ttl="30s"), now_ns=t0)
    h.session("forever")
    assert h.store.next_session_expiry() == t0 + 20 * SECOND
    assert h.store.expired_sessions(t0 + 19 * SECOND) == []
    assert h.store.expired_sessions(t0 + 20 * SECOND) == ["s1"]
    h.ok(SessionRenew(id="s1"), now_ns=t0 + 15 * SECOND)
    assert h.store.expired_sessions(t0 + 20 * SECOND) == []
    assert h.store.expired_sessions(t0 + 60 * SECOND) == ["s1", "s2"]
    h.ok(SessionDestroy(id="s1"))
    assert h.store.next_session_expiry() == t0 + 60 * SECOND


def test_expired_sessions_pure_helper():
    timers = [("b", 10, 0), ("a", 10, 5), ("none", 0, 0)]
    assert expired_sessions(timers, 19) == []
    assert expired_sessions(timers, 20) == ["b"]
    assert expired_sessions(timers, 10**9) == ["a", "b"]


def test_session_node_with_check_registration_atomic(h):
    # A register that fails half-way leaves the session alone.
    h.node()
    h.session("s1")
    bad = NodeRegister(
        node="n1",
        address="10.0.0.1",
        checks=[
            HealthCheck(check_id="serfHealth", status="critical"),
            HealthCheck(check_id="x", status="bogus"),
        ],
    )
    applied = h.do(bad)
    assert isinstance(applied.error, InvalidInput)
    assert h.store.session_get("s1")[1] is not None
    assert h.store.node_check("n1", "serfHealth").status == "passing"


def test_acquire_by_destroyed_session_errors(h):
    h.node()
    h.session("s1")
    h.ok(SessionDestroy(id="s1"))
    assert isinstance(h.do(KVSet(key="k", acquire="s1")).error, NotFound)


def test_node_checks_given_as_service_and_node(h):
    h.node()
    h.service("n1", "db")
    h.check("n1", "db-check", "passing", service_id="db")
    h.session("s1", node_checks=["serfHealth"], service_checks=[ServiceCheck(id="db-check")])
    retagged = NodeService(service="db", tags=["x"])
    h.ok(NodeRegister(node="n1", address="", skip_node_update=True, service=retagged))
    assert h.store.session_get("s1")[1] is not None  # a tag change is not a critical check
    h.check("n1", "db-check", "critical", service_id="db")
    assert h.store.session_get("s1")[1] is None
