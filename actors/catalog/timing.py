"""When anti-entropy runs: Consul's intervals, scaled with the cluster's size, with random stagger.

What lives here: the constants (``ae_interval`` 1 min between full syncs, 15 s before retrying a failed
one), `scale_factor` (1 up to 128 nodes, then one more per doubling: ``ceil(log2(n) - log2(128)) + 1``),
`full_sync_delay` (interval plus a random stagger of up to ``scale × interval``, drawn from an injected
``rng``), and `SyncTimings`, the record the syncer is built with (tests shrink it).

What must never live here: clocks or Trio.
"""

from __future__ import annotations

import math
from random import Random  # the type of the seeded streams handed down; never the global generator

import msgspec

AE_INTERVAL = 60.0  # s; Consul's ae_interval
RETRY_FAIL_INTERVAL = 15.0  # s; a failed full sync is retried this much later (plus stagger)
SCALE_THRESHOLD = 128  # nodes; above it the interval grows with log2 of the cluster size


class SyncTimings(msgspec.Struct, frozen=True, kw_only=True):
    interval: float = AE_INTERVAL  # s; base full-sync interval
    retry_interval: float = RETRY_FAIL_INTERVAL  # s; after a failed full sync
    debounce: float = 0.05  # s; how long a check status change waits for others to batch with it
    partial_retry_initial: float = 1.0  # s; first retry of a failed partial sync, doubling...
    partial_retry_max: float = RETRY_FAIL_INTERVAL  # s; ...up to this
    item_retry_initial: float = 1.0  # s; first retry of one service/check the catalog refused, doubling...
    item_retry_max: float = AE_INTERVAL  # s; ...up to this (the others keep syncing meanwhile)


def scale_factor(nodes: int) -> int:
    if nodes <= SCALE_THRESHOLD:
        return 1
    return int(math.ceil(math.log2(nodes) - math.log2(SCALE_THRESHOLD) + 1.0))


def stagger(base: float, nodes: int, rng: Random) -> float:
    return rng.uniform(0, scale_factor(nodes) * base)


def full_sync_delay(base: float, nodes: int, rng: Random) -> float:
    """Seconds until the next full sync: ``base`` plus up to ``scale × base`` of random stagger."""
    return base + stagger(base, nodes, rng)
