"""Snapshot and restore of the whole state store as msgpack bytes.

What lives here: `StoreSnapshot`, the versioned on-disk/over-the-wire shape of a snapshot, plus `dump`
and `load`. A snapshot holds every primary table (KV entries, tombstones, lock-delays, nodes, services,
checks, sessions with their TTL clocks, ACL tokens and policies) and the indexes (last applied index,
per-table and per-service indexes). Secondary indexes are not stored; `load` rebuilds them.

Rows are written in sorted order so that two replicas with equal state produce equal bytes.

What must never live here: IO. The Raft layer decides where the bytes go.
"""

from __future__ import annotations

import msgspec

from .acl_models import ACLPolicy, ACLToken
from .models import HealthCheck, KVEntry, Node, NodeService, Session
from .watch import fold

SNAPSHOT_VERSION = 1


class StoreSnapshot(msgspec.Struct, frozen=True, kw_only=True, tag="state.snapshot", tag_field="t"):
    version: int = SNAPSHOT_VERSION
    last_index: int
    table_index: dict[str, int]
    service_index: dict[str, int]
    kv: list[KVEntry]
    tombstones: list[tuple[str, int]]
    lock_delays: list[tuple[str, int]]
    nodes: list[Node]
    services: list[tuple[str, NodeService]]  # (node name, instance)
    checks: list[HealthCheck]
    sessions: list[Session]
    session_timers: list[tuple[str, int, int]]  # (session id, ttl ns, last renew ns)
    acl_tokens: list[ACLToken] = []  # absent from snapshots written before the ACL tables existed
    acl_policies: list[ACLPolicy] = []


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StoreSnapshot)


def dump(store) -> bytes:
    """Serialize ``store`` (a `StateStore`)."""
    s = store
    acl_tokens, acl_policies = s.acl_rows()
    snap = StoreSnapshot(
        last_index=s.last_index,
        table_index=dict(sorted(s._index.items())),
        service_index=dict(sorted(s._service_index.items())),
        kv=[s._kv[k] for k in s._kv_keys],
        tombstones=[(k, s._tombs[k]) for k in s._tomb_keys],
        lock_delays=sorted(s._lock_delay.items()),
        nodes=[s._nodes[n] for n in sorted(s._nodes)],
        services=[(s._nodes[key[0]].node, s._services[key]) for key in sorted(s._services)],
        checks=[s._checks[key] for key in sorted(s._checks)],
        sessions=[s._sessions[k] for k in sorted(s._sessions)],
        session_timers=[(s._sessions[k].id, *s._session_timers[k]) for k in sorted(s._session_timers)],
        acl_tokens=acl_tokens,
        acl_policies=acl_policies,
    )
    return _encoder.encode(snap)


def load(data: bytes):
    """Build a new `StateStore` from `dump` bytes."""
    from .store import TABLES, StateStore, _session_check_ids

    snap = _decoder.decode(data)
    if snap.version != SNAPSHOT_VERSION:
        raise ValueError(f"unsupported state snapshot version {snap.version}")
    st = StateStore()
    st.last_index = snap.last_index
    st._index = {t: snap.table_index.get(t, 0) for t in TABLES}
    st._service_index = dict(snap.service_index)
    for entry in snap.kv:
        st._kv[entry.key] = entry
        if entry.session:
            st._session_keys.setdefault(fold(entry.session), {})[entry.key] = None
    st._kv_keys = sorted(st._kv)
    st._tombs = dict(snap.tombstones)
    st._tomb_keys = sorted(st._tombs)
    st._lock_delay = dict(snap.lock_delays)
    for node in snap.nodes:
        st._nodes[fold(node.node)] = node
    for node_name, svc in snap.services:
        node_f, sid_f = fold(node_name), fold(svc.id)
        st._services[(node_f, sid_f)] = svc
        st._node_services.setdefault(node_f, {})[sid_f] = None
        st._services_by_name.setdefault(fold(svc.service), {})[(node_f, sid_f)] = None
    for chk in snap.checks:
        node_f, cid_f = fold(chk.node), fold(chk.check_id)
        st._checks[(node_f, cid_f)] = chk
        st._node_checks.setdefault(node_f, {})[cid_f] = None
        if chk.service_id:
            st._service_checks.setdefault((node_f, fold(chk.service_id)), {})[cid_f] = None
    for sess in snap.sessions:
        sid_f, node_f = fold(sess.id), fold(sess.node)
        st._sessions[sid_f] = sess
        st._node_sessions.setdefault(node_f, {})[sid_f] = None
        for cid in _session_check_ids(sess):
            st._check_sessions.setdefault((node_f, fold(cid)), {})[sid_f] = None
    for sid, ttl_ns, last_ns in snap.session_timers:
        st._session_timers[fold(sid)] = (ttl_ns, last_ns)
    st.acl_load(snap.acl_tokens, snap.acl_policies)
    return st
