"""Both sides of the anti-entropy comparison: the catalog entry the agent wants, and the one it has.

What lives here: `node_facts` (this agent's node as the catalog should hold it, the same facts a server
registers for itself), `desired_view` (local state → `Desired`, through the catalog renderings of
``actors.local.views``) and `remote_view` (the store's records for this node → `Remote`).

What must never live here: the comparison (``diff``), writes, or Trio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.api.self_register import self_registration
from actors.local.state import LocalState
from actors.local.views import catalog_check, catalog_service
from actors.state.models import HealthCheck, Node, NodeServices
from actors.state.store import StateStore

from .diff import Desired, Remote

if TYPE_CHECKING:
    from actors.context import AgentContext


def node_facts(ctx: "AgentContext") -> Node:
    reg = self_registration(ctx)
    return Node(id=reg.id, node=reg.node, address=reg.address, datacenter=reg.datacenter,
                tagged_addresses=dict(reg.tagged_addresses), meta=dict(reg.node_meta))


def desired_view(state: LocalState, node: Node) -> Desired:
    services = {sid: catalog_service(svc) for sid, svc in state.services.items()}
    checks = {cid: catalog_check(chk, node.node, state.services) for cid, chk in state.checks.items()}
    return Desired(node=node, services=services, checks=checks)


def remote_view(store: StateStore, node_name: str) -> Remote:
    _, entry = store.node_services(node_name)
    _, checks = store.node_checks(node_name)
    if entry is None:
        return Remote(node=None, services={}, checks={c.check_id: c for c in checks})
    return Remote(node=entry.node, services=dict(entry.services), checks={c.check_id: c for c in checks})


def remote_view_of(services: NodeServices | None, checks: list[HealthCheck]) -> Remote:
    """`remote_view` from records fetched elsewhere (a client agent asks a server for them)."""
    by_id = {c.check_id: c for c in checks}
    if services is None:
        return Remote(node=None, services={}, checks=by_id)
    return Remote(node=services.node, services=dict(services.services), checks=by_id)
