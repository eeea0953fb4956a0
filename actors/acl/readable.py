"""Which records a token may see: the per-record predicates list filtering uses (Consul's ``aclFilter``).

What lives here: one small pure function per record shape, each ``(authz, record) -> bool``, with
Consul's rules (``agent/consul/acl_filter`` / ``filter.go``):

* a node (and anything shown as a node: members, node records) needs ``node:read`` on its name;
* a service instance needs ``node:read`` on its node and ``service:read`` on its service name;
* a health check needs ``node:read`` on its node and, for a service check, ``service:read`` on the
  service;
* a KV entry or key name needs ``key:read`` on the full key (keys are filtered before a separator
  collapses them, so a "directory" appears only when a readable key lies below it);
* a session needs ``session:read`` on its node; a user event ``event:read`` on its name.
* a transaction result: by what it carries, as above.

What must never live here: refusals (``enforce``), HTTP, or the store.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from actors.acl.authorizer import Authorizer


def node(authz: Authorizer, record: Any) -> bool:
    return authz.node_read(record.node)


def service_node(authz: Authorizer, record: Any) -> bool:
    """A catalog `ServiceNode` (flat: ``node`` + ``service_name``)."""
    return authz.node_read(record.node) and authz.service_read(record.service_name)


def service_entry(authz: Authorizer, record: Any) -> bool:
    """A health `ServiceEntry` (nested: ``node.node`` + ``service.service``)."""
    return authz.node_read(record.node.node) and authz.service_read(record.service.service)


def check(authz: Authorizer, record: Any) -> bool:
    if not authz.node_read(record.node):
        return False
    return not record.service_name or authz.service_read(record.service_name)


def node_service(authz: Authorizer, record: Any) -> bool:
    """A `NodeService` listed under a node the caller may already read."""
    return authz.service_read(record.service)


def kv_entry(authz: Authorizer, record: Any) -> bool:
    return authz.key_read(record.key)


def session(authz: Authorizer, record: Any) -> bool:
    return authz.session_read(record.node)


def txn_result(authz: Authorizer, record: Any) -> bool:
    if record.kv is not UNSET:
        return authz.key_read(record.kv.key)
    if record.node is not UNSET:
        return authz.node_read(record.node.node)
    if record.service is not UNSET:
        return authz.service_read(record.service.service)
    if record.check is not UNSET:
        return check(authz, record.check)
    return True
