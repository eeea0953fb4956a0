"""Checks: one class per ``kind``, built from the file's specs by `make_check`.

What lives here: the table from spec type to class. The probes live in ``cluster.py`` (leader,
membership), ``state.py`` (KV values, health, DNS, actor restarts), ``history.py`` (linearizability,
lost writes) and ``metrics.py``; ``base.py`` has the shared types and ``phases.py`` decides when they run.

What must never live here: probes themselves.
"""

from __future__ import annotations

from ..schema_checks import (ActorRestarts, CheckSpec, DNSAnswers, HealthIs, KVEquals, LeaderWithin, Linearizable,
                             MemberFailedWithin, MembersConvergeWithin, Metric, NoAcknowledgedWriteLost, as_check)
from .base import BaseCheck, CheckResult, Verdict
from .cluster import LeaderCheck, MemberFailed, MembersConverge
from .history import LinearizableCheck, NoWriteLostCheck
from .metrics import MetricCheck
from .state import ActorRestartsCheck, DNSAnswersCheck, HealthIsCheck, KVEqualsCheck

_CLASSES: dict[type, type[BaseCheck]] = {
    LeaderWithin: LeaderCheck,
    MembersConvergeWithin: MembersConverge,
    MemberFailedWithin: MemberFailed,
    KVEquals: KVEqualsCheck,
    Linearizable: LinearizableCheck,
    NoAcknowledgedWriteLost: NoWriteLostCheck,
    HealthIs: HealthIsCheck,
    DNSAnswers: DNSAnswersCheck,
    ActorRestarts: ActorRestartsCheck,
    Metric: MetricCheck,
}


def make_check(spec: CheckSpec) -> BaseCheck:
    check = as_check(spec)
    return _CLASSES[type(check)](check)


__all__ = ["BaseCheck", "CheckResult", "Verdict", "make_check"]
