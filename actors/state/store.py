"""The state store: Consul's Raft state machine (KV, catalog, health, sessions) as pure Python.

Theory of operation
-------------------
The Raft actor hands every committed entry to `StateStore.apply(index, command)` in log order. Apply is a
pure function of the current tables, the index and the command: no clock (time comes in
``command.now_ns``), no randomness (IDs come in the command), no IO. Every replica therefore holds the
same tables after the same prefix of the log.

Apply is atomic. Every mutation goes through a handful of journalled primitives (`_jset`, `_jpop`,
`_jadd`, `_jdiscard`, and two for the sorted key lists) that record how to undo themselves. If a command
fails half-way, by a `StoreError` (bad input, missing node...) or a failed transaction, the journal is
replayed backwards and the store is exactly as before; any other exception is a bug and is re-raised
after the rollback (fail-stop). A failed command still consumes its Raft index.

Tables and their secondary indexes (catalog identifiers are case-folded, KV keys are not):

* KV: ``_kv`` key -> `KVEntry`, ``_kv_keys`` (sorted, for prefix scans), ``_tombs`` key -> index of the
  delete, ``_tomb_keys`` (sorted), ``_lock_delay`` key -> expiry (ns), ``_session_keys`` session -> keys.
* catalog: ``_nodes``, ``_services`` (node, service id), ``_checks`` (node, check id), with
  ``_node_services``, ``_services_by_name``, ``_node_checks``, ``_service_checks``.
* sessions: ``_sessions``, ``_node_sessions``, ``_check_sessions`` (node, check id) -> sessions, and
  ``_session_timers`` session -> (ttl ns, last renew ns) for sessions with a TTL.
* indexes: ``_index`` table -> last Raft index that changed it ("kvs" counts deletes, so it covers
  tombstones), ``_service_index`` service name -> last index that changed anything its health view shows.

Inner "sets" are dicts with ``None`` values, so every mutation is a dict operation the journal can undo.

Reads return ``(index, result)``. The index is what a blocking query compares with ``?index=`` (Consul's
rules, see each method) and is clamped to at least 1 here, so the API never has to. Each read takes an
optional `WatchSet` and adds the keys its answer depends on (scheme in `actors.state.watch`); each apply
returns the keys it touched in `Applied.touched`. Results are the store's own frozen records: read-only.

The ACL tables (tokens, policies, bootstrap) are a mixin kept in ``acl_tables``.

What must never live here: trio, timers, the TTL policy window, HTTP parsing, ACL rule evaluation, or
anything that differs between replicas.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from msgspec import UNSET
from msgspec.structs import replace

from . import watch as W
from .acl_tables import ACL_TABLES, ACLTables
from .commands import (
    CheckUpdate,
    KVDelete,
    KVSet,
    NodeDeregister,
    NodeRegister,
    SessionCreate,
    SessionDestroy,
    SessionRenew,
    StateCommand,
    TombstoneReap,
    Txn,
    decode_command,
)
from .durations import parse_duration_ns
from .errors import InvalidInput, NotFound, StoreError, TooLarge, quote
from .models import (
    CHECK_STATUSES,
    CRITICAL,
    HEALTH_ANY,
    PASSING,
    SERF_CHECK_ID,
    SESSION_DELETE,
    SESSION_RELEASE,
    HealthCheck,
    KVEntry,
    Node,
    NodeService,
    NodeServiceList,
    NodeServices,
    ServiceEntry,
    ServiceNode,
    Session,
    TxnResponse,
)
from .txn import is_read_only, run_txn
from .watch import WatchKey, WatchSet, fold

# The store's own ceiling on a KV value: a protocol constant, the same on every replica, so applying an
# entry stays deterministic. It is not ``limits.kv_max_value_size``: that is one agent's configuration
# (servers may differ, and a reload may change it), enforced at the API edge before a write is proposed
# (the HTTP route's body limit and the KV / txn handlers), as Consul does in its endpoints and never in
# its FSM. The ceiling is what one Raft append frame can carry (the transport's DEFAULT_MAX_FRAME, 8 MiB),
# less room for the entry around the value.
MAX_VALUE_SIZE = 8 * 1024 * 1024 - 64 * 1024
DEFAULT_LOCK_DELAY_NS = 15 * 1_000_000_000
MAX_LOCK_DELAY_NS = 60 * 1_000_000_000  # Consul caps any session's lock-delay at 60 s
TABLES = ("kvs", "nodes", "services", "checks", "sessions", *ACL_TABLES)

_MISSING: Any = object()
_INSERTED: Any = object()
_REMOVED: Any = object()


@dataclass(frozen=True, slots=True)
class Applied:
    """What `StateStore.apply` reports for one log entry.

    ``value`` is the command's result (see each command's docstring); ``error`` is set instead when the
    command was refused (the store is then unchanged). A rolled-back transaction is *not* an error: its
    `TxnResponse` with ``errors`` is the value. ``touched`` feeds `WatchRegistry.fire`.
    """

    index: int
    value: Any = None
    error: StoreError | None = None
    touched: frozenset[WatchKey] = frozenset()

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class _Rollback(Exception):
    """Internal: undo everything, but report ``value`` as the (successful) result of the command."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def _check_key(key: str, *, allow_empty: bool = False) -> None:
    if not key and not allow_empty:
        raise InvalidInput("Missing key name")
    if "\x00" in key:
        raise InvalidInput(f"Invalid key {quote(key)}: keys may not contain NUL bytes")


def _check_name(name: str, what: str) -> None:
    if "\x00" in name:
        raise InvalidInput(f"Invalid {what} {quote(name)}: may not contain NUL bytes")


def _check_value(value: bytes | None) -> None:
    if value is not None and len(value) > MAX_VALUE_SIZE:
        raise TooLarge(f"Value too large ({len(value)} bytes), max size: {MAX_VALUE_SIZE} bytes")


def _session_check_ids(sess: Session) -> list[str]:
    ids = list(sess.node_checks or ())
    ids.extend(sc.id for sc in sess.service_checks or ())
    return ids


def _same_except_indexes(a: Any, b: Any) -> bool:
    return replace(a, create_index=0, modify_index=0) == replace(b, create_index=0, modify_index=0)


def _normalize_service(svc: NodeService) -> NodeService:
    """Empty omitempty fields become UNSET so the JSON leaves them out, as Consul's does."""
    changes: dict[str, Any] = {}
    if svc.kind == "":
        changes["kind"] = UNSET
    if svc.port == 0:
        changes["port"] = UNSET
    if svc.tagged_addresses == {}:
        changes["tagged_addresses"] = UNSET
    if not svc.id:
        changes["id"] = svc.service
    return replace(svc, **changes) if changes else svc


def session_deadline_ns(ttl_ns: int, last_renew_ns: int) -> int:
    """When a TTL session really expires: Consul waits 2 × TTL after the last renewal."""
    return last_renew_ns + 2 * ttl_ns


def expired_sessions(timers: Iterable[tuple[str, int, int]], now_ns: int) -> list[str]:
    """Pure helper: from ``(session id, ttl ns, last renew ns)`` triples, the IDs expired at ``now_ns``.

    A session is expired once ``now_ns >= last_renew + 2 × ttl``; sessions without a TTL (``ttl <= 0``)
    never expire. The leader proposes a `SessionDestroy` for each ID returned. Sorted for determinism.
    """
    return sorted(sid for sid, ttl, last in timers if ttl > 0 and now_ns >= session_deadline_ns(ttl, last))


def collapse_keys(names: Iterable[str], start: int, separator: str) -> list[str]:
    """Consul's ``?keys&separator=``: each sorted key name, cut after the first ``separator`` found at or
    past ``start`` (the prefix length), with repeats of a collapsed "directory" name dropped."""
    keys: list[str] = []
    for key in names:
        if separator:
            cut = key.find(separator, start)
            if cut >= 0:
                key = key[: cut + len(separator)]
                if keys and keys[-1] == key:
                    continue
        keys.append(key)
    return keys


class StateStore(ACLTables):
    """Consul's FSM state. See the module docstring for the contracts."""

    def __init__(self) -> None:
        # KV
        self._kv: dict[str, KVEntry] = {}
        self._kv_keys: list[str] = []
        self._tombs: dict[str, int] = {}
        self._tomb_keys: list[str] = []
        self._lock_delay: dict[str, int] = {}
        self._session_keys: dict[str, dict[str, None]] = {}
        # catalog
        self._nodes: dict[str, Node] = {}
        self._services: dict[tuple[str, str], NodeService] = {}
        self._checks: dict[tuple[str, str], HealthCheck] = {}
        self._node_services: dict[str, dict[str, None]] = {}
        self._services_by_name: dict[str, dict[tuple[str, str], None]] = {}
        self._node_checks: dict[str, dict[str, None]] = {}
        self._service_checks: dict[tuple[str, str], dict[str, None]] = {}
        # sessions
        self._sessions: dict[str, Session] = {}
        self._node_sessions: dict[str, dict[str, None]] = {}
        self._check_sessions: dict[tuple[str, str], dict[str, None]] = {}
        self._session_timers: dict[str, tuple[int, int]] = {}
        # ACL tokens and policies (acl_tables)
        self._init_acl()
        # indexes
        self._index: dict[str, int] = {t: 0 for t in TABLES}
        self._service_index: dict[str, int] = {}
        self.last_index = 0
        # per-apply scratch
        self._journal: list[tuple[Any, Any, Any]] = []
        self._touched: set[WatchKey] = set()
        self._handlers: dict[type, Callable[[int, Any], Any]] = {
            KVSet: self._apply_kv_set,
            KVDelete: self._apply_kv_delete,
            TombstoneReap: self._apply_tombstone_reap,
            Txn: self._apply_txn,
            SessionCreate: self._apply_session_create,
            SessionDestroy: self._apply_session_destroy,
            SessionRenew: self._apply_session_renew,
            NodeRegister: self._apply_node_register,
            NodeDeregister: self._apply_node_deregister,
            CheckUpdate: self._apply_check_update,
            **self.acl_handlers(),
        }

    # ------------------------------------------------------------------------------------------------
    # apply

    def apply(self, index: int, command: StateCommand) -> Applied:
        """Apply one committed command at Raft ``index`` (strictly increasing). Never partially."""
        if index <= self.last_index:
            raise ValueError(f"raft index went backwards: {index} <= {self.last_index}")
        handler = self._handlers.get(type(command))
        if handler is None:
            raise TypeError(f"not a state command: {type(command).__name__}")
        self._journal = []
        self._touched = set()
        try:
            value = handler(index, command)
        except StoreError as err:
            self._rollback()
            self.last_index = index
            return Applied(index, None, err)
        except _Rollback as rb:
            self._rollback()
            self.last_index = index
            return Applied(index, rb.value)
        except BaseException:
            self._rollback()
            raise
        touched = frozenset(self._touched)
        self._journal = []
        self._touched = set()
        self.last_index = index
        return Applied(index, value, None, touched)

    def apply_encoded(self, index: int, data: bytes) -> Applied:
        """`apply` for a raw log entry (``encode_command`` bytes)."""
        return self.apply(index, decode_command(data))

    # ------------------------------------------------------------------------------------------------
    # journal: the only code that mutates tables

    def _jset(self, d: dict, k: Any, v: Any) -> None:
        self._journal.append((d, k, d.get(k, _MISSING)))
        d[k] = v

    def _jpop(self, d: dict, k: Any) -> Any:
        old = d.pop(k, _MISSING)
        if old is not _MISSING:
            self._journal.append((d, k, old))
            return old
        return None

    def _jadd(self, outer: dict, okey: Any, ikey: Any) -> None:
        inner = outer.get(okey)
        if inner is None:
            inner = {}
            self._jset(outer, okey, inner)
        if ikey not in inner:
            self._jset(inner, ikey, None)

    def _jdiscard(self, outer: dict, okey: Any, ikey: Any) -> None:
        inner = outer.get(okey)
        if inner is None or ikey not in inner:
            return
        self._jpop(inner, ikey)
        if not inner:
            self._jpop(outer, okey)

    def _jinsort(self, lst: list[str], k: str) -> None:
        bisect.insort(lst, k)
        self._journal.append((lst, k, _INSERTED))

    def _jremove_sorted(self, lst: list[str], k: str) -> None:
        i = bisect.bisect_left(lst, k)
        del lst[i]
        self._journal.append((lst, k, _REMOVED))

    def _rollback(self) -> None:
        for container, k, old in reversed(self._journal):
            if type(container) is list:
                if old is _INSERTED:
                    del container[bisect.bisect_left(container, k)]
                else:
                    bisect.insort(container, k)
            elif old is _MISSING:
                container.pop(k, None)
            else:
                container[k] = old
        self._journal = []
        self._touched = set()

    def _bump(self, table: str, index: int) -> None:
        if self._index[table] != index:
            self._jset(self._index, table, index)

    def _touch(self, *keys: WatchKey) -> None:
        self._touched.update(keys)

    # ------------------------------------------------------------------------------------------------
    # KV primitives

    def _kv_put(
        self, index: int, key: str, *, value: bytes | None, flags: int, session: Any, lock_index: int
    ) -> KVEntry:
        """Write ``key``; a write that changes nothing keeps the old entry and its ModifyIndex (Consul)."""
        existing = self._kv.get(key)
        value = value or None
        session = session or UNSET
        if (
            existing is not None
            and existing.value == value
            and existing.flags == flags
            and existing.session == session
            and existing.lock_index == lock_index
        ):
            return existing
        entry = KVEntry(
            lock_index=lock_index,
            key=key,
            flags=flags,
            value=value,
            session=session,
            create_index=existing.create_index if existing is not None else index,
            modify_index=index,
        )
        if existing is None:
            self._jinsort(self._kv_keys, key)
        self._jset(self._kv, key, entry)
        old_session = existing.session if existing is not None else UNSET
        if old_session != session:
            if old_session:
                self._jdiscard(self._session_keys, fold(old_session), key)
            if session:
                self._jadd(self._session_keys, fold(session), key)
        self._bump("kvs", index)
        self._touch(("kv", key))
        return entry

    def _kv_remove(self, index: int, key: str) -> bool:
        existing = self._jpop(self._kv, key)
        if existing is None:
            return False
        self._jremove_sorted(self._kv_keys, key)
        if existing.session:
            self._jdiscard(self._session_keys, fold(existing.session), key)
        if key not in self._tombs:
            self._jinsort(self._tomb_keys, key)
        self._jset(self._tombs, key, index)
        self._bump("kvs", index)
        self._touch(("kv", key))
        return True

    @staticmethod
    def _range(keys: list[str], prefix: str) -> Iterator[str]:
        i = bisect.bisect_left(keys, prefix)
        n = len(keys)
        while i < n and keys[i].startswith(prefix):
            yield keys[i]
            i += 1

    # KV verbs shared by the plain commands and the transaction verbs (package-internal: they mutate, so
    # only code running inside apply() may call them). They return the written entry, or None when a
    # condition (cas index, lock holder) refused the write; bad input raises a StoreError.

    def _kv_set(self, index: int, key: str, value: bytes | None, flags: int) -> KVEntry:
        _check_key(key)
        _check_value(value)
        existing = self._kv.get(key)
        return self._kv_put(
            index,
            key,
            value=value,
            flags=flags,
            session=existing.session if existing is not None else UNSET,
            lock_index=existing.lock_index if existing is not None else 0,
        )

    def _kv_cas(self, index: int, key: str, value: bytes | None, flags: int, cas: int) -> KVEntry | None:
        _check_key(key)
        _check_value(value)
        existing = self._kv.get(key)
        if cas == 0:
            if existing is not None:
                return None
        elif existing is None or existing.modify_index != cas:
            return None
        return self._kv_set(index, key, value, flags)

    def _live_session(self, session_id: str) -> Session:
        if not session_id:
            raise InvalidInput("missing session")
        sess = self._sessions.get(fold(session_id))
        if sess is None:
            raise NotFound(f"invalid session {quote(session_id)}")
        return sess

    def kv_lock_delayed(self, key: str, now_ns: int) -> bool:
        return self._lock_delay.get(key, 0) > now_ns

    def _kv_lock(
        self, index: int, key: str, value: bytes | None, flags: int, session_id: str
    ) -> KVEntry | None:
        """Acquire: None if held by another session. Lock-delay is the caller's check (messages differ)."""
        _check_key(key)
        _check_value(value)
        sess = self._live_session(session_id)
        existing = self._kv.get(key)
        if existing is None:
            lock_index = 1
        elif existing.session and fold(existing.session) == fold(sess.id):
            lock_index = existing.lock_index
        elif existing.session:
            return None
        else:
            lock_index = existing.lock_index + 1
        return self._kv_put(index, key, value=value, flags=flags, session=sess.id, lock_index=lock_index)

    def _kv_unlock(
        self, index: int, key: str, value: bytes | None, flags: int, session_id: str
    ) -> KVEntry | None:
        _check_key(key)
        _check_value(value)
        if not session_id:
            raise InvalidInput("missing session")
        existing = self._kv.get(key)
        if existing is None or not existing.session or fold(existing.session) != fold(session_id):
            return None
        lock_index = existing.lock_index
        return self._kv_put(index, key, value=value, flags=flags, session=UNSET, lock_index=lock_index)

    def _kv_delete(self, index: int, key: str) -> None:
        _check_key(key)
        self._kv_remove(index, key)

    def _kv_delete_cas(self, index: int, key: str, cas: int) -> bool:
        """Consul: a missing key counts as deleted (True); a ModifyIndex mismatch is False."""
        _check_key(key)
        existing = self._kv.get(key)
        if existing is None:
            return True
        if existing.modify_index != cas:
            return False
        self._kv_remove(index, key)
        return True

    def _kv_delete_tree(self, index: int, prefix: str) -> None:
        _check_key(prefix, allow_empty=True)
        for key in list(self._range(self._kv_keys, prefix)):
            self._kv_remove(index, key)

    # ------------------------------------------------------------------------------------------------
    # KV commands

    def _apply_kv_set(self, index: int, cmd: KVSet) -> bool:
        if cmd.release:
            return self._kv_unlock(index, cmd.key, cmd.value, cmd.flags, cmd.release) is not None
        if cmd.acquire:
            _check_key(cmd.key)
            self._live_session(cmd.acquire)
            if self.kv_lock_delayed(cmd.key, cmd.now_ns):
                return False
            return self._kv_lock(index, cmd.key, cmd.value, cmd.flags, cmd.acquire) is not None
        if cmd.cas is not None:
            return self._kv_cas(index, cmd.key, cmd.value, cmd.flags, cmd.cas) is not None
        self._kv_set(index, cmd.key, cmd.value, cmd.flags)
        return True

    def _apply_kv_delete(self, index: int, cmd: KVDelete) -> bool:
        # The HTTP handler's precedence: ?cas wins over ?recurse.
        if cmd.cas is not None:
            return self._kv_delete_cas(index, cmd.key, cmd.cas)
        if cmd.recurse:
            self._kv_delete_tree(index, cmd.key)
        else:
            self._kv_delete(index, cmd.key)
        return True

    def _apply_tombstone_reap(self, index: int, cmd: TombstoneReap) -> int:
        reaped = [k for k, idx in self._tombs.items() if idx <= cmd.up_to_index]
        for key in reaped:
            self._jpop(self._tombs, key)
            self._jremove_sorted(self._tomb_keys, key)
        if cmd.now_ns:
            for key in [k for k, t in self._lock_delay.items() if t <= cmd.now_ns]:
                self._jpop(self._lock_delay, key)
        return len(reaped)

    def _apply_txn(self, index: int, cmd: Txn) -> TxnResponse:
        resp = run_txn(self, index, cmd.ops, cmd.now_ns)
        if resp.errors:
            raise _Rollback(resp)
        return resp

    def read_txn(self, ops: list[Any]) -> TxnResponse:
        """Serve an all-read transaction without Raft (the API checks `txn.is_read_only` first)."""
        if not is_read_only(ops):
            raise InvalidInput("transaction contains write operations")
        saved = (self._journal, self._touched)
        self._journal, self._touched = [], set()
        try:
            return run_txn(self, self.last_index, ops, 0)
        finally:
            self._rollback()
            self._journal, self._touched = saved

    # ------------------------------------------------------------------------------------------------
    # sessions

    def _session_invalidate(self, index: int, sid_f: str, now_ns: int) -> None:
        """Destroy a session: release or delete its keys per Behavior, start their lock-delay."""
        sess = self._sessions.get(sid_f)
        if sess is None:
            return
        node_f = fold(sess.node)
        self._jpop(self._sessions, sid_f)
        self._jpop(self._session_timers, sid_f)
        self._jdiscard(self._node_sessions, node_f, sid_f)
        for cid in _session_check_ids(sess):
            self._jdiscard(self._check_sessions, (node_f, fold(cid)), sid_f)
        self._bump("sessions", index)
        self._touch(W.SESSIONS, ("session", sid_f), ("node_sessions", node_f))
        delay = min(sess.lock_delay, MAX_LOCK_DELAY_NS)
        for key in sorted(self._session_keys.get(sid_f, ())):
            held = self._kv[key]
            if sess.behavior == SESSION_DELETE:
                self._kv_remove(index, key)
            else:
                self._kv_put(
                    index, key, value=held.value, flags=held.flags, session=UNSET, lock_index=held.lock_index
                )
            if delay > 0:
                self._jset(self._lock_delay, key, now_ns + delay)

    def _invalidate_check_sessions(self, index: int, node_f: str, cid_f: str, now_ns: int) -> None:
        for sid_f in sorted(self._check_sessions.get((node_f, cid_f), ())):
            self._session_invalidate(index, sid_f, now_ns)

    def _apply_session_create(self, index: int, cmd: SessionCreate) -> str:
        if not cmd.id:
            raise InvalidInput("Missing session ID")
        _check_name(cmd.id, "session ID")
        sid_f = fold(cmd.id)
        if sid_f in self._sessions:
            raise InvalidInput(f"Session ID {quote(cmd.id)} already exists")
        behavior = cmd.behavior or SESSION_RELEASE
        if behavior not in (SESSION_RELEASE, SESSION_DELETE):
            raise InvalidInput(f"Invalid session behavior: {behavior}")
        lock_delay = DEFAULT_LOCK_DELAY_NS if cmd.lock_delay_ns is None else cmd.lock_delay_ns
        if lock_delay < 0:
            raise InvalidInput(f"Invalid lock delay: {lock_delay}")
        ttl_ns = 0
        if cmd.ttl:
            try:
                ttl_ns = parse_duration_ns(cmd.ttl)
            except ValueError as err:
                raise InvalidInput(f"Session TTL '{cmd.ttl}' invalid: {err}") from None
            if ttl_ns < 0:
                raise InvalidInput(f"Session TTL '{cmd.ttl}' invalid: negative")
        node_f = fold(cmd.node)
        if node_f not in self._nodes:
            raise NotFound("Missing node registration")
        node_checks = [SERF_CHECK_ID] if cmd.node_checks is None else list(cmd.node_checks)
        sess = Session(
            id=cmd.id,
            name=cmd.name,
            node=cmd.node,
            lock_delay=lock_delay,
            behavior=behavior,
            ttl=cmd.ttl,
            node_checks=node_checks,
            service_checks=None if cmd.service_checks is None else list(cmd.service_checks),
            create_index=index,
            modify_index=index,
        )
        for cid in _session_check_ids(sess):
            check = self._checks.get((node_f, fold(cid)))
            if check is None:
                raise NotFound(f"Missing check '{cid}' registration")
            if check.status == CRITICAL:
                raise InvalidInput(f"Check '{cid}' is in {check.status} state")
        self._jset(self._sessions, sid_f, sess)
        self._jadd(self._node_sessions, node_f, sid_f)
        for cid in _session_check_ids(sess):
            self._jadd(self._check_sessions, (node_f, fold(cid)), sid_f)
        if ttl_ns > 0:
            self._jset(self._session_timers, sid_f, (ttl_ns, cmd.now_ns))
        self._bump("sessions", index)
        self._touch(W.SESSIONS, ("session", sid_f), ("node_sessions", node_f))
        return sess.id

    def _apply_session_destroy(self, index: int, cmd: SessionDestroy) -> bool:
        self._session_invalidate(index, fold(cmd.id), cmd.now_ns)
        return True

    def _apply_session_renew(self, index: int, cmd: SessionRenew) -> Session | None:
        sid_f = fold(cmd.id)
        sess = self._sessions.get(sid_f)
        if sess is None:
            return None
        timer = self._session_timers.get(sid_f)
        if timer is not None:
            self._jset(self._session_timers, sid_f, (timer[0], cmd.now_ns))
        return sess

    # ------------------------------------------------------------------------------------------------
    # catalog primitives

    def _bump_service(self, index: int, name_f: str) -> None:
        if self._service_index.get(name_f) != index:
            self._jset(self._service_index, name_f, index)
        self._touch(("service", name_f))

    def _bump_node_services(self, index: int, node_f: str) -> None:
        for sid_f in self._node_services.get(node_f, ()):
            self._bump_service(index, fold(self._services[(node_f, sid_f)].service))

    def _node_put(self, index: int, node: Node) -> Node:
        if not node.node:
            raise InvalidInput("Must provide node")
        _check_name(node.node, "node name")
        node_f = fold(node.node)
        existing = self._nodes.get(node_f)
        if existing is not None and _same_except_indexes(existing, node):
            return existing
        stored = replace(
            node,
            tagged_addresses=dict(node.tagged_addresses),
            meta=dict(node.meta),
            create_index=existing.create_index if existing is not None else index,
            modify_index=index,
        )
        self._jset(self._nodes, node_f, stored)
        self._bump("nodes", index)
        self._touch(W.NODES, ("node", node_f))
        self._bump_node_services(index, node_f)
        return stored

    def _node_delete(self, index: int, node_name: str, now_ns: int) -> None:
        """Remove a node with its services and checks, and invalidate its sessions."""
        node_f = fold(node_name)
        if node_f not in self._nodes:
            return
        for sid_f in sorted(self._node_services.get(node_f, ())):
            self._service_remove(index, node_f, sid_f, now_ns)
        for cid_f in sorted(self._node_checks.get(node_f, ())):
            self._check_remove(index, node_f, cid_f, now_ns)
        self._jpop(self._nodes, node_f)
        self._bump("nodes", index)
        self._touch(W.NODES, ("node", node_f))
        for sid_f in sorted(self._node_sessions.get(node_f, ())):
            self._session_invalidate(index, sid_f, now_ns)

    def _service_put(self, index: int, node_name: str, svc: NodeService) -> NodeService:
        node_f = fold(node_name)
        if node_f not in self._nodes:
            raise NotFound("Missing node registration")
        if not svc.service:
            raise InvalidInput("Must provide service name with ID")
        _check_name(svc.service, "service name")
        svc = _normalize_service(svc)
        _check_name(svc.id, "service ID")
        key = (node_f, fold(svc.id))
        existing = self._services.get(key)
        if existing is not None and _same_except_indexes(existing, svc):
            return existing
        stored = replace(
            svc,
            tags=list(svc.tags),
            meta=dict(svc.meta),
            create_index=existing.create_index if existing is not None else index,
            modify_index=index,
        )
        self._jset(self._services, key, stored)
        self._jadd(self._node_services, node_f, key[1])
        name_f = fold(stored.service)
        if existing is not None and fold(existing.service) != name_f:
            self._jdiscard(self._services_by_name, fold(existing.service), key)
            self._bump_service(index, fold(existing.service))
        self._jadd(self._services_by_name, name_f, key)
        self._bump("services", index)
        self._touch(W.SERVICES, ("node_services", node_f))
        self._bump_service(index, name_f)
        if existing is not None and (existing.service != stored.service or existing.tags != stored.tags):
            # Checks carry copies of the service's name and tags; keep them in step.
            for cid_f in sorted(self._service_checks.get(key, ())):
                chk = self._checks[(node_f, cid_f)]
                new = replace(
                    chk, service_name=stored.service, service_tags=list(stored.tags), modify_index=index
                )
                self._jset(self._checks, (node_f, cid_f), new)
                self._bump("checks", index)
                self._touch(W.CHECKS, ("node_checks", node_f))
        return stored

    def _service_remove(self, index: int, node_f: str, sid_f: str, now_ns: int) -> bool:
        key = (node_f, sid_f)
        svc = self._services.get(key)
        if svc is None:
            return False
        for cid_f in sorted(self._service_checks.get(key, ())):
            self._check_remove(index, node_f, cid_f, now_ns)
        self._jpop(self._services, key)
        self._jdiscard(self._node_services, node_f, sid_f)
        name_f = fold(svc.service)
        self._jdiscard(self._services_by_name, name_f, key)
        self._bump("services", index)
        self._touch(W.SERVICES, ("node_services", node_f))
        self._bump_service(index, name_f)
        return True

    def _service_delete(self, index: int, node_name: str, service_id: str, now_ns: int) -> bool:
        return self._service_remove(index, fold(node_name), fold(service_id), now_ns)

    def _bump_check_services(self, index: int, node_f: str, chk: HealthCheck) -> None:
        if chk.service_id:
            self._bump_service(index, fold(chk.service_name))
        else:
            self._bump_node_services(index, node_f)

    def _check_put(self, index: int, chk: HealthCheck, now_ns: int) -> HealthCheck:
        """Insert or update a check; a critical status invalidates the sessions tied to it."""
        node_f = fold(chk.node)
        if node_f not in self._nodes:
            raise NotFound("Missing node registration")
        if not chk.check_id:
            raise InvalidInput("Missing check ID")
        _check_name(chk.check_id, "check ID")
        status = chk.status or CRITICAL
        if status not in CHECK_STATUSES:
            raise InvalidInput(f"Invalid check status: {quote(status)}")
        if chk.service_id:
            svc = self._services.get((node_f, fold(chk.service_id)))
            if svc is None:
                raise NotFound("Missing service registration")
            service_name, service_tags = svc.service, list(svc.tags)
        else:
            service_name, service_tags = "", []
        candidate = replace(
            chk,
            status=status,
            service_name=service_name,
            service_tags=service_tags,
            definition=dict(chk.definition),
        )
        cid_f = fold(chk.check_id)
        key = (node_f, cid_f)
        existing = self._checks.get(key)
        if existing is not None and _same_except_indexes(existing, candidate):
            stored = existing
        else:
            stored = replace(
                candidate,
                create_index=existing.create_index if existing is not None else index,
                modify_index=index,
            )
            self._jset(self._checks, key, stored)
            self._jadd(self._node_checks, node_f, cid_f)
            old_link = fold(existing.service_id) if existing is not None and existing.service_id else None
            new_link = fold(stored.service_id) if stored.service_id else None
            if old_link != new_link:
                if old_link is not None:
                    self._jdiscard(self._service_checks, (node_f, old_link), cid_f)
                if new_link is not None:
                    self._jadd(self._service_checks, (node_f, new_link), cid_f)
            self._bump("checks", index)
            self._touch(W.CHECKS, ("node_checks", node_f))
            if existing is not None:
                self._bump_check_services(index, node_f, existing)
            self._bump_check_services(index, node_f, stored)
        if stored.status == CRITICAL:
            self._invalidate_check_sessions(index, node_f, cid_f, now_ns)
        return stored

    def _check_remove(self, index: int, node_f: str, cid_f: str, now_ns: int) -> bool:
        key = (node_f, cid_f)
        chk = self._jpop(self._checks, key)
        if chk is None:
            return False
        self._jdiscard(self._node_checks, node_f, cid_f)
        if chk.service_id:
            self._jdiscard(self._service_checks, (node_f, fold(chk.service_id)), cid_f)
        self._bump("checks", index)
        self._touch(W.CHECKS, ("node_checks", node_f))
        self._bump_check_services(index, node_f, chk)
        self._invalidate_check_sessions(index, node_f, cid_f, now_ns)
        return True

    def _check_delete(self, index: int, node_name: str, check_id: str, now_ns: int) -> bool:
        return self._check_remove(index, fold(node_name), fold(check_id), now_ns)

    # ------------------------------------------------------------------------------------------------
    # catalog commands

    def _apply_node_register(self, index: int, cmd: NodeRegister) -> bool:
        if not cmd.node:
            raise InvalidInput("Must provide node")
        if not cmd.address and not cmd.skip_node_update:
            raise InvalidInput("Must provide address if SkipNodeUpdate is not set")
        node_f = fold(cmd.node)
        if node_f not in self._nodes or not cmd.skip_node_update:
            self._node_put(
                index,
                Node(
                    id=cmd.id,
                    node=cmd.node,
                    address=cmd.address,
                    datacenter=cmd.datacenter,
                    tagged_addresses=cmd.tagged_addresses,
                    meta=cmd.node_meta,
                ),
            )
        if cmd.service is not None:
            self._service_put(index, cmd.node, cmd.service)
        for chk in cmd.checks:
            if not chk.node:
                chk = replace(chk, node=cmd.node)
            elif fold(chk.node) != node_f:
                raise InvalidInput(f"check node {quote(chk.node)} does not match node {quote(cmd.node)}")
            if not chk.check_id:
                chk = replace(chk, check_id=chk.name)
            try:
                self._check_put(index, chk, cmd.now_ns)
            except StoreError as err:
                raise type(err)(f"failed inserting check on node {quote(cmd.node)}: {err.message}") from None
        return True

    def _apply_node_deregister(self, index: int, cmd: NodeDeregister) -> bool:
        if not cmd.node:
            raise InvalidInput("Must provide node")
        if cmd.service_id:
            self._service_delete(index, cmd.node, cmd.service_id, cmd.now_ns)
        if cmd.check_id:
            self._check_delete(index, cmd.node, cmd.check_id, cmd.now_ns)
        if not cmd.service_id and not cmd.check_id:
            self._node_delete(index, cmd.node, cmd.now_ns)
        return True

    def _apply_check_update(self, index: int, cmd: CheckUpdate) -> bool:
        existing = self._checks.get((fold(cmd.node), fold(cmd.check_id)))
        if existing is None:
            raise NotFound(f"Missing check '{cmd.check_id}' registration")
        self._check_put(index, replace(existing, status=cmd.status, output=cmd.output), cmd.now_ns)
        return True

    # ------------------------------------------------------------------------------------------------
    # reads: KV

    @staticmethod
    def _clamp(index: int) -> int:
        return index if index > 0 else 1

    def kv_get(self, key: str, ws: WatchSet | None = None) -> tuple[int, KVEntry | None]:
        """One key. Index: its ModifyIndex, or the KV table's index (deletes included) when missing."""
        if ws is not None:
            ws.add(("kv", key))
        entry = self._kv.get(key)
        index = entry.modify_index if entry is not None else self._index["kvs"]
        return self._clamp(index), entry

    def _prefix_index(self, prefix: str, entries: Iterable[KVEntry]) -> int:
        if not prefix:
            return self._index["kvs"]
        best = max((e.modify_index for e in entries), default=0)
        for key in self._range(self._tomb_keys, prefix):
            best = max(best, self._tombs[key])
        return best or self._index["kvs"]

    def kv_list(self, prefix: str, ws: WatchSet | None = None) -> tuple[int, list[KVEntry]]:
        """Entries under ``prefix``, sorted by key. Index: highest ModifyIndex among the entries and the
        tombstones under the prefix, else the table index (also for the empty prefix, as Consul does)."""
        if ws is not None:
            ws.add_prefix(prefix)
        entries = [self._kv[k] for k in self._range(self._kv_keys, prefix)]
        return self._clamp(self._prefix_index(prefix, entries)), entries

    def kv_keys(self, prefix: str, separator: str = "", ws: WatchSet | None = None) -> tuple[int, list[str]]:
        """Key names under ``prefix``; with a separator, everything past the first separator after the
        prefix collapses into one "directory" entry ending with the separator."""
        if ws is not None:
            ws.add_prefix(prefix)
        names = list(self._range(self._kv_keys, prefix))
        entries = [self._kv[key] for key in names]
        return self._clamp(self._prefix_index(prefix, entries)), collapse_keys(names, len(prefix), separator)

    def kv_lock_delay(self, key: str) -> int:
        """The lock-delay expiry of ``key`` in ns (0 if none recorded)."""
        return self._lock_delay.get(key, 0)

    def kv_tombstones(self) -> dict[str, int]:
        """A copy of the tombstones (key -> index of the delete); for the leader's reaper and tests."""
        return dict(self._tombs)

    # ------------------------------------------------------------------------------------------------
    # reads: sessions

    def session_get(self, session_id: str, ws: WatchSet | None = None) -> tuple[int, Session | None]:
        sid_f = fold(session_id)
        if ws is not None:
            ws.add(("session", sid_f))
        return self._clamp(self._index["sessions"]), self._sessions.get(sid_f)

    def session_list(self, ws: WatchSet | None = None) -> tuple[int, list[Session]]:
        if ws is not None:
            ws.add(W.SESSIONS)
        return self._clamp(self._index["sessions"]), [self._sessions[s] for s in sorted(self._sessions)]

    def node_sessions(self, node: str, ws: WatchSet | None = None) -> tuple[int, list[Session]]:
        node_f = fold(node)
        if ws is not None:
            ws.add(("node_sessions", node_f))
        ids = sorted(self._node_sessions.get(node_f, ()))
        return self._clamp(self._index["sessions"]), [self._sessions[s] for s in ids]

    def session_timers(self) -> list[tuple[str, int, int]]:
        """``(session id, ttl ns, last renew ns)`` for every session with a TTL, sorted by ID."""
        return [(self._sessions[s].id, *self._session_timers[s]) for s in sorted(self._session_timers)]

    def expired_sessions(self, now_ns: int) -> list[str]:
        """IDs of TTL sessions past ``last renew + 2 × TTL`` at ``now_ns`` (the leader destroys them)."""
        return expired_sessions(self.session_timers(), now_ns)

    def next_session_expiry(self) -> int | None:
        """The earliest TTL deadline (ns), so the leader can arm one timer; None without TTL sessions."""
        return min((session_deadline_ns(t, last) for t, last in self._session_timers.values()), default=None)

    # ------------------------------------------------------------------------------------------------
    # reads: catalog

    def _service_read_index(self, name_f: str, with_checks: bool) -> int:
        index = self._service_index.get(name_f)
        if index:
            return index
        tables = ("nodes", "services", "checks") if with_checks else ("nodes", "services")
        return max(self._index[t] for t in tables)

    def nodes(self, ws: WatchSet | None = None) -> tuple[int, list[Node]]:
        """All nodes sorted by name. Index: the node table's. Filters (``filter``, ``node-meta``) are the
        API's job, applied to this list."""
        if ws is not None:
            ws.add(W.NODES)
        return self._clamp(self._index["nodes"]), [self._nodes[n] for n in sorted(self._nodes)]

    def node(self, name: str, ws: WatchSet | None = None) -> tuple[int, Node | None]:
        node_f = fold(name)
        if ws is not None:
            ws.add(("node", node_f))
        return self._clamp(self._index["nodes"]), self._nodes.get(node_f)

    def services(self, ws: WatchSet | None = None) -> tuple[int, dict[str, list[str]]]:
        """Service name -> sorted union of its instances' tags. Index: the service table's."""
        if ws is not None:
            ws.add(W.SERVICES)
        out: dict[str, list[str]] = {}
        for name_f in sorted(self._services_by_name):
            keys = sorted(self._services_by_name[name_f])
            tags: set[str] = set()
            for key in keys:
                tags.update(self._services[key].tags)
            out[self._services[keys[0]].service] = sorted(tags)
        return self._clamp(self._index["services"]), out

    def _instances(self, name: str, tags: Iterable[str]) -> list[tuple[Node, NodeService]]:
        want = set(tags)
        out = []
        for node_f, sid_f in sorted(self._services_by_name.get(fold(name), ())):
            svc = self._services[(node_f, sid_f)]
            if want and not want.issubset(svc.tags):
                continue
            out.append((self._nodes[node_f], svc))
        return out

    def service_nodes(
        self, name: str, tags: Iterable[str] = (), ws: WatchSet | None = None
    ) -> tuple[int, list[ServiceNode]]:
        """``/v1/catalog/service/<name>``: instances (every tag in ``tags`` must be present), as the flat
        ServiceNode shape, sorted by node then service ID. Index: the service's own index."""
        name_f = fold(name)
        if ws is not None:
            ws.add(("service", name_f))
        out = []
        for node, svc in self._instances(name, tags):
            out.append(
                ServiceNode(
                    id=node.id,
                    node=node.node,
                    address=node.address,
                    datacenter=node.datacenter,
                    tagged_addresses=node.tagged_addresses,
                    node_meta=node.meta,
                    service_kind=svc.kind or "",
                    service_id=svc.id,
                    service_name=svc.service,
                    service_tags=svc.tags,
                    service_address=svc.address,
                    service_tagged_addresses=svc.tagged_addresses,
                    service_weights=svc.weights,
                    service_meta=svc.meta,
                    service_port=svc.port or 0,
                    service_enable_tag_override=svc.enable_tag_override,
                    service_proxy=svc.proxy,
                    service_connect=svc.connect,
                    create_index=svc.create_index,
                    modify_index=svc.modify_index,
                )
            )
        return self._clamp(self._service_read_index(name_f, with_checks=False)), out

    def _node_service_list(self, node_f: str) -> list[NodeService]:
        return [self._services[(node_f, s)] for s in sorted(self._node_services.get(node_f, ()))]

    def node_services(self, node: str, ws: WatchSet | None = None) -> tuple[int, NodeServices | None]:
        """``/v1/catalog/node/<node>``: None for an unknown node. Index: max of node and service tables."""
        node_f = fold(node)
        if ws is not None:
            ws.add(("node", node_f))
            ws.add(("node_services", node_f))
        index = self._clamp(max(self._index["nodes"], self._index["services"]))
        record = self._nodes.get(node_f)
        if record is None:
            return index, None
        return index, NodeServices(node=record, services={s.id: s for s in self._node_service_list(node_f)})

    def node_service_list(self, node: str, ws: WatchSet | None = None) -> tuple[int, NodeServiceList | None]:
        """``/v1/catalog/node-services/<node>``: like `node_services` with a list."""
        node_f = fold(node)
        if ws is not None:
            ws.add(("node", node_f))
            ws.add(("node_services", node_f))
        index = self._clamp(max(self._index["nodes"], self._index["services"]))
        record = self._nodes.get(node_f)
        if record is None:
            return index, None
        return index, NodeServiceList(node=record, services=self._node_service_list(node_f))

    def node_service(self, node: str, service_id: str) -> NodeService | None:
        """One service instance by node and service ID (no index: a building block, not an endpoint)."""
        return self._services.get((fold(node), fold(service_id)))

    # ------------------------------------------------------------------------------------------------
    # reads: health

    def node_check(self, node: str, check_id: str) -> HealthCheck | None:
        """One check by node and check ID (no index: a building block, not an endpoint)."""
        return self._checks.get((fold(node), fold(check_id)))

    def _checks_of(self, node_f: str, cids: Iterable[str]) -> list[HealthCheck]:
        return [self._checks[(node_f, c)] for c in sorted(cids)]

    def node_checks(self, node: str, ws: WatchSet | None = None) -> tuple[int, list[HealthCheck]]:
        """``/v1/health/node/<node>``: node and service checks, sorted by check ID."""
        node_f = fold(node)
        if ws is not None:
            ws.add(("node_checks", node_f))
        return self._clamp(self._index["checks"]), self._checks_of(node_f, self._node_checks.get(node_f, ()))

    def service_checks(self, name: str, ws: WatchSet | None = None) -> tuple[int, list[HealthCheck]]:
        """``/v1/health/checks/<service>``: the service-level checks of every instance."""
        name_f = fold(name)
        if ws is not None:
            ws.add(("service", name_f))
        out: list[HealthCheck] = []
        for node_f, sid_f in sorted(self._services_by_name.get(name_f, ())):
            out.extend(self._checks_of(node_f, self._service_checks.get((node_f, sid_f), ())))
        return self._clamp(self._index["checks"]), out

    def checks_in_state(self, state: str, ws: WatchSet | None = None) -> tuple[int, list[HealthCheck]]:
        """``/v1/health/state/<state>`` with ``any|passing|warning|critical``, sorted by node, check ID."""
        if state != HEALTH_ANY and state not in CHECK_STATUSES:
            raise InvalidInput(f"Invalid state: {quote(state)}")
        if ws is not None:
            ws.add(W.CHECKS)
        out = [
            self._checks[k]
            for k in sorted(self._checks)
            if state == HEALTH_ANY or self._checks[k].status == state
        ]
        return self._clamp(self._index["checks"]), out

    def service_health(
        self,
        name: str,
        tags: Iterable[str] = (),
        passing_only: bool = False,
        ws: WatchSet | None = None,
    ) -> tuple[int, list[ServiceEntry]]:
        """``/v1/health/service/<name>``: each instance with its node and checks (the node's own checks
        first, then the service's). ``passing_only`` keeps entries whose every check is passing."""
        name_f = fold(name)
        if ws is not None:
            ws.add(("service", name_f))
        out = []
        for node, svc in self._instances(name, tags):
            node_f = fold(node.node)
            on_node = self._checks_of(node_f, self._node_checks.get(node_f, ()))
            node_level = [c for c in on_node if not c.service_id]
            own = self._checks_of(node_f, self._service_checks.get((node_f, fold(svc.id)), ()))
            checks = node_level + own
            if passing_only and any(c.status != PASSING for c in checks):
                continue
            out.append(ServiceEntry(node=node, service=svc, checks=checks))
        return self._clamp(self._service_read_index(name_f, with_checks=True)), out

    # ------------------------------------------------------------------------------------------------
    # whole-store

    def table_index(self, table: str) -> int:
        """The last Raft index that changed ``table`` (one of `TABLES`); 0 if never."""
        return self._index[table]

    def statistics(self) -> dict[str, int]:
        return {
            "last_index": self.last_index,
            "kv_entries": len(self._kv),
            "tombstones": len(self._tombs),
            "lock_delays": len(self._lock_delay),
            "nodes": len(self._nodes),
            "services": len(self._services),
            "checks": len(self._checks),
            "sessions": len(self._sessions),
        }

    def snapshot(self) -> bytes:
        """The whole store as msgpack bytes (see `actors.state.snapshot`)."""
        from .snapshot import dump

        return dump(self)

    @classmethod
    def restore(cls, data: bytes) -> "StateStore":
        """A new store rebuilt from `snapshot` bytes. Callers should then `WatchRegistry.wake_all`."""
        from .snapshot import load

        return load(data)
