"""The health checker's timing knobs, with Consul's values as defaults.

What lives here: `HealthTimings` (one frozen record handed to the health subtree) and `effective_interval`
/ `effective_timeout`, which apply the floors and defaults to a check's own values. Tests shrink the
floors to keep real-socket checks fast; the agent always uses the defaults.

What must never live here: probing or status logic.
"""

from __future__ import annotations

import msgspec

from actors.local.records import CheckSpec


class HealthTimings(msgspec.Struct, frozen=True, kw_only=True):
    min_interval: float = 1.0  # s; Consul's MinInterval: shorter check intervals are raised to this
    default_timeout: float = 10.0  # s; HTTP/TCP/UDP/gRPC checks without a Timeout
    script_timeout: float = 30.0  # s; script checks without a Timeout
    reap_interval: float = 30.0  # s; Consul's check_reap_interval (DeregisterCriticalServiceAfter sweep)
    deregister_min: float = 60.0  # s; DeregisterCriticalServiceAfter below this is raised to it


def effective_interval(spec: CheckSpec, timings: HealthTimings) -> float:
    return max(spec.interval, timings.min_interval)


def effective_timeout(spec: CheckSpec, timings: HealthTimings) -> float:
    if spec.timeout > 0:
        return spec.timeout
    return timings.script_timeout if spec.args else timings.default_timeout
