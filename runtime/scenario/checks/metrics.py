"""The ``metric`` check: a workload measurement within ``min``/``max`` (benchmarks are scenarios too).

What lives here: `MetricCheck`, reading the workload's summary (``stats.py``: ``throughput`` in ok ops/s,
``p50``/``p90``/``p99``/``max`` and ``fail_*`` in ms, counts, ``wakeups``/``regressions``/``flips``),
optionally for one op (``write.p99``), over the whole run or the window ``since``..``until`` (moments
resolved against the steps' start times the timeline recorded; a step that never ran fails the check).

What must never live here: measuring (workloads do).
"""

from __future__ import annotations

from ..context import RunContext
from ..durations import parse_moment
from ..schema_checks import Metric
from .base import BaseCheck, Verdict


def moment(ctx: RunContext, text: str | None, default: float) -> float | str:
    """Seconds since the start of the run for ``text`` (``default`` if None), or why it has none."""
    if text is None:
        return default
    step, offset = parse_moment(text)
    if step is None:
        return offset
    started = ctx.step_times.get(step)
    if started is None:
        return f"step {step!r} never ran"
    return started + offset


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
        window = ""
        if spec.since is None and spec.until is None:
            metrics = workload.metrics()
        else:
            start, end = moment(ctx, spec.since, 0.0), moment(ctx, spec.until, ctx.now())
            if isinstance(start, str) or isinstance(end, str):
                return Verdict(False, f"{spec.workload}: no window, {start if isinstance(start, str) else end}")
            metrics = workload.metrics_between(ctx.t0 + start, ctx.t0 + end)  # type: ignore[operator]
            window = f" in {start:.1f}s..{end:.1f}s"
        if key not in metrics:
            return Verdict(False, f"{spec.workload} has no measurement {key!r} (it has {', '.join(sorted(metrics))})")
        value = metrics[key]
        unit = " ms" if spec.metric in ("p50", "p90", "p99", "max") or spec.metric.startswith("fail_") else (" ops/s" if spec.metric == "throughput" else "")
        bounds = []
        if spec.min is not None and value < spec.min:
            bounds.append(f">= {spec.min:g}")
        if spec.max is not None and value > spec.max:
            bounds.append(f"<= {spec.max:g}")
        if bounds:
            return Verdict(False, f"{spec.workload} {key} = {value:g}{unit}{window}, expected {' and '.join(bounds)}")
        return Verdict(True, f"{spec.workload} {key} = {value:g}{unit}{window}")
