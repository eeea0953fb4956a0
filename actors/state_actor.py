"""The ``state`` actor of a single-replica (``-dev``) agent: owns the `LocalBackend` and its timers.

What lives here: `StateActor`, which runs the session TTL reaper of a `LocalBackend` (what a Raft
leader's session timers do) and shows the store's figures in the actor tree. Once the Raft subsystem
lands, a server's backend is Raft-backed and this actor is replaced by the raft subtree.

What must never live here: endpoint logic or store logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import trio

from actors.api.self_register import register_self
from actors.backend import LocalBackend
from runtime.actor import Actor

if TYPE_CHECKING:
    from actors.context import AgentContext


class StateActor(Actor):
    kind: ClassVar[str] = "state"
    inbox_size: ClassVar[int | None] = 1

    def __init__(self, backend: LocalBackend, ctx: "AgentContext | None" = None) -> None:
        self.backend = backend
        self.ctx = ctx

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self.ctx is not None:
            # As a Consul server does on becoming leader: the node itself, service "consul", serfHealth.
            # Idempotent, so a restart of this actor re-registers harmlessly.
            await register_self(self.ctx)
        task_status.started()
        await self.backend.run_session_reaper()

    def statistics(self) -> dict[str, Any]:
        return {"index": self.backend.index, "watchers": len(self.backend.waiters)}
