"""The ``reaper`` actor: every ``check_reap_interval`` it deregisters services critical for too long.

What lives here: `Reaper`, a timer loop over `reap.services_to_reap`; the removal goes through the local
agent, so it is persisted and synced like any deregistration.

What must never live here: the reaping rule (``reap``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import trio

from actors.local.local_agent import LocalAgent
from runtime import clock
from runtime.actor import Actor
from runtime.log import get_logger

from .reap import services_to_reap
from .timing import HealthTimings

log = get_logger("health")


class Reaper(Actor):
    kind: ClassVar[str] = "reaper"
    inbox_size: ClassVar[int | None] = 1

    def __init__(self, local: LocalAgent, timings: HealthTimings) -> None:
        self.local = local
        self.timings = timings
        self.reaped = 0

    def statistics(self) -> dict[str, Any]:
        return {"reaped": self.reaped}

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        state = self.local.state
        while True:
            await trio.sleep(self.timings.reap_interval)
            for service_id in services_to_reap(list(state.checks.values()), state.marks, clock.now(),
                                               self.timings.deregister_min):
                if await self.local.reap_service(service_id):
                    self.reaped += 1
                    log.info("deregistered service with critical health", service=service_id)
