"""When checks run: safety throughout, liveness within a budget, whole-run checks at the end.

What lives here:

- `hold_within(ctx, check, budget, poll, phase)`: probe until the check holds or the budget is spent
  (liveness checks after the last timeline step, and timeline ``check`` steps); a missing endpoint ends
  the wait at once, since waiting cannot make it appear;
- `SafetyWatch`: probes every continuous safety check every ``poll`` while the run goes on and keeps the
  first violation of each (an unreachable agent is no observation, not a violation); `finish()` then
  probes each once more (and runs the whole-run ones, ``no-acknowledged-write-lost`` last since it
  restarts the cluster) and returns their results;
- `budget_of(check)`: the ``within`` of a check, or its default.

What must never live here: probes (the check classes) or deciding the phases' order (``runner.py``).
"""

from __future__ import annotations

import trio

from ..context import RunContext
from ..durations import format_duration, parse_duration
from ..schema_checks import DEFAULT_WITHIN, DEFAULT_WITHIN_ANY
from .base import BaseCheck, CheckResult, Verdict


def budget_of(check: BaseCheck, default: float | None = None) -> float:
    if check.spec.within is not None:
        return parse_duration(check.spec.within)
    if default is not None:
        return default
    return DEFAULT_WITHIN.get(check.kind, DEFAULT_WITHIN_ANY)


def result_of(check: BaseCheck, phase: str, verdict: Verdict, at: float, elapsed: float | None = None) -> CheckResult:
    return CheckResult(check.name, check.kind, phase, verdict.ok, verdict.detail, round(at, 3),
                       None if elapsed is None else round(elapsed, 3), verdict.report, verdict.data)


async def hold_within(ctx: RunContext, check: BaseCheck, budget: float, poll: float, phase: str) -> CheckResult:
    started = trio.current_time()
    deadline = started + budget
    while True:
        verdict = await check.guarded_probe(ctx)
        now = trio.current_time()
        if verdict.ok:
            verdict.detail += f" (held after {format_duration(now - started)})"
            return result_of(check, phase, verdict, ctx.now(), now - started)
        if verdict.data.get("missing_endpoint") or now >= deadline:
            if budget > 0 and not verdict.data.get("missing_endpoint"):
                verdict.detail = f"not within {format_duration(budget)}: {verdict.detail}"
            verdict.ok = False
            return result_of(check, phase, verdict, ctx.now(), now - started)
        await trio.sleep(min(poll, max(deadline - now, 0.0)))


class SafetyWatch:
    def __init__(self, ctx: RunContext, checks: list[BaseCheck], poll: float) -> None:
        self.ctx = ctx
        self.checks = checks
        self.poll = poll
        self.violations: dict[str, CheckResult] = {}

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            for check in self.checks:
                if check.continuous and check.name not in self.violations:
                    verdict = await check.guarded_probe(self.ctx)
                    if verdict.ok is False:
                        self.violations[check.name] = result_of(check, "safety", verdict, self.ctx.now())
                        self.ctx.event("check", f"safety check {check.name} violated: {verdict.detail}", ok=False)
            await trio.sleep(self.poll)

    async def finish(self) -> list[CheckResult]:
        results: list[CheckResult] = []
        ordered = sorted(self.checks, key=lambda c: c.kind == "no-acknowledged-write-lost")
        for check in ordered:
            if check.name in self.violations:
                results.append(self.violations[check.name])
                continue
            self.ctx.event("check", f"judging {check.name}")
            results.append(result_of(check, "safety", await check.guarded_probe(self.ctx), self.ctx.now()))
        return results
