"""``-retry-join`` / ``-retry-join-wan``: keep trying the configured addresses until one join succeeds.

What lives here: `RetryJoiner`, a transient actor. Each attempt joins through all configured addresses
at once (``host[:port]``, the pool's port by default); one that reaches any of them ends the actor. A
failed attempt is logged with every address's reason and retried after ``retry_interval``. With
``retry_max`` > 0, running out of attempts asks the agent to shut down, as Consul exits when retry-join
gives up. Once the pool has joined, a restarted joiner ends at once: the shell's own rejoin of its known
peers takes over.

What must never live here: the join protocol (``serf_core``) or address parsing (``settings``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import trio

from actors.gossip.inputs import GossipUnavailable
from runtime.actor import Actor
from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.gossip.pool import PoolState

log = get_logger("gossip")


class RetryJoiner(Actor):
    kind: ClassVar[str] = "join"
    inbox_size: ClassVar[int | None] = 1

    def __init__(self, state: "PoolState") -> None:
        self.state = state
        self.attempts = 0
        self.last_error = ""

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        settings = self.state.settings
        cluster = settings.pool.upper()
        if self.state.joined:
            return
        log.info("Joining cluster...", cluster=cluster, addresses=" ".join(settings.retry_join))
        while True:
            self.attempts += 1
            try:
                outcome = await self.state.join(settings.retry_join)
            except GossipUnavailable as err:
                errors = [str(err)]
                contacted = 0
            else:
                errors, contacted = outcome.errors, outcome.contacted
            if contacted:
                log.info("Join cluster completed. Synced with initial agents", cluster=cluster, num_agents=contacted)
                return
            self.last_error = "; ".join(errors) or "no address answered"
            if settings.retry_max and self.attempts >= settings.retry_max:
                log.error("Retry join failed: max attempts reached", cluster=cluster, attempts=self.attempts,
                          error=self.last_error)
                if self.state.request_shutdown is not None:
                    self.state.request_shutdown(f"{cluster} retry join exhausted: {self.last_error}")
                return
            log.warning("Join cluster failed, will retry", cluster=cluster,
                        retry_interval=f"{settings.retry_interval:g}s", error=self.last_error)
            await trio.sleep(settings.retry_interval)

    def statistics(self) -> dict[str, object]:
        return {"attempts": self.attempts, "last_error": self.last_error}
