"""Which services to deregister because a check of theirs stayed critical too long.

What lives here: `services_to_reap`, pure: a service check with ``DeregisterCriticalServiceAfter`` that has
been critical for longer than that (raised to a floor of one minute, as Consul does) gets its whole
service removed from the agent. Runs every ``check_reap_interval`` (``reaper``).

What must never live here: the removal itself, or timers.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from actors.local.records import LocalCheck
from actors.local.state import CheckMarks
from actors.state.models import CRITICAL


def services_to_reap(checks: Iterable[LocalCheck], marks: Mapping[str, CheckMarks], now: float,
                     minimum: float) -> list[str]:
    doomed: set[str] = set()
    for check in checks:
        spec = check.spec
        if not check.service_id or spec is None or spec.deregister_critical_service_after <= 0:
            continue
        mark = marks.get(check.id)
        if check.status != CRITICAL or mark is None or mark.critical_since is None:
            continue
        if now - mark.critical_since > max(spec.deregister_critical_service_after, minimum):
            doomed.add(check.service_id)
    return sorted(doomed)
