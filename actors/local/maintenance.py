"""Maintenance mode as Consul models it: synthetic critical checks on the node or on one service.

What lives here: the builders of the ``_node_maintenance`` and ``_service_maintenance:<id>`` checks
(critical, type ``maintenance``, the reason as ``Notes`` or Consul's default sentence). Because they are
ordinary checks, they persist, sync to the catalog and take the instance out of ``?passing`` answers
with no special casing anywhere else.

What must never live here: deciding whether the service exists or enabling anything (``local_agent``).
"""

from __future__ import annotations

from actors.state.models import CRITICAL

from .records import MAINTENANCE_TYPE, NODE_MAINT_CHECK_ID, SOURCE_API, LocalCheck, service_maint_check_id

DEFAULT_NODE_REASON = (
    "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
)
DEFAULT_SERVICE_REASON = (
    "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
)


def node_maintenance_check(reason: str) -> LocalCheck:
    return LocalCheck(
        id=NODE_MAINT_CHECK_ID,
        name="Node Maintenance Mode",
        status=CRITICAL,
        initial_status=CRITICAL,
        notes=reason or DEFAULT_NODE_REASON,
        type=MAINTENANCE_TYPE,
        source=SOURCE_API,
    )


def service_maintenance_check(service_id: str, reason: str) -> LocalCheck:
    return LocalCheck(
        id=service_maint_check_id(service_id),
        name="Service Maintenance Mode",
        status=CRITICAL,
        initial_status=CRITICAL,
        notes=reason or DEFAULT_SERVICE_REASON,
        service_id=service_id,
        type=MAINTENANCE_TYPE,
        source=SOURCE_API,
    )
