"""The ``metric`` check: a workload measurement within ``min``/``max`` (benchmarks are scenarios too).

What lives here: `MetricCheck`, reading the workload's summary (``stats.py``: ``throughput`` in ok ops/s,
``p50``/``p90``/``p99``/``max`` in ms, counts, ``wakeups``/``regressions``/``flips``), optionally for one
op (``write.p99``).

What must never live here: measuring (workloads do).
"""

from __future__ import annotations

from ..context import RunContext
from ..schema_checks import Metric
from .base import BaseCheck, Verdict


class MetricCheck(BaseCheck):
    spec: Metric
    continuous = False

    async def probe(self, ctx: RunContext) -> Verdict:
        spec = self.spec
        workload = ctx.workloads.get(spec.workload)
        if workload is None:
            return Verdict(False, f"workload {spec.workload!r} did not run")
        if workload.error:
            return Verdict(False, f"{spec.workload}: {workload.error}")
        key = f"{spec.op}.{spec.metric}" if spec.op else spec.metric
        metrics = workload.metrics()
        if key not in metrics:
            return Verdict(False, f"{spec.workload} has no measurement {key!r} (it has {', '.join(sorted(metrics))})")
        value = metrics[key]
        unit = " ms" if spec.metric in ("p50", "p90", "p99", "max") else (" ops/s" if spec.metric == "throughput" else "")
        bounds = []
        if spec.min is not None and value < spec.min:
            bounds.append(f">= {spec.min:g}")
        if spec.max is not None and value > spec.max:
            bounds.append(f"<= {spec.max:g}")
        if bounds:
            return Verdict(False, f"{spec.workload} {key} = {value:g}{unit}, expected {' and '.join(bounds)}")
        return Verdict(True, f"{spec.workload} {key} = {value:g}{unit}")
