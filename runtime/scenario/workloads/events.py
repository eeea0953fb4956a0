"""The events workload: user events fired through ``PUT /v1/event/fire/<name>`` at a steady rate.

What lives here: `EventsWorkload`, which fires ``event`` with ``payload`` ``rate`` times a second through
its target nodes in turn, measuring the call as op ``fire``. Delivery counting waits for the event
endpoints (``/v1/event/list``) to exist.

What must never live here: anything about how the agents spread events.
"""

from __future__ import annotations

import trio

from ..agent_api import AgentError, MissingEndpoint
from ..http_client import HttpClientError
from ..schema_workloads import Events
from .base import BaseWorkload


class EventsWorkload(BaseWorkload):
    spec: Events

    async def body(self) -> None:
        interval = 1.0 / self.spec.rate
        next_at = trio.current_time()
        count = 0
        while not self.stopping:
            next_at += interval
            await trio.sleep_until(next_at)
            node = self.pick_node(count, 0)
            count += 1
            started = trio.current_time()
            try:
                await self.api(node).fire_event(self.spec.event, self.spec.payload.encode())
            except MissingEndpoint:
                raise
            except (AgentError, HttpClientError):
                self.stats.record("fire", "fail", 0.0, trio.current_time())
                continue
            self.stats.record("fire", "ok", trio.current_time() - started, trio.current_time())
