"""The local health multiplier (Lifeguard's "local health aware probe").

What lives here: `Awareness`, a saturating score in ``0 .. max_multiplier - 1``. The core raises it when
its own probes fail without the nacks that would prove its helpers heard it, and when it must refute a
suspicion about itself; it lowers it on every successful probe. Probe interval and probe timeout are
multiplied by ``score + 1``, so a node that is itself slow (CPU starved, lossy NIC) probes less often and
waits longer before accusing anybody.

What must never live here: timers, or decisions about *when* to change the score; those are the core's.
"""

from __future__ import annotations


class Awareness:
    """Saturating health score; 0 is healthy."""

    __slots__ = ("max_multiplier", "score")

    def __init__(self, max_multiplier: int) -> None:
        self.max_multiplier = max_multiplier
        self.score = 0

    def apply_delta(self, delta: int) -> int:
        """Add `delta`, clamp to ``0 .. max_multiplier - 1``, and return the new score."""
        self.score = min(max(self.score + delta, 0), self.max_multiplier - 1)
        return self.score

    def scale(self, timeout: float) -> float:
        """`timeout` stretched by the current health: ``timeout * (score + 1)``."""
        return timeout * (self.score + 1)
