"""Snapshot/restore round trips, determinism across replicas, and the command codec."""

from __future__ import annotations

import random

import msgspec
import pytest

from actors.state import (
    COMMAND_TYPES,
    CheckUpdate,
    HealthCheck,
    KVDelete,
    KVSet,
    Node,
    NodeDeregister,
    NodeRegister,
    NodeService,
    NotFound,
    ServiceCheck,
    SessionCreate,
    SessionDestroy,
    SessionRenew,
    StateStore,
    StoreError,
    TombstoneReap,
    Txn,
    TxnCheckOp,
    TxnKVOp,
    TxnNodeOp,
    TxnServiceOp,
    decode_command,
    encode_command,
)
from actors.state.acl_commands import (
    ACLBootstrap,
    ACLInitBuiltins,
    ACLPolicyDelete,
    ACLPolicySet,
    ACLTokenDelete,
    ACLTokenReap,
    ACLTokenSet,
)
from actors.state.acl_models import ACLPolicy
from actors.state.durations import format_duration_ns, parse_duration_ns

SECOND = 1_000_000_000
SERF_STATUSES = ["passing", "passing", "critical"]


def populate(h):
    h.node()
    h.node("n2", "10.0.0.2")
    h.service("n1", "web", tags=["a"], port=80)
    h.check("n1", "web-ok", "passing", service_id="web")
    h.session("s-release", ttl="10s")
    h.session("s-delete", behavior="delete", node="n2")
    h.ok(KVSet(key="locks/a", value=b"A", acquire="s-release"))
    h.ok(KVSet(key="locks/b", value=b"B", acquire="s-delete"))
    h.ok(KVSet(key="cfg/x", value=b"1", flags=9))
    h.ok(KVSet(key="cfg/y", value=b"2"))
    h.ok(KVDelete(key="cfg/y"))
    h.session("s-dead", node="n2")
    h.ok(KVSet(key="locks/c", acquire="s-dead"))
    h.ok(SessionDestroy(id="s-dead"))  # leaves a lock-delay on locks/c


def all_reads(store):
    return [
        store.kv_list(""),
        store.kv_keys("", "/"),
        store.kv_list("cfg/"),
        store.kv_get("cfg/y"),
        store.kv_tombstones(),
        store.kv_lock_delay("locks/c"),
        store.nodes(),
        store.services(),
        store.service_nodes("web"),
        store.service_health("web"),
        store.node_services("n1"),
        store.checks_in_state("any"),
        store.session_list(),
        store.session_timers(),
        store.next_session_expiry(),
        [store.table_index(t) for t in ("kvs", "nodes", "services", "checks", "sessions")],
        store.last_index,
    ]


def test_round_trip_preserves_everything(h):
    populate(h)
    data = h.store.snapshot()
    restored = StateStore.restore(data)
    assert all_reads(restored) == all_reads(h.store)
    assert restored.snapshot() == data
    assert restored.kv_lock_delay("locks/c") > 0
    assert "cfg/y" in restored.kv_tombstones()


def test_restored_store_continues_identically(h):
    populate(h)
    restored = StateStore.restore(h.store.snapshot())
    follow_up = [
        CheckUpdate(node="n1", check_id="serfHealth", status="critical", now_ns=5),
        NodeDeregister(node="n2", now_ns=6),
        KVSet(key="locks/c", acquire="s-release", now_ns=7),
        TombstoneReap(up_to_index=h.index, now_ns=8),
    ]
    for i, cmd in enumerate(follow_up, start=h.index + 1):
        a = h.store.apply(i, cmd)
        b = restored.apply(i, cmd)
        assert (a.value, a.error, a.touched) == (b.value, b.error, b.touched)
    assert restored.snapshot() == h.store.snapshot()


def test_empty_store_round_trip():
    store = StateStore()
    assert StateStore.restore(store.snapshot()).snapshot() == store.snapshot()


def test_bad_snapshot_bytes():
    with pytest.raises(msgspec.DecodeError):
        StateStore.restore(b"\x00garbage")


def random_commands(rng: random.Random, n: int):
    nodes = ["n1", "n2", "n3"]
    keys = ["a", "a/b", "a/c", "b", "b/x/y"]
    sessions: list[str] = []
    out = []
    for i in range(n):
        roll = rng.random()
        node = rng.choice(nodes)
        if roll < 0.25:
            cas = rng.choice([None, 0, rng.randrange(n)])
            out.append(KVSet(key=rng.choice(keys), value=bytes([rng.randrange(3)]), cas=cas))
        elif roll < 0.35:
            out.append(KVDelete(key=rng.choice(keys + ["a/", ""]), recurse=rng.random() < 0.5))
        elif roll < 0.45:
            sid = f"s{i}"
            sessions.append(sid)
            behavior = rng.choice(["release", "delete"])
            out.append(SessionCreate(id=sid, node=node, behavior=behavior, ttl=rng.choice(["", "10s"])))
        elif roll < 0.55 and sessions:
            out.append(KVSet(key=rng.choice(keys), acquire=rng.choice(sessions), now_ns=i * SECOND))
        elif roll < 0.6 and sessions:
            out.append(SessionDestroy(id=rng.choice(sessions), now_ns=i * SECOND))
        elif roll < 0.75:
            out.append(
                NodeRegister(
                    node=node,
                    address=f"10.0.0.{rng.randrange(3)}",
                    service=NodeService(service=rng.choice(["web", "db"]), tags=[rng.choice(["x", "y"])]),
                    checks=[HealthCheck(check_id="serfHealth", status=rng.choice(SERF_STATUSES))],
                    now_ns=i * SECOND,
                )
            )
        elif roll < 0.85:
            status = rng.choice(["passing", "warning", "critical"])
            out.append(CheckUpdate(node=node, check_id="serfHealth", status=status, now_ns=i * SECOND))
        elif roll < 0.9:
            out.append(NodeDeregister(node=node, now_ns=i * SECOND))
        elif roll < 0.95:
            probe = TxnKVOp(verb=rng.choice(["get", "check-not-exists"]), key=rng.choice(keys))
            out.append(Txn(ops=[TxnKVOp(verb="set", key=rng.choice(keys)), probe]))
        else:
            out.append(TombstoneReap(up_to_index=rng.randrange(i + 1), now_ns=i * SECOND))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_replicas_agree_and_snapshots_restore_mid_log(seed):
    """Two replicas fed the same log end equal; a third restored from a mid-log snapshot catches up."""
    cmds = random_commands(random.Random(seed), 300)
    a, b = StateStore(), StateStore()
    c = None
    for i, cmd in enumerate(cmds, start=1):
        data = encode_command(cmd)
        ra = a.apply(i, cmd)
        rb = b.apply_encoded(i, data)
        assert (ra.value, ra.error, ra.touched) == (rb.value, rb.error, rb.touched)
        if i == 150:
            c = StateStore.restore(a.snapshot())
        elif c is not None:
            c.apply(i, cmd)
    assert a.snapshot() == b.snapshot() == c.snapshot()


# --- codec ---------------------------------------------------------------------------------------

SAMPLES = [
    KVSet(key="k", value=b"v", flags=1, cas=0, now_ns=3),
    KVDelete(key="k", recurse=True, cas=4),
    TombstoneReap(up_to_index=9),
    Txn(
        ops=[
            TxnKVOp(verb="set", key="k", value=b"1"),
            TxnNodeOp(verb="set", node=Node(node="n", address="a")),
            TxnServiceOp(verb="set", node="n", service=NodeService(service="web")),
            TxnCheckOp(verb="set", check=HealthCheck(node="n", check_id="c")),
        ]
    ),
    SessionCreate(id="s", node="n", lock_delay_ns=0, node_checks=[], service_checks=[ServiceCheck(id="c")]),
    SessionDestroy(id="s"),
    SessionRenew(id="s"),
    NodeRegister(
        node="n", address="a", service=NodeService(service="web", port=1), checks=[HealthCheck(check_id="c")]
    ),
    NodeDeregister(node="n", service_id="web"),
    CheckUpdate(node="n", check_id="c", status="passing", output="ok"),
    ACLBootstrap(accessor_id="a", secret_id="s", reset_index=3),
    ACLInitBuiltins(initial_management_accessor="a", initial_management_secret="s"),
    ACLTokenSet(accessor_id="a", secret_id="s", policies=["p"], expiration_ttl_ns=5, create=False),
    ACLTokenDelete(accessor_id="a"),
    ACLTokenReap(accessor_ids=["a", "b"]),
    ACLPolicySet(policy=ACLPolicy(id="p", name="n", rules='key "" { policy = "read" }'), create=False),
    ACLPolicyDelete(id="p"),
]


def test_every_command_round_trips():
    assert {type(c) for c in SAMPLES} == set(COMMAND_TYPES)
    for cmd in SAMPLES:
        assert decode_command(encode_command(cmd)) == cmd


def test_tags_are_stable_and_unique():
    tags = [t.__struct_config__.tag for t in COMMAND_TYPES]
    assert len(set(tags)) == len(tags)
    assert all(tag.startswith("state.") for tag in tags)
    assert KVSet.__struct_config__.tag == "state.kv_set"
    assert msgspec.msgpack.decode(encode_command(SessionDestroy(id="x")))["t"] == "state.session_destroy"


def test_unknown_tag_rejected():
    with pytest.raises(msgspec.ValidationError):
        decode_command(msgspec.msgpack.encode({"t": "state.nope"}))


def test_error_boxing_round_trip():
    err = NotFound("Missing node registration")
    boxed = err.to_message("s1", "dc1")
    assert boxed.kind == "state.not_found"
    assert StoreError.from_message(boxed) == err


@pytest.mark.parametrize(
    "text, ns",
    [
        ("10s", 10 * SECOND),
        ("1m30s", 90 * SECOND),
        ("1.5h", 5400 * SECOND),
        ("250ms", 250_000_000),
        ("0", 0),
        ("-2s", -2 * SECOND),
        ("1us", 1000),
    ],
)
def test_parse_duration(text, ns):
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("text", ["", "10", "s", "1x", "1s2"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration_ns(text)


def test_format_duration():
    samples = (0, 15 * SECOND, 90 * SECOND, 250_000_000)
    assert [format_duration_ns(n) for n in samples] == ["0s", "15s", "1m30s", "250ms"]
