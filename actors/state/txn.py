"""Transaction verbs (``PUT /v1/txn``) on top of the store's primitives.

What lives here: `run_txn`, which runs every op in order against the live store, and the per-kind verb
tables. Like Consul, a failing op does not stop the run: later ops still execute (seeing earlier ops'
writes) so that every failing op is reported with its ``OpIndex``. The caller (`StateStore.apply`) rolls
everything back if any op failed; a successful run's results follow Consul's shape: ``KV`` results carry
``Value`` only for ``get``/``get-or-empty``/``get-tree``, deletes and ``check-not-exists`` add no result.

What must never live here: journalling or rollback (the store does that), or the op-count limit (API).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from msgspec import UNSET
from msgspec.structs import replace

from .commands import TxnCheckOp, TxnKVOp, TxnNodeOp, TxnServiceOp
from .errors import StoreError
from .errors import quote as _q
from .models import KVEntry, TxnError, TxnResponse, TxnResult
from .watch import fold

if TYPE_CHECKING:
    from .store import StateStore

READ_VERBS = {
    TxnKVOp: frozenset(
        {"get", "get-or-empty", "get-tree", "check-index", "check-session", "check-not-exists"}
    ),
    TxnNodeOp: frozenset({"get"}),
    TxnServiceOp: frozenset({"get"}),
    TxnCheckOp: frozenset({"get"}),
}


class _OpFailed(Exception):
    """One op failed with Consul's ``What`` text."""


def is_read_only(ops: Sequence[Any]) -> bool:
    """True when every op only reads, so the API may serve it without Raft."""
    return all(op.verb in READ_VERBS.get(type(op), ()) for op in ops)


def _bare(entry: KVEntry) -> TxnResult:
    return TxnResult(kv=replace(entry, value=None))


def _kv(store: "StateStore", index: int, op: TxnKVOp, now_ns: int) -> list[TxnResult]:
    verb, key = op.verb, op.key
    value = op.value or None
    if verb == "set":
        return [_bare(store._kv_set(index, key, value, op.flags))]
    if verb == "cas":
        entry = store._kv_cas(index, key, value, op.flags, op.index)
        if entry is None:
            raise _OpFailed(f"failed to set key {_q(key)}, index is stale")
        return [_bare(entry)]
    if verb == "lock":
        store._live_session(op.session)
        if store.kv_lock_delayed(key, now_ns):
            raise _OpFailed(f"failed to lock key {_q(key)} due to lock delay")
        entry = store._kv_lock(index, key, value, op.flags, op.session)
        if entry is None:
            raise _OpFailed(f"failed to lock key {_q(key)}, lock is already held")
        return [_bare(entry)]
    if verb == "unlock":
        entry = store._kv_unlock(index, key, value, op.flags, op.session)
        if entry is None:
            raise _OpFailed(f"failed to unlock key {_q(key)}, lock isn't held, or is held by another session")
        return [_bare(entry)]
    if verb == "get":
        _, entry = store.kv_get(key)
        if entry is None:
            raise _OpFailed(f"key {_q(key)} doesn't exist")
        return [TxnResult(kv=entry)]
    if verb == "get-or-empty":
        _, entry = store.kv_get(key)
        if entry is None:
            entry = KVEntry(key=key, flags=op.flags, session=op.session or UNSET, modify_index=op.index)
        return [TxnResult(kv=entry)]
    if verb == "get-tree":
        _, entries = store.kv_list(key)
        return [TxnResult(kv=e) for e in entries]
    if verb == "check-index":
        _, entry = store.kv_get(key)
        if entry is None:
            raise _OpFailed(f"failed to check index, key {_q(key)} doesn't exist")
        if entry.modify_index != op.index:
            raise _OpFailed(
                f"failed index check for key {_q(key)}, "
                f"current modify index {entry.modify_index} != {op.index}"
            )
        return [_bare(entry)]
    if verb == "check-session":
        _, entry = store.kv_get(key)
        if entry is None:
            raise _OpFailed(f"failed to check session, key {_q(key)} doesn't exist")
        current = entry.session or ""
        if fold(current) != fold(op.session):
            raise _OpFailed(
                f"failed session check for key {_q(key)}, current session {_q(current)} != {_q(op.session)}"
            )
        return [_bare(entry)]
    if verb == "check-not-exists":
        _, entry = store.kv_get(key)
        if entry is not None:
            raise _OpFailed(f"key {_q(key)} exists")
        return []
    if verb == "delete":
        store._kv_delete(index, key)
        return []
    if verb == "delete-tree":
        store._kv_delete_tree(index, key)
        return []
    if verb == "delete-cas":
        if not store._kv_delete_cas(index, key, op.index):
            raise _OpFailed(f"failed to delete key {_q(key)}, index is stale")
        return []
    raise _OpFailed(f"unknown KV verb {_q(verb)}")


def _cas_allows(existing: Any, compare: int) -> bool:
    """Consul's CAS rule for catalog objects: 0 = must not exist, N = must exist at ModifyIndex N."""
    if compare == 0:
        return existing is None
    return existing is not None and existing.modify_index == compare


def _node(store: "StateStore", index: int, op: TxnNodeOp, now_ns: int) -> list[TxnResult]:
    verb, name = op.verb, op.node.node
    _, existing = store.node(name)
    if verb == "get":
        if existing is None:
            raise _OpFailed(f"node {_q(name)} doesn't exist")
        return [TxnResult(node=existing)]
    if verb == "set":
        return [TxnResult(node=store._node_put(index, op.node))]
    if verb == "cas":
        if not _cas_allows(existing, op.node.modify_index):
            raise _OpFailed(f"failed to set node {_q(name)}, index is stale")
        return [TxnResult(node=store._node_put(index, op.node))]
    if verb == "delete":
        store._node_delete(index, name, now_ns)
        return []
    if verb == "delete-cas":
        if existing is None or existing.modify_index != op.node.modify_index:
            raise _OpFailed(f"failed to delete node {_q(name)}, index is stale")
        store._node_delete(index, name, now_ns)
        return []
    raise _OpFailed(f"unknown Node verb {_q(verb)}")


def _service(store: "StateStore", index: int, op: TxnServiceOp, now_ns: int) -> list[TxnResult]:
    verb, node, svc = op.verb, op.node, op.service
    sid = svc.id or svc.service
    existing = store.node_service(node, sid)
    if verb == "get":
        if existing is None:
            raise _OpFailed(f"service {_q(sid)} on node {_q(node)} doesn't exist")
        return [TxnResult(service=existing)]
    if verb == "set":
        return [TxnResult(service=store._service_put(index, node, svc))]
    if verb == "cas":
        if not _cas_allows(existing, svc.modify_index):
            raise _OpFailed(f"failed to set service {_q(sid)} on node {_q(node)}, index is stale")
        return [TxnResult(service=store._service_put(index, node, svc))]
    if verb == "delete":
        store._service_delete(index, node, sid, now_ns)
        return []
    if verb == "delete-cas":
        if existing is None or existing.modify_index != svc.modify_index:
            raise _OpFailed(f"failed to delete service {_q(sid)} on node {_q(node)}, index is stale")
        store._service_delete(index, node, sid, now_ns)
        return []
    raise _OpFailed(f"unknown Service verb {_q(verb)}")


def _check(store: "StateStore", index: int, op: TxnCheckOp, now_ns: int) -> list[TxnResult]:
    verb, chk = op.verb, op.check
    existing = store.node_check(chk.node, chk.check_id)
    if verb == "get":
        if existing is None:
            raise _OpFailed(f"check {_q(chk.check_id)} on node {_q(chk.node)} doesn't exist")
        return [TxnResult(check=existing)]
    if verb == "set":
        return [TxnResult(check=store._check_put(index, chk, now_ns))]
    if verb == "cas":
        if not _cas_allows(existing, chk.modify_index):
            raise _OpFailed(f"failed to set check {_q(chk.check_id)} on node {_q(chk.node)}, index is stale")
        return [TxnResult(check=store._check_put(index, chk, now_ns))]
    if verb == "delete":
        store._check_delete(index, chk.node, chk.check_id, now_ns)
        return []
    if verb == "delete-cas":
        if existing is None or existing.modify_index != chk.modify_index:
            raise _OpFailed(
                f"failed to delete check {_q(chk.check_id)} on node {_q(chk.node)}, index is stale"
            )
        store._check_delete(index, chk.node, chk.check_id, now_ns)
        return []
    raise _OpFailed(f"unknown Check verb {_q(verb)}")


_DISPATCH: dict[type, Callable[["StateStore", int, Any, int], list[TxnResult]]] = {
    TxnKVOp: _kv,
    TxnNodeOp: _node,
    TxnServiceOp: _service,
    TxnCheckOp: _check,
}


def run_txn(store: "StateStore", index: int, ops: Sequence[Any], now_ns: int) -> TxnResponse:
    """Run ``ops`` in order on ``store`` at ``index``; the caller rolls back if ``errors`` is set."""
    results: list[TxnResult] = []
    errors: list[TxnError] = []
    for i, op in enumerate(ops):
        handler = _DISPATCH.get(type(op))
        try:
            if handler is None:
                raise _OpFailed("no operation specified")
            results.extend(handler(store, index, op, now_ns))
        except (_OpFailed, StoreError) as err:
            what = err.message if isinstance(err, StoreError) else str(err)
            errors.append(TxnError(op_index=i, what=what))
    if errors:
        return TxnResponse(results=None, errors=errors)
    return TxnResponse(results=results, errors=None)
