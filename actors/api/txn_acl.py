"""ACL rules of ``PUT /v1/txn`` (Consul's ``txn_endpoint.go`` ``preCheck``; CVE-2021-38698).

Every op is checked as its standalone endpoint would check it, before anything is read or written.
Refused ops are reported the way Consul reports them: the whole transaction is rolled back (nothing
is written) and answered 409 with ``{"Results": null, "Errors": [{"OpIndex": i, "What": "Permission
denied: ..."}]}``, one error per refused op. Then, as Consul, results the token may not read are left
out of a successful answer (`readable_results`).

Per op (``get`` verbs of nodes, services and checks need nothing up front; their results are filtered):

* KV: ``get``/``get-tree`` nothing (results filtered); ``check-index``/``check-session`` ``key:read``;
  ``delete-tree`` ``key:write`` on every key under the prefix; every other verb (``set``, ``cas``,
  ``lock``, ``unlock``, ``delete``, ``delete-cas``, ``check-not-exists``, ``get-or-empty``) ``key:write``.
* Node: ``node:write`` on the name; when the node's ID names a stored node, on that node's name too.
* Service: ``service:write`` on the name; a stored service with that ID under another name is refused.
* Check: on the stored check when there is one, else on the check given: a node check
  ``node:write`` on its node; a service check ``service:write`` on the stored service's name (or the
  check's ``ServiceName`` when the service is created in the same transaction).

What must never live here: op decoding (``txn``) or the verbs' semantics (``actors/state/txn.py``).
"""

from __future__ import annotations

from typing import Sequence

from actors.acl import readable
from actors.acl.authorizer import permission_denied
from actors.acl.enforce import AclFilter, Caller
from actors.state.commands import TxnCheckOp, TxnKVOp, TxnNodeOp, TxnOp, TxnServiceOp
from actors.state.models import HealthCheck, TxnError, TxnResult
from actors.state.store import StateStore
from actors.state.watch import fold

_KV_FREE = frozenset({"get", "get-tree"})
_KV_READ = frozenset({"check-index", "check-session"})


class Refused(Exception):
    """One op's refusal, worded as the standalone endpoint's."""


def _deny(caller: Caller, allowed: bool, permission: str, resource: str) -> None:
    if not allowed:
        raise Refused(permission_denied(caller.accessor_id, permission, resource))


def _kv(caller: Caller, op: TxnKVOp) -> None:
    authz = caller.authz
    if op.verb in _KV_FREE:
        return
    if op.verb in _KV_READ:
        _deny(caller, authz.key_read(op.key), "key:read", op.key)
    elif op.verb == "delete-tree":
        _deny(caller, authz.key_write_prefix(op.key), "key:write", op.key)
    else:
        _deny(caller, authz.key_write(op.key), "key:write", op.key)


def _node(caller: Caller, op: TxnNodeOp, store: StateStore) -> None:
    name = op.node.node
    if op.node.id:
        _, nodes = store.nodes()
        stored = next((n for n in nodes if n.id and n.id.lower() == op.node.id.lower()), None)
        if stored is not None and fold(stored.node) != fold(name):
            _deny(caller, caller.authz.node_write(stored.node), "node:write", stored.node)
    _deny(caller, caller.authz.node_write(name), "node:write", name)


def _service(caller: Caller, op: TxnServiceOp, store: StateStore) -> None:
    name = op.service.service
    stored = store.node_service(op.node, op.service.id) if op.service.id else None
    if stored is not None and stored.service != name:
        raise Refused(f'service name does not match existing service name for service ID "{op.service.id}" '
                      f'on node "{op.node}"')
    _deny(caller, caller.authz.service_write(name), "service:write", name)


def _check(caller: Caller, op: TxnCheckOp, store: StateStore) -> None:
    given = op.check
    stored = store.node_check(given.node, given.check_id) if given.check_id else None
    chk: HealthCheck = stored if stored is not None else given
    if not chk.service_id:
        _deny(caller, caller.authz.node_write(chk.node), "node:write", chk.node)
        return
    service = store.node_service(chk.node, chk.service_id)
    name = service.service if service is not None else chk.service_name
    if not name:
        raise Refused(f'unknown service ID "{chk.service_id}" for check ID "{chk.check_id}"')
    _deny(caller, caller.authz.service_write(name), "service:write", name)


def refused_ops(caller: Caller, ops: Sequence[TxnOp], store: StateStore) -> list[TxnError]:
    """One `TxnError` per op the caller may not run (empty: go ahead)."""
    if not AclFilter(caller).active:
        return []
    errors: list[TxnError] = []
    for i, op in enumerate(ops):
        try:
            if isinstance(op, TxnKVOp):
                _kv(caller, op)
            elif op.verb == "get":
                continue
            elif isinstance(op, TxnNodeOp):
                _node(caller, op, store)
            elif isinstance(op, TxnServiceOp):
                _service(caller, op, store)
            elif isinstance(op, TxnCheckOp):
                _check(caller, op, store)
        except Refused as why:
            errors.append(TxnError(op_index=i, what=str(why)))
    return errors


def readable_results(results: list[TxnResult] | None, seen: AclFilter) -> list[TxnResult] | None:
    if results is None:
        return None
    return seen.keep(results, readable.txn_result)
