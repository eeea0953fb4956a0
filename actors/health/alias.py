"""The alias check's rule: mirror the worst status of another service's (or node's) checks.

What lives here: `alias_result`, a pure function over the checks of the aliased node (local records or
catalog records: anything with ``name``, ``status``, ``output`` and ``service_id``), worded as Consul's
``CheckAlias``: ``All checks passing.``, ``No checks found.``, ``Aliased check "<name>" failing:
<output>`` (critical wins over warning), or critical ``Service <id> could not be found on node <node>``.
Node-level checks count for every alias; service-level checks only for the aliased service.

What must never live here: watching for changes (``checker``) or state updates.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from actors.state.models import CRITICAL, PASSING, WARNING

from .result import ProbeResult, critical


class CheckLike(Protocol):
    name: str
    status: str
    output: str
    service_id: str


def alias_result(checks: Iterable[CheckLike], service_id: str, service_exists: bool, node: str) -> ProbeResult:
    health, message = PASSING, "No checks found."
    found = False
    for check in checks:
        matches = bool(service_id) and check.service_id == service_id
        if check.service_id and not matches:
            continue
        found = found or matches
        if check.status in (CRITICAL, WARNING):
            health, message = check.status, f'Aliased check "{check.name}" failing: {check.output}'
            if check.status == CRITICAL:
                break
        elif health == PASSING:
            message = "All checks passing."
    if service_id and not found and not service_exists:
        return critical(f"Service {service_id} could not be found on node {node}")
    return ProbeResult(health, message)
