"""Which service instances DNS may hand out, and the SRV weight of each.

What lives here: `visible` (Consul's ``CheckServiceNodes.Filter``: an instance with any critical
check, node-level or its own, is never returned, which covers node and service maintenance since those
are critical checks; with ``only_passing`` anything not passing is dropped too) and `srv_weight`
(``Weights.Warning`` when a check warns, ``Weights.Passing`` otherwise, as Consul's ``findWeight``).

What must never live here: record building or store access; these look at one `ServiceEntry`.
"""

from __future__ import annotations

from actors.state.models import CRITICAL, PASSING, WARNING, ServiceEntry


def visible(entry: ServiceEntry, only_passing: bool) -> bool:
    for check in entry.checks:
        if check.status == CRITICAL or (only_passing and check.status != PASSING):
            return False
    return True


def srv_weight(entry: ServiceEntry) -> int:
    weights = entry.service.weights
    if any(check.status == WARNING for check in entry.checks):
        return weights.warning
    return weights.passing
