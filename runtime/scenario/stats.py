"""Measurements of a workload: counts, latency percentiles and throughput, overall and per operation.

What lives here: `OpStats.record(op, outcome, latency, t)` and `OpStats.summary(active_seconds)`, which
gives ``ok``/``fail``/``info``/``errors`` counts, ``throughput`` (ok ops per second) and ``p50``, ``p90``,
``p99``, ``max`` latencies in milliseconds (nearest rank, over ok ops), plus the same keys prefixed by
the operation (``write.p99``); `recent_rate(now)` is the ok rate over the last second, for the live view.

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

    def record(self, op: str, outcome: Outcome, latency: float, t: float) -> None:
        counts = self.counts.setdefault(op, {"ok": 0, "fail": 0, "info": 0})
        counts[outcome] += 1
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
        return out


def _latency(values: list[float], prefix: str) -> dict[str, float]:
    out = {f"{prefix}{name}": round(percentile(values, pct) * 1000, 3) for name, pct in PERCENTILES}
    out[f"{prefix}max"] = round(values[-1] * 1000, 3) if values else 0.0
    return out
