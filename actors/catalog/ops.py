"""The anti-entropy operations, and the state-store command each one becomes.

What lives here: one small record per thing the syncer may do to this node's catalog entry
(`RegisterNode`, `RegisterService`, `RegisterCheck`, `UpdateCheck`, `DeregisterService`,
`DeregisterCheck`), the `Op` union, and `to_command`, which turns an op into the `NodeRegister` /
`NodeDeregister` / `CheckUpdate` the backend commits. Service and check registrations carry the node's
facts with ``skip_node_update`` so they also create the node if it vanished, without overwriting it.

What must never live here: deciding which ops to run (``diff``) or running them (``syncer``).
"""

from __future__ import annotations

from typing import NamedTuple

from actors.state.commands import CheckUpdate, Command, NodeDeregister, NodeRegister
from actors.state.models import HealthCheck, Node, NodeService


class RegisterNode(NamedTuple):
    pass


class RegisterService(NamedTuple):
    service: NodeService


class RegisterCheck(NamedTuple):
    check: HealthCheck


class UpdateCheck(NamedTuple):
    check_id: str
    status: str
    output: str


class DeregisterService(NamedTuple):
    service_id: str


class DeregisterCheck(NamedTuple):
    check_id: str


Op = RegisterNode | RegisterService | RegisterCheck | UpdateCheck | DeregisterService | DeregisterCheck


def _register(node: Node, **extra: object) -> NodeRegister:
    return NodeRegister(node=node.node, address=node.address, id=node.id, datacenter=node.datacenter,
                        tagged_addresses=dict(node.tagged_addresses), node_meta=dict(node.meta), **extra)


def to_command(op: Op, node: Node) -> Command:
    if isinstance(op, RegisterNode):
        return _register(node)
    if isinstance(op, RegisterService):
        return _register(node, service=op.service, skip_node_update=True)
    if isinstance(op, RegisterCheck):
        return _register(node, checks=[op.check], skip_node_update=True)
    if isinstance(op, UpdateCheck):
        return CheckUpdate(node=node.node, check_id=op.check_id, status=op.status, output=op.output)
    if isinstance(op, DeregisterService):
        return NodeDeregister(node=node.node, service_id=op.service_id)
    return NodeDeregister(node=node.node, check_id=op.check_id)
