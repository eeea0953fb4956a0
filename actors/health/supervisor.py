"""The ``health`` supervisor: one child actor per runnable check, kept in step with the local state.

What lives here: `HealthSupervisor`, a `Supervisor` (one_for_one) whose fixed child is the ``reaper`` and
whose ``check:<id>`` children come and go with the checks: on every service or check definition change
it reconciles the running children with the state (start the new ones, stop the removed ones, restart
those whose definition changed). A check actor that crashes is restarted alone; its siblings never
notice. The restart intensity is generous because one broken check must not take the others down.

What must never live here: running checks (``checker``) or the supervision mechanics
(``runtime.supervisor``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import trio

from actors.local.local_agent import LocalAgent
from actors.local.records import CheckSpec
from actors.local.state import Change
from runtime.supervisor import ChildSpec, RestartPolicy, Supervisor

from .checker import CheckActor, actor_for
from .reaper import Reaper
from .timing import HealthTimings

HEALTH_POLICY = RestartPolicy(strategy="one_for_one", max_restarts=50, within_seconds=60.0,
                              backoff_initial=0.1, backoff_max=5.0)


def child_name(check_id: str) -> str:
    """The tree name of a check's actor (``/`` separates tree paths, so it is escaped)."""
    return "check:" + check_id.replace("%", "%25").replace("/", "%2F")


Wanted = tuple[type[CheckActor], str, CheckSpec]


class HealthSupervisor(Supervisor):
    kind: ClassVar[str] = "health"

    def __init__(self, local: LocalAgent, timings: HealthTimings | None = None) -> None:
        self.local = local
        self.timings = timings or HealthTimings()
        super().__init__([ChildSpec("reaper", Reaper, local, self.timings)], HEALTH_POLICY, kind="health")
        self._running: dict[str, Wanted] = {}
        self._changed = trio.Event()

    def statistics(self) -> dict[str, Any]:
        return {**super().statistics(), "checks": len(self._running)}

    def _on_change(self, change: Change) -> None:
        if change.kind in ("service", "check"):
            self._changed.set()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        unsubscribe = self.local.state.subscribe(self._on_change)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._reconcile_forever)
                await super().run(task_status)
        finally:
            unsubscribe()

    async def _reconcile_forever(self) -> None:
        while True:
            self._changed = trio.Event()
            await self.reconcile()
            await self._changed.wait()

    def wanted(self) -> dict[str, Wanted]:
        out: dict[str, Wanted] = {}
        for check in list(self.local.state.checks.values()):
            if check.spec is None:
                continue
            actor_class = actor_for(check.spec)
            if actor_class is not None:
                out[child_name(check.id)] = (actor_class, check.id, check.spec)
        return out

    async def reconcile(self) -> None:
        wanted = self.wanted()
        for name, running in list(self._running.items()):
            if wanted.get(name) != running:
                await self.remove_child(name)
                del self._running[name]
        for name, (actor_class, check_id, spec) in wanted.items():
            if name not in self._running:
                await self.add_child(ChildSpec(name, actor_class, self.local, check_id, spec, self.timings))
                self._running[name] = (actor_class, check_id, spec)
