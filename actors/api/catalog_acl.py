"""ACL rules of ``/v1/catalog/register`` and ``/deregister`` (Consul's ``vetRegisterWithACL`` and
``vetDeregisterWithACL`` in ``catalog_endpoint.go``).

Register:

* ``node:write`` on the node when the request creates the node or changes any node field (ID, name,
  address, datacenter, tagged addresses, meta); a request that re-posts the node as it is (or sets
  ``SkipNodeUpdate``) for an existing node needs no node permission, so a token with only
  ``service:write`` can keep registering its service;
* ``service:write`` on the service's name, and on the name of the service that ID replaces, if any;
* per check: a node check ``node:write``; a check of the service registered in the same request
  nothing more; a check of another service of the node ``service:write`` on that service (an unknown
  service ID, or a check naming another node, is refused as Consul does).

Deregister: ``node:write`` on the node allows everything; otherwise a service needs ``service:write``
on its name, a service check ``service:write`` on its service, a node check ``node:write``, and
removing the whole node is refused.

Check update (a `CheckUpdate` command, which only a client agent's anti-entropy sends, over the server
port: Consul sends that sync as a register of the check): a service check needs ``service:write`` on
its service, a node check (or an unknown one) ``node:write``.

`vet_catalog_command` applies the rule of whichever of the three commands it is given; the server
port's ``ApplyCommand`` (``actors/forward/server.py``) authorizes with it, so a client agent's sync
is judged exactly like the HTTP endpoints.

What must never live here: decoding the bodies (``catalog``) or catalog semantics (the store's).
"""

from __future__ import annotations

from typing import Any

from actors.acl.enforce import AclFilter, Caller, require
from actors.state.commands import CheckUpdate, Command, NodeDeregister, NodeRegister
from actors.state.models import NodeServices
from actors.state.store import StateStore
from actors.state.watch import fold
from runtime.http import HTTPError


def changes_node(cmd: NodeRegister, found: NodeServices | None) -> bool:
    if found is None:
        return True
    if cmd.skip_node_update:
        return False
    node = found.node
    return (cmd.id != node.id or fold(cmd.node) != fold(node.node) or cmd.address != node.address
            or cmd.datacenter != node.datacenter or dict(cmd.tagged_addresses) != dict(node.tagged_addresses)
            or dict(cmd.node_meta) != dict(node.meta))


def vet_register(caller: Caller, cmd: NodeRegister, store: StateStore) -> None:
    if not AclFilter(caller).active:
        return
    authz = caller.authz
    _, found = store.node_services(cmd.node) if cmd.node else (0, None)
    if changes_node(cmd, found):
        require(caller, authz.node_write(cmd.node), "node:write", cmd.node)
    services = found.services if found is not None else {}
    svc = cmd.service
    svc_id = (svc.id or svc.service) if svc is not None else ""
    if svc is not None:
        require(caller, authz.service_write(svc.service), "service:write", svc.service)
        other = services.get(svc_id)
        if other is not None:
            require(caller, authz.service_write(other.service), "service:write", other.service)
    for chk in cmd.checks:
        if chk.node and fold(chk.node) != fold(cmd.node):
            raise HTTPError(500, f"Node '{chk.node}' for check '{chk.check_id}' doesn't match register "
                                 f"request node '{cmd.node}'")
        if not chk.service_id:
            require(caller, authz.node_write(cmd.node), "node:write", cmd.node)
            continue
        if svc is not None and chk.service_id == svc_id:
            continue
        other = services.get(chk.service_id)
        if other is None:
            raise HTTPError(500, f"Unknown service ID '{chk.service_id}' for check ID '{chk.check_id}'")
        require(caller, authz.service_write(other.service), "service:write", other.service)


def vet_deregister(caller: Caller, body: Any, store: StateStore) -> None:
    """``body``: the decoded deregister request (``node``, ``service_id``, ``check_id``)."""
    if not AclFilter(caller).active:
        return
    authz = caller.authz
    if authz.node_write(body.node):
        return
    if body.service_id:
        svc = store.node_service(body.node, body.service_id)
        if svc is None:
            raise HTTPError(500, f"Unknown service ID '{body.service_id}'")
        require(caller, authz.service_write(svc.service), "service:write", svc.service)
    elif body.check_id:
        chk = store.node_check(body.node, body.check_id)
        if chk is None:
            raise HTTPError(500, f"Unknown check ID '{body.check_id}'")
        if chk.service_id:
            require(caller, authz.service_write(chk.service_name), "service:write", chk.service_name)
        else:
            require(caller, False, "node:write", body.node)
    else:
        require(caller, False, "node:write", body.node)


def vet_check_update(caller: Caller, cmd: CheckUpdate, store: StateStore) -> None:
    if not AclFilter(caller).active:
        return
    authz = caller.authz
    chk = store.node_check(cmd.node, cmd.check_id)
    if chk is not None and chk.service_id:
        require(caller, authz.service_write(chk.service_name), "service:write", chk.service_name)
    else:
        require(caller, authz.node_write(cmd.node), "node:write", cmd.node)


CATALOG_COMMANDS = (NodeRegister, NodeDeregister, CheckUpdate)


def vet_catalog_command(caller: Caller, cmd: Command, store: StateStore) -> None:
    """Raise Consul's 403 unless ``caller`` may apply ``cmd``, one of `CATALOG_COMMANDS`."""
    if isinstance(cmd, NodeRegister):
        vet_register(caller, cmd, store)
    elif isinstance(cmd, NodeDeregister):
        vet_deregister(caller, cmd, store)
    elif isinstance(cmd, CheckUpdate):
        vet_check_update(caller, cmd, store)
    else:
        raise TypeError(f"not a catalog command: {type(cmd).__name__}")
