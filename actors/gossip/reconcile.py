"""The leader's catalog reconciliation from LAN gossip, as a pure plan (Consul's ``leader.go`` reconcile).

`plan_serf_health(members, catalog_nodes, ...)` returns the state-store commands that make the catalog
agree with gossip, writing only what differs (so running it every few seconds is cheap):

- alive member → the node registered at its address with the ``serfHealth`` check *passing*,
  "Agent alive and reachable"; a server (``role=consul`` of our datacenter) also gets its ``consul``
  service on the RPC port from the ``port`` tag;
- failed member → ``serfHealth`` *critical*, "Agent not live or unreachable" (registering the node if
  the catalog lacks it, as Consul does);
- left member → the node is deregistered;
- a catalog node that carries a ``serfHealth`` check but is no longer a member at all (reaped, or pruned
  with force-leave) → deregistered; nodes registered without ``serfHealth`` (external services) are
  never touched;
- *leaving* members and members without a Consul role are left alone; the leader never deregisters
  itself (``self_node``).

What lives here: `CatalogNode` (what the plan needs to know about a catalog node), `catalog_nodes_from_store`
(builds them from a `StateStore`), `plan_serf_health`, and the check texts.

What must never live here: IO, clocks, or proposing the commands (the Raft leader does that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

import msgspec

from actors.gossip.members import SerfMember
from actors.gossip.tags import server_info
from actors.state.commands import NodeDeregister, NodeRegister
from actors.state.models import CRITICAL, PASSING, SERF_CHECK_ID, HealthCheck, NodeService
from actors.version import CONSUL_COMPAT_VERSION

if TYPE_CHECKING:
    from actors.state.store import StateStore

SERF_CHECK_NAME = "Serf Health Status"
SERF_ALIVE_OUTPUT = "Agent alive and reachable"
SERF_FAILED_OUTPUT = "Agent not live or unreachable"
CONSUL_SERVICE = "consul"


class CatalogNode(msgspec.Struct, frozen=True, kw_only=True):
    """A catalog node as reconciliation sees it: its address, its ``serfHealth`` status (None when the
    node has no such check) and the port of its ``consul`` service (None when it has none)."""

    name: str
    address: str
    serf_status: str | None = None
    consul_port: int | None = None


Op = NodeRegister | NodeDeregister


def catalog_nodes_from_store(store: "StateStore") -> dict[str, CatalogNode]:
    _, nodes = store.nodes()
    out = {}
    for node in nodes:
        check = store.node_check(node.node, SERF_CHECK_ID)
        service = store.node_service(node.node, CONSUL_SERVICE)
        out[node.node] = CatalogNode(name=node.node, address=node.address,
                                     serf_status=check.status if check is not None else None,
                                     consul_port=service.port if service is not None else None)
    return out


def _consul_service(port: int) -> NodeService:
    return NodeService(id=CONSUL_SERVICE, service=CONSUL_SERVICE, tags=[], port=port,
                       meta={"raft_version": "3", "serf_protocol_current": "2", "serf_protocol_max": "5",
                             "serf_protocol_min": "1", "version": CONSUL_COMPAT_VERSION})


def _register(member: SerfMember, status: str, output: str, service: NodeService | None,
              datacenter: str) -> NodeRegister:
    check = HealthCheck(node=member.name, check_id=SERF_CHECK_ID, name=SERF_CHECK_NAME, status=status, output=output)
    return NodeRegister(node=member.name, address=member.address, id=member.tags.get("id", ""),
                        datacenter=datacenter, service=service, checks=[check])


def plan_serf_health(members: Iterable[SerfMember], catalog_nodes: Mapping[str, CatalogNode], *,
                     datacenter: str = "", self_node: str = "") -> list[Op]:
    """The commands that bring the catalog in line with the LAN members (see the module docstring)."""
    ops: list[Op] = []
    seen: set[str] = set()
    for member in members:
        seen.add(member.name)
        role = member.tags.get("role")
        if role not in ("consul", "node"):
            continue
        node = catalog_nodes.get(member.name)
        if member.status == "alive":
            service = None
            info = server_info(member.name, member.address, member.tags, member.status)
            if info is not None and (not datacenter or info.datacenter == datacenter):
                service = _consul_service(info.port)
            up_to_date = (node is not None and node.address == member.address and node.serf_status == PASSING
                          and (service is None or node.consul_port == service.port))
            if not up_to_date:
                ops.append(_register(member, PASSING, SERF_ALIVE_OUTPUT, service, datacenter))
        elif member.status == "failed":
            if node is None or node.address != member.address or node.serf_status != CRITICAL:
                ops.append(_register(member, CRITICAL, SERF_FAILED_OUTPUT, None, datacenter))
        elif member.status == "left":
            if node is not None and member.name != self_node:
                ops.append(NodeDeregister(node=member.name))
    for name, node in catalog_nodes.items():
        if name not in seen and node.serf_status is not None and name != self_node:
            ops.append(NodeDeregister(node=name))
    return ops
