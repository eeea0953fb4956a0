"""Read timeouts for many connections at the price of a float store per read.

What lives here: `Watchdog`, one task per server that wakes every ``tick`` seconds and cancels the scope
of each connection whose read deadline has passed, and `Deadline`, the per-connection record a
connection updates (``deadline.at = ...``) around each read. Moving a Trio cancel scope's deadline costs
microseconds per change; storing a float costs nanoseconds. Timeouts fire up to one tick late.

What must never live here: HTTP, IO, or decisions about which timeout applies (the server decides).
"""

from __future__ import annotations

import math

import trio


class Deadline:
    """``at``: when this connection's pending read expires (``math.inf``: not reading)."""

    __slots__ = ("at", "scope")

    def __init__(self, scope: trio.CancelScope, at: float) -> None:
        self.scope = scope
        self.at = at


class Watchdog:
    def __init__(self, tick: float = 1.0) -> None:
        self.tick = tick
        self._live: set[Deadline] = set()

    def watch(self, scope: trio.CancelScope, at: float = math.inf) -> Deadline:
        deadline = Deadline(scope, at)
        self._live.add(deadline)
        return deadline

    def forget(self, deadline: Deadline) -> None:
        self._live.discard(deadline)

    def expire(self, now: float) -> int:
        """Cancel every watched scope whose deadline is at or before ``now``; how many."""
        expired = [d for d in self._live if d.at <= now]
        for d in expired:
            self._live.discard(d)
            d.scope.cancel()
        return len(expired)

    async def run(self) -> None:
        """Check deadlines every ``tick`` seconds, forever."""
        while True:
            await trio.sleep(self.tick)
            self.expire(trio.current_time())
