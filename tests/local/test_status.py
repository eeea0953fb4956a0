"""Status folding (Consul's StatusHandler hysteresis) as a table: thresholds, result sequence, reports."""

from __future__ import annotations

import pytest

from actors.health.status import Counters, Thresholds, fold

P, W, C = "passing", "warning", "critical"


def run(thresholds: Thresholds, results: list[str]) -> list[str | None]:
    counters, reports = Counters(), []
    for result in results:
        counters, report = fold(counters, thresholds, result)
        reports.append(report)
    return reports


@pytest.mark.parametrize(
    ("thresholds", "results", "reports"),
    [
        # No thresholds: every result is reported as it is.
        (Thresholds.of(0, 0, 0), [P, C, W, C, P], [P, C, W, C, P]),
        # SuccessBeforePassing 3: passing (and warning) only after three successes in a row.
        (Thresholds.of(3, 0, 0), [P, P, P, P], [None, None, P, P]),
        (Thresholds.of(3, 0, 0), [P, P, C, P, P, P], [None, None, C, None, None, P]),
        (Thresholds.of(2, 0, 0), [W, W], [None, W]),
        # FailuresBeforeCritical 3 (warning threshold follows it when unset): nothing, nothing, critical.
        (Thresholds.of(0, 0, 3), [C, C, C, C], [None, None, C, C]),
        (Thresholds.of(0, 0, 3), [C, C, P, C, C, C], [None, None, P, None, None, C]),
        # FailuresBeforeWarning 1 with FailuresBeforeCritical 3: warning first, then critical.
        (Thresholds.of(0, 1, 3), [C, C, C], [W, W, C]),
        (Thresholds.of(0, 2, 4), [C, C, C, C, P], [None, W, W, C, P]),
        # Both directions at once.
        (Thresholds.of(2, 0, 2), [C, C, P, P, C, P, C, C], [None, C, None, P, None, None, None, C]),
    ],
)
def test_fold_table(thresholds: Thresholds, results: list[str], reports: list[str | None]) -> None:
    assert run(thresholds, results) == reports


def test_unset_warning_threshold_follows_critical() -> None:
    assert Thresholds.of(0, 0, 5).failures_before_warning == 5
    assert Thresholds.of(0, 2, 5).failures_before_warning == 2
