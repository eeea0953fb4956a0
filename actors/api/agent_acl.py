"""ACL rules of the agent-local endpoints (Consul's ``agent_endpoint.go`` and ``agent/acl.go`` vet
functions), answered on the agent itself (a client agent resolves the token through a server).

* ``agent:read`` on this node: ``/v1/agent/self``; ``agent:write``: ``reload``, ``join``, ``leave``;
  ``operator:write``: ``force-leave``. Members are filtered by ``node:read`` on each member's name.
* Services: listing filtered by ``service:read``; one service (by ID) and its local health need
  ``service:read`` on its name (by name: on the name asked). Register needs ``service:write`` on the
  name, and on the name of the service the ID replaces; deregister and service maintenance need
  ``service:write`` on the existing service.
* Checks: listing filtered (service checks ``service:read`` on the service, node checks ``node:read``
  on this node). Register: a service check ``service:write`` on its service, a node check
  ``node:write`` on this node, and the same on a check the ID replaces. Deregister and TTL updates
  (pass/warn/fail/update): the same on the existing check. Node maintenance: ``node:write``.

Unknown IDs are left to the local state, which answers Consul's 404s.

What must never live here: the local state's rules (``actors.local``) or request decoding.
"""

from __future__ import annotations

from actors.acl.enforce import AclFilter, Caller, require
from actors.local.definitions import CheckDefinition, ServiceDefinition
from actors.local.local_agent import LocalAgent
from actors.local.records import LocalCheck


def vet_service_write(caller: Caller, local: LocalAgent, service_id: str) -> None:
    existing = local.state.service(service_id)
    if existing is not None:
        require(caller, caller.authz.service_write(existing.name), "service:write", existing.name)


def vet_service_read(caller: Caller, local: LocalAgent, service_id: str) -> None:
    existing = local.state.service(service_id)
    if existing is not None:
        require(caller, caller.authz.service_read(existing.name), "service:read", existing.name)


def vet_service_register(caller: Caller, local: LocalAgent, definition: ServiceDefinition) -> None:
    if not AclFilter(caller).active:
        return
    require(caller, caller.authz.service_write(definition.name), "service:write", definition.name)
    vet_service_write(caller, local, definition.id or definition.name)


def _vet_check(caller: Caller, local: LocalAgent, service_id: str) -> None:
    if service_id:
        vet_service_write(caller, local, service_id)
    else:
        require(caller, caller.authz.node_write(local.node), "node:write", local.node)


def vet_check_update(caller: Caller, local: LocalAgent, check_id: str) -> None:
    existing = local.state.check(check_id)
    if existing is not None:
        _vet_check(caller, local, existing.service_id)


def vet_check_register(caller: Caller, local: LocalAgent, definition: CheckDefinition) -> None:
    if not AclFilter(caller).active:
        return
    _vet_check(caller, local, definition.service_id)
    vet_check_update(caller, local, definition.id or definition.name)


def readable_check(caller: Caller, local: LocalAgent, check: LocalCheck) -> bool:
    authz = caller.authz
    if check.service_id:
        svc = local.state.service(check.service_id)
        return svc is not None and authz.service_read(svc.name)
    return authz.node_read(local.node)
