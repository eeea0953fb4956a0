"""What every workload shares: its window in time, its clients' targets, its stats and its fatal error.

What lives here: `BaseWorkload`: ``run()`` waits for ``start``, calls ``body()`` until ``duration`` ends or
`stop(grace)` is called (clients finish the op in hand; whatever is still running after the grace is
cancelled, and an op cut off that way stays in flight in its history, i.e. indeterminate), and turns a missing endpoint into the workload's ``error`` (which fails the run with
that message) instead of a crash; ``metrics()`` and ``live_rate()`` for reports and the live view;
``pick_node`` rotates a client over its target nodes; `classify` maps an HTTP outcome to ok/fail/info.

What must never live here: any particular workload's operations.
"""

from __future__ import annotations

from typing import Any

import trio

from ..agent_api import AgentAPI, AgentError, MissingEndpoint
from ..context import RunContext
from ..durations import parse_duration
from ..schema_workloads import Workload
from ..stats import OpStats

# Answers that prove a write was not applied (Consul refuses before the Raft apply).
DEFINITE_REFUSALS = ("No cluster leader", "Permission denied", "rpc error making call: No cluster leader",
                     "No path to datacenter")  # ?dc=<other>: no server there could be reached, nothing sent


def classify_agent_error(exc: AgentError) -> str:
    """A 4xx or a known refusal is a definite ``fail``; any other 5xx may have been applied: ``info``."""
    if exc.status < 500 or any(text in exc.body for text in DEFINITE_REFUSALS):
        return "fail"
    return "info"


class BaseWorkload:
    def __init__(self, ctx: RunContext, spec: Workload, name: str) -> None:
        self.ctx = ctx
        self.spec = spec
        self.name = name
        self.kind: str = spec.__struct_config__.tag  # type: ignore[assignment]
        self.stats = OpStats()
        self.error: str | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.stopping = False
        self.start = parse_duration(spec.start)
        self.duration = None if spec.duration is None else parse_duration(spec.duration)
        self.nodes: list[str] = []
        self._scope: trio.CancelScope | None = None

    @property
    def bounded(self) -> bool:
        return self.duration is not None

    def api(self, node: str) -> AgentAPI:
        return self.ctx.launcher.node(node).api

    def pick_node(self, client: int, attempt: int) -> str:
        return self.nodes[(client + attempt) % len(self.nodes)]

    async def run(self) -> None:
        await trio.sleep_until(self.ctx.t0 + self.start)  # type: ignore[operator]
        self.nodes = await self.ctx.resolve(self.spec.targets, self.ctx.stream(f"workload:{self.name}:targets"))
        self.started_at = self.ctx.now()
        self.ctx.event("workload", f"{self.name} ({self.kind}) started on {', '.join(self.nodes)}")
        try:
            with trio.CancelScope() as self._scope:
                if self.duration is not None:
                    self._scope.deadline = trio.current_time() + self.duration
                if self.stopping:
                    self._scope.cancel()
                await self.body()
        except MissingEndpoint as exc:
            self.error = str(exc)
            self.ctx.event("workload", f"{self.name} stopped: {exc}", ok=False)
        finally:
            self.ended_at = self.ctx.now()
        if self.error is None:
            self.ctx.event("workload", f"{self.name} finished")

    def stop(self, grace: float) -> None:
        """Let clients finish the op in hand (no new ones start), and cancel what is left after `grace`."""
        self.stopping = True
        if self._scope is not None:
            self._scope.deadline = min(self._scope.deadline, trio.current_time() + grace)

    @property
    def stop_grace(self) -> float:
        return 5.0

    async def body(self) -> None:
        raise NotImplementedError

    def active_seconds(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else self.ctx.now()
        return max(end - self.started_at, 1e-9)

    def metrics(self) -> dict[str, Any]:
        return self.stats.summary(self.active_seconds())

    def metrics_between(self, start: float, end: float) -> dict[str, Any]:
        """`metrics` over the ops that ended between ``start`` and ``end`` (Trio times), clipped to the
        workload's own run."""
        if self.started_at is not None:
            start = max(start, self.ctx.t0 + self.started_at)  # type: ignore[operator]
        if self.ended_at is not None:
            end = min(end, self.ctx.t0 + self.ended_at)  # type: ignore[operator]
        return self.stats.summary_between(start, max(start, end))

    def live_rate(self) -> float:
        return self.stats.recent_rate(trio.current_time())
