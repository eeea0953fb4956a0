"""Playing the ``[[timeline]]``: each step at its time, one at a time, in time order.

What lives here: `Timeline.run()` and `StepRecord`. A step is due at ``t0 + at``, or, with ``after``, at
the end of the named step plus ``at``; due steps run one after the other (ties in file order), so a step
that takes long (a restart waiting for HTTP) delays the ones behind it rather than overlapping them.
Action steps that fail stop the timeline with `StepFailed`; ``check`` steps record a check result and the
timeline goes on. ``position`` and ``upcoming`` feed the live view.

What must never live here: what a step does (``steps.py``) or how a check is judged (``checks/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import trio

from .checks import CheckResult, make_check
from .checks.phases import budget_of, hold_within
from .context import RunContext
from .durations import parse_duration
from .schema_checks import EVENTUAL_KINDS
from .schema_steps import CheckStep, Step
from .steps import StepError, run_step


class StepFailed(Exception):
    pass


@dataclass
class StepRecord:
    name: str
    do: str
    planned: float | None
    t: float | None = None
    ok: bool | None = None
    nodes: list[str] = field(default_factory=list)
    detail: str = ""
    duration: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Timeline:
    def __init__(self, ctx: RunContext, steps: list[Step], names: list[str], poll: float) -> None:
        self.ctx = ctx
        self.steps = steps
        self.names = names
        self.poll = poll
        self.records = [StepRecord(n, s.__struct_config__.tag, None if s.after else parse_duration(s.at or 0))  # type: ignore[arg-type]
                        for n, s in zip(names, steps)]
        self.check_results: list[CheckResult] = []
        self.running: str | None = None
        self.finished = False

    def upcoming(self) -> str:
        for rec, step in zip(self.records, self.steps):
            if rec.t is None and rec.name != self.running:
                when = f"at {rec.planned:g}s" if rec.planned is not None else f"after {step.after}"
                return f"{rec.name} ({rec.do}) {when}"
        return "-"

    def _due(self, i: int, done: dict[str, float]) -> float | None:
        step = self.steps[i]
        offset = parse_duration(step.at) if step.at is not None else 0.0
        if step.after is None:
            return offset
        return None if step.after not in done else done[step.after] + offset

    async def run(self) -> None:
        pending = list(range(len(self.steps)))
        done: dict[str, float] = {}
        while pending:
            due = [(d, i) for i in pending if (d := self._due(i, done)) is not None]
            if not due:
                raise StepFailed("steps wait for steps that never ran: " + ", ".join(self.names[i] for i in pending))
            at, i = min(due)
            await trio.sleep_until(self.ctx.t0 + at)  # type: ignore[operator]
            pending.remove(i)
            await self._run_one(i)
            done[self.names[i]] = self.ctx.now()
        self.finished = True

    async def _run_one(self, i: int) -> None:
        step, rec = self.steps[i], self.records[i]
        rec.t = round(self.ctx.now(), 3)
        self.ctx.step_times[rec.name] = rec.t
        self.running = rec.name
        started = trio.current_time()
        try:
            if isinstance(step, CheckStep):
                check = make_check(step.check)
                budget = budget_of(check, None if check.kind in EVENTUAL_KINDS or check.spec.within else 0.0)
                result = await hold_within(self.ctx, check, budget, self.poll, "timeline")
                result.name = rec.name if step.name else result.name
                self.check_results.append(result)
                rec.ok, rec.detail = result.ok, result.detail
                self.ctx.event("check", f"{rec.name}: {result.status} {result.detail}", ok=bool(result.ok))
                return
            try:
                outcome = await run_step(self.ctx, step, rec.name)
            except StepError as exc:
                rec.ok, rec.detail = False, str(exc)
                self.ctx.event("step", f"{rec.name} ({rec.do}) FAILED: {exc}", ok=False)
                raise StepFailed(f"step {rec.name!r} ({rec.do}) failed: {exc}") from None
            rec.ok, rec.nodes, rec.detail = True, outcome.nodes, outcome.detail
            self.ctx.event("step", f"{rec.name}: {outcome.detail}")
        finally:
            rec.duration = round(trio.current_time() - started, 3)
            self.running = None
