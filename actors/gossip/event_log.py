"""The user events this agent has accepted: the last 256, oldest first, and a way to wait for the next.

What lives here: `EventLog`. Consul keeps a ring of 256 events per agent (``eventBuf``); `add` appends
(dropping the oldest), `events` lists them (optionally one name), and `wait_changed` sleeps until an
event is added after the caller's ``version`` or a deadline passes: what ``GET /v1/event/list`` blocks
on. It survives restarts of the gossip actors (it hangs off the pool state).

What must never live here: filtering (``events.should_process``) or HTTP.
"""

from __future__ import annotations

from collections import deque

import trio

from actors.gossip.events import ConsulEvent

EVENT_LOG_SIZE = 256


class EventLog:
    def __init__(self, size: int = EVENT_LOG_SIZE) -> None:
        self._events: deque[ConsulEvent] = deque(maxlen=size)
        self.version = 0
        self.waiters = 0  # blocking list requests waiting right now
        self._changed = trio.Event()

    def add(self, event: ConsulEvent) -> None:
        self._events.append(event)
        self.version += 1
        self._changed.set()
        self._changed = trio.Event()

    def events(self, name: str | None = None) -> list[ConsulEvent]:
        return [e for e in self._events if not name or e.name == name]

    def __len__(self) -> int:
        return len(self._events)

    async def wait_changed(self, version: int, deadline: float) -> bool:
        """True once the log's version differs from ``version``; False at ``deadline``."""
        self.waiters += 1
        try:
            with trio.move_on_at(deadline):
                while self.version == version:
                    await self._changed.wait()
                return True
            return False
        finally:
            self.waiters -= 1
