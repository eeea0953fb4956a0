"""Measurements of a workload: counts, latency percentiles and throughput, overall and per operation.

What lives here: `OpStats.record(op, outcome, latency, t)` and `OpStats.summary(active_seconds)`, which
gives ``ok``/``fail``/``info``/``errors`` counts, ``throughput`` (ok ops per second) and ``p50``, ``p90``,
``p99``, ``max`` latencies in milliseconds (nearest rank, over ok ops), plus the same keys prefixed by
the operation (``write.p99``), and ``fail_p50``...``fail_max``, the latencies of the ops that did not
succeed (how fast a refusal comes back; workloads that do not time their failures record 0);
`summary_between(start, end)` is the same over the ops that ended in that window (times as recorded);
`recent_rate(now)` is the ok rate over the last second, for the live view.

What must never live here: timing of its own (callers pass times) or printing.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

Outcome = Literal["ok", "fail", "info"]
PERCENTILES = (("p50", 50), ("p90", 90), ("p99", 99))
WINDOW = 1.0


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class OpStats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self._recent: deque[float] = deque()
        self.extra: dict[str, float] = {}
        self.fail_latencies: list[float] = []
        self.samples: list[tuple[float, str, Outcome, float]] = []  # (t, op, outcome, latency)

    def record(self, op: str, outcome: Outcome, latency: float, t: float) -> None:
        counts = self.counts.setdefault(op, {"ok": 0, "fail": 0, "info": 0})
        counts[outcome] += 1
        self.samples.append((t, op, outcome, latency))
        if outcome != "ok":
            self.fail_latencies.append(latency)
        if outcome == "ok":
            self.latencies.setdefault(op, []).append(latency)
            self._recent.append(t)

    def recent_rate(self, now: float) -> float:
        while self._recent and self._recent[0] < now - WINDOW:
            self._recent.popleft()
        return len(self._recent) / WINDOW

    def summary(self, active_seconds: float) -> dict[str, float]:
        out: dict[str, float] = dict(self.extra)
        total = {"ok": 0, "fail": 0, "info": 0}
        for op, counts in sorted(self.counts.items()):
            for key, value in counts.items():
                total[key] += value
                out[f"{op}.{key}"] = value
            out.update(_latency(sorted(self.latencies.get(op, [])), f"{op}."))
            out[f"{op}.throughput"] = round(counts["ok"] / active_seconds, 2) if active_seconds > 0 else 0.0
        out.update(total)
        out["errors"] = total["fail"] + total["info"]
        out["throughput"] = round(total["ok"] / active_seconds, 2) if active_seconds > 0 else 0.0
        out.update(_latency(sorted(v for vs in self.latencies.values() for v in vs), ""))
        out.update(_latency(sorted(self.fail_latencies), "fail_"))
        return out

    def summary_between(self, start: float, end: float) -> dict[str, float]:
        """`summary` over the ops recorded with ``start <= t <= end`` (throughput over that span)."""
        window = OpStats()
        for t, op, outcome, latency in self.samples:
            if start <= t <= end:
                window.record(op, outcome, latency, t)
        return window.summary(max(end - start, 1e-9))


def _latency(values: list[float], prefix: str) -> dict[str, float]:
    out = {f"{prefix}{name}": round(percentile(values, pct) * 1000, 3) for name, pct in PERCENTILES}
    out[f"{prefix}max"] = round(values[-1] * 1000, 3) if values else 0.0
    return out
