"""Coalescing of user events: under a burst, deliver only the newest event of each name.

Serf's user-event coalescer, sans-IO. Events that ask to be coalesced are held; each name keeps only its
newest (highest Lamport time) event. Everything held is delivered when either ``period`` has passed
since the first held event, or ``quiescent`` since the last one. A period of 0 turns coalescing off
(Serf's default, and what Consul uses: it fires its events uncoalesced), and events that do not ask to
be coalesced always pass straight through.

What must never live here: clocks (callers pass ``now``), de-duplication (``EventBuffer``) or IO.
"""

from __future__ import annotations

import math

Event = tuple[int, str, bytes]  # (ltime, name, payload)


class UserEventCoalescer:
    def __init__(self, period: float, quiescent: float) -> None:
        self.period = period
        self.quiescent = quiescent
        self._held: dict[str, Event] = {}
        self._first = math.inf
        self._last = -math.inf

    @property
    def enabled(self) -> bool:
        return self.period > 0

    def add(self, now: float, event: Event, coalesce: bool) -> list[Event]:
        """Offer an event; returns what is delivered right away (the event itself unless it is held)."""
        if not coalesce or not self.enabled:
            return [event]
        name = event[1]
        held = self._held.get(name)
        if held is None or event[0] > held[0]:
            self._held[name] = event
        if self._first == math.inf:
            self._first = now
        self._last = now
        return []

    def deadline(self) -> float | None:
        if not self._held:
            return None
        quiet = self._last + self.quiescent if self.quiescent > 0 else math.inf
        return min(self._first + self.period, quiet)

    def due(self, now: float) -> list[Event]:
        """Everything held, oldest first, once a timer has run out; otherwise nothing."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return []
        out = sorted(self._held.values())
        self._held.clear()
        self._first, self._last = math.inf, -math.inf
        return out
