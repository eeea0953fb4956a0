"""Suspicion timeouts (Lifeguard's "local health aware suspicion"), as pure arithmetic.

What lives here: `suspicion_timeout` (the minimum timeout for a cluster of N), `expected_confirmations`
(how many independent suspicions to wait for), `remaining_suspicion_time` (the timeout left after c
confirmations), and `Suspicion`, a small record that counts distinct confirmers and reports its absolute
deadline.

What must never live here: timers or clocks. A `Suspicion` only knows when it started; the core asks for
its deadline and the shell decides when to wake up.

The timeout starts at ``max`` and falls logarithmically toward ``min`` as confirmations arrive::

    timeout(c) = max(min, max - (max - min) * log(c + 1) / log(k + 1))

so the first confirmation buys the biggest reduction, and after k of them the node is declared dead at
``min``. Like memberlist, raw timeouts are truncated to whole milliseconds.
"""

from __future__ import annotations

import math


def _truncate_ms(seconds: float) -> float:
    # A tiny epsilon keeps 4.2 * 1000 = 4199.999... from truncating a whole millisecond away.
    return math.floor(seconds * 1000 + 1e-6) / 1000


def suspicion_timeout(suspicion_mult: int, n: int, interval: float) -> float:
    """Minimum suspicion timeout for a cluster of `n`: mult * max(1, log10(max(1, n))) * interval.

    The node scale is truncated to thousandths, as memberlist does (``time.Duration(nodeScale*1000)``).
    """
    node_scale = max(1.0, math.log10(max(1.0, float(n))))
    return suspicion_mult * (math.floor(node_scale * 1000 + 1e-9) / 1000) * interval


def expected_confirmations(suspicion_mult: int, n: int) -> int:
    """k = suspicion_mult - 2, or 0 when the cluster is too small to supply that many other suspecters
    (n - 2 < k: neither the suspect nor we can confirm)."""
    k = suspicion_mult - 2
    return 0 if n - 2 < k else max(0, k)


def suspicion_total(confirmations: int, k: int, min_timeout: float, max_timeout: float) -> float:
    """Whole timeout, measured from the start of the suspicion, after `confirmations` confirmations."""
    if k < 1:
        return min_timeout
    frac = math.log(confirmations + 1) / math.log(k + 1)
    raw = _truncate_ms(max_timeout - frac * (max_timeout - min_timeout))
    return max(raw, min_timeout)


def remaining_suspicion_time(
    confirmations: int, k: int, elapsed: float, min_timeout: float, max_timeout: float
) -> float:
    """Seconds left before the suspect is declared dead; negative when already overdue."""
    return suspicion_total(confirmations, k, min_timeout, max_timeout) - elapsed


class Suspicion:
    """One live suspicion about one node: when it started, and who has independently confirmed it.

    The node that raised the suspicion is recorded as the first confirmer so that its own repeated gossip
    never counts twice. At most `k` confirmations are counted.
    """

    __slots__ = ("start", "k", "min_timeout", "max_timeout", "confirmers", "deadline")

    def __init__(self, start: float, from_: str, k: int, min_timeout: float, max_timeout: float) -> None:
        self.start = start
        self.k = k
        self.min_timeout = min_timeout
        self.max_timeout = max_timeout
        self.confirmers: list[str] = [from_]
        self.deadline = start + suspicion_total(0, k, min_timeout, max_timeout)

    @property
    def confirmations(self) -> int:
        return len(self.confirmers) - 1

    def confirm(self, from_: str) -> bool:
        """Count `from_` as an independent confirmation; False if it adds nothing (already counted, or
        k reached). On True the deadline has moved earlier, possibly into the past."""
        if self.confirmations >= self.k or from_ in self.confirmers:
            return False
        self.confirmers.append(from_)
        self.deadline = self.start + suspicion_total(
            self.confirmations, self.k, self.min_timeout, self.max_timeout
        )
        return True
