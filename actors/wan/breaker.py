"""A small circuit breaker and the choice of a remote server, both pure (time and randomness injected).

What lives here: `Breaker` (closed → open after ``threshold`` consecutive failures, or at once on
`Breaker.trip` (the caller saw that no server can be reached at all); while open every request is refused
at once; after ``cooldown`` seconds one trial request is let through (half-open) while the others are
still refused: its success closes the breaker, its failure opens it again) and `order_servers` (which servers of a datacenter to try, in what order: a random order,
servers that recently could not be reached last).

What must never live here: I/O, awaiting, or HTTP.
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
import time
from typing import Callable, Hashable, Iterable, Sequence, TypeVar

T = TypeVar("T", bound=Hashable)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class Breaker:
    def __init__(self, threshold: int = 3, cooldown: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0  # consecutive
        self.opened_at: float | None = None
        self.trial_in_flight = False
        self.trips = 0

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if self.trial_in_flight or self.clock() - self.opened_at >= self.cooldown:
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        """May a request go out now? In half-open state only one trial at a time is allowed."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_in_flight = False

    def failure(self) -> None:
        self.failures += 1
        if self.trial_in_flight or self.failures >= self.threshold:
            if self.opened_at is None or self.trial_in_flight:
                self.trips += 1
            self.opened_at = self.clock()
        self.trial_in_flight = False

    def trip(self) -> None:
        """Open now, whatever the count: the last request showed the datacenter unreachable as a whole."""
        self.failures = max(self.failures + 1, self.threshold)
        if self.opened_at is None or self.trial_in_flight:
            self.trips += 1
        self.opened_at = self.clock()
        self.trial_in_flight = False

    def release(self) -> None:
        """A request let through ended with neither verdict (e.g. cancelled): free the trial slot."""
        self.trial_in_flight = False


def order_servers(servers: Iterable[T], down_until: dict[T, float], now: float,
                  rng: Random, limit: int = 3) -> list[T]:
    """Up to ``limit`` servers to try: shuffled, those marked unreachable until after ``now`` last."""
    found: Sequence[T] = sorted(set(servers), key=repr)
    shuffled = list(found)
    rng.shuffle(shuffled)
    up = [s for s in shuffled if down_until.get(s, 0.0) <= now]
    down = [s for s in shuffled if down_until.get(s, 0.0) > now]
    return (up + down)[:limit]
