"""Status folding: from one probe result to the status a check reports, with Consul's hysteresis.

What lives here: `Thresholds` (``SuccessBeforePassing``, ``FailuresBeforeWarning``,
``FailuresBeforeCritical``), `Counters` (consecutive successes and failures so far) and `fold`, a pure
function mirroring Consul's ``StatusHandler``:

* a passing or warning result counts as a success (and resets the failures); it is reported once
  ``successes >= success_before_passing``, otherwise nothing is reported and the check keeps its status;
* a critical result counts as a failure (and resets the successes); it is reported as critical once
  ``failures >= failures_before_critical``, else as *warning* once ``failures >= failures_before_warning``,
  else nothing is reported.

``failures_before_warning`` left at 0 takes the value of ``failures_before_critical``, as in Consul, so a
check without thresholds reports every result as it is.

What must never live here: probing, time, or Trio.
"""

from __future__ import annotations

from typing import NamedTuple

from actors.state.models import CRITICAL, PASSING, WARNING


class Thresholds(NamedTuple):
    success_before_passing: int = 0
    failures_before_warning: int = 0
    failures_before_critical: int = 0

    @classmethod
    def of(cls, success_before_passing: int, failures_before_warning: int, failures_before_critical: int
           ) -> "Thresholds":
        return cls(success_before_passing, failures_before_warning or failures_before_critical,
                   failures_before_critical)


class Counters(NamedTuple):
    successes: int = 0
    failures: int = 0


def fold(counters: Counters, thresholds: Thresholds, result: str) -> tuple[Counters, str | None]:
    """The new counters and the status to report for ``result`` (None: report nothing)."""
    if result in (PASSING, WARNING):
        counters = Counters(successes=counters.successes + 1, failures=0)
        if counters.successes >= thresholds.success_before_passing:
            return counters, result
        return counters, None
    counters = Counters(successes=0, failures=counters.failures + 1)
    if counters.failures >= thresholds.failures_before_critical:
        return counters, CRITICAL
    if counters.failures >= thresholds.failures_before_warning:
        return counters, WARNING
    return counters, None
