"""The one place proconsul reads time.

What lives here: `now()` (Trio's clock, monotonic, virtual under `trio.testing.MockClock`), `sleep_until`,
and `wall_time(t)`, which turns a Trio timestamp into Unix seconds for display and for the few values
Consul reports as wall-clock times (the leader stamps those into Raft entries, so replicas stay
deterministic).

What must never live here: decisions. Protocol cores never call these; actors read the time here and
hand it to the cores explicitly. Nothing else in the code base calls ``time.time()``.
"""

from __future__ import annotations

import time

import trio

_anchor: tuple[float, float] | None = None  # (trio time, unix time) sampled together once per run


def now() -> float:
    """Seconds on the current Trio clock (virtual in tests)."""
    return trio.current_time()


async def sleep_until(deadline: float) -> None:
    await trio.sleep_until(deadline)


def wall_time(t: float | None = None) -> float:
    """Unix seconds corresponding to the Trio timestamp ``t`` (default: now).

    The mapping is anchored once per process, so differences between two Trio timestamps are preserved
    exactly, and virtual time under MockClock still yields plausible wall-clock values.
    """
    global _anchor
    current = trio.current_time()
    if _anchor is None:
        _anchor = (current, time.time())
    base_trio, base_unix = _anchor
    return base_unix + ((current if t is None else t) - base_trio)


def reset_anchor() -> None:
    """Forget the anchor (each `trio.run` has its own clock; tests call this between runs)."""
    global _anchor
    _anchor = None
