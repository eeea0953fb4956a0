"""The ``local`` actor: brings the agent's local state up before anything that depends on it starts.

What lives here: `LocalStateActor`, which loads the config-file definitions and the persisted state
(once per agent; a restart of this actor does not reload over live state) and then shows the state's
figures in the actor tree. It is started before ``health``, ``catalog.sync`` and the HTTP listener.

What must never live here: the state's logic (``state``, ``local_agent``) or persistence details.
"""

from __future__ import annotations

from typing import Any, ClassVar

import trio

from runtime.actor import Actor

from .local_agent import LocalAgent


class LocalStateActor(Actor):
    kind: ClassVar[str] = "local"
    inbox_size: ClassVar[int | None] = 1

    def __init__(self, local: LocalAgent) -> None:
        self.local = local

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.local.load()
        task_status.started()
        await trio.sleep_forever()

    def statistics(self) -> dict[str, Any]:
        return self.local.statistics()
