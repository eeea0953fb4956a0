"""The transmit-limited broadcast queue that feeds piggybacked gossip.

What lives here: `retransmit_limit` and `TransmitLimitedQueue`. Each queued broadcast carries a key (the
node it is about, or a user key); queueing a new broadcast with the same key drops the older one, because
the newer alive/suspect/dead about a node supersedes it. `TransmitLimitedQueue.get_broadcasts` fills a byte
budget with the least-transmitted broadcasts first (newest first among equals), counts one transmission
for each, and retires a broadcast once it has been sent ``retransmit_mult * ceil(log10(N + 1))`` times.

What must never live here: encoding decisions beyond the size the caller hands in, or any knowledge of who
the packets go to.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any


def retransmit_limit(retransmit_mult: int, n: int) -> int:
    """How many times one broadcast is sent in a cluster of `n`: mult * ceil(log10(n + 1))."""
    return retransmit_mult * math.ceil(math.log10(n + 1))


class _Item:
    __slots__ = ("key", "msg", "size", "transmits", "id")

    def __init__(self, key: Hashable, msg: Any, size: int, id_: int) -> None:
        self.key = key
        self.msg = msg
        self.size = size
        self.transmits = 0
        self.id = id_


class TransmitLimitedQueue:
    """Broadcasts waiting to be piggybacked, at most one per key.

    Items live in buckets by transmit count; inside a bucket, dict order is arrival order (queued, or
    promoted from the bucket below), so walking a bucket backwards yields the most recent first without
    sorting. That is memberlist's newest-first tie break, up to items promoted in different calls.
    """

    def __init__(self, retransmit_mult: int) -> None:
        self.retransmit_mult = retransmit_mult
        self._items: dict[Hashable, _Item] = {}
        self._buckets: dict[int, dict[Hashable, _Item]] = {}
        self._next_id = 0
        self._min_size = 1 << 30  # smallest size ever queued: nothing can fit in less

    def __len__(self) -> int:
        return len(self._items)

    def queue(self, key: Hashable, msg: Any, size: int) -> int:
        """Queue `msg` (`size` bytes encoded) under `key`, replacing any older broadcast with that key.
        Returns an id for `is_pending`."""
        self._next_id += 1
        old = self._items.pop(key, None)
        if old is not None:
            self._unbucket(old)
        item = _Item(key, msg, size, self._next_id)
        self._items[key] = item
        self._buckets.setdefault(0, {})[key] = item
        self._min_size = min(self._min_size, size)
        return item.id

    def id_of(self, key: Hashable) -> int | None:
        """The id of the broadcast queued under `key`, or None."""
        item = self._items.get(key)
        return None if item is None else item.id

    def is_pending(self, id_: int) -> bool:
        """True while the broadcast `id_` is still queued (neither retired nor superseded)."""
        return any(item.id == id_ for item in self._items.values())

    def transmits(self, key: Hashable) -> int | None:
        """How many times the broadcast under `key` has been sent, or None if none is queued."""
        item = self._items.get(key)
        return None if item is None else item.transmits

    def get_broadcasts(self, overhead: int, limit: int, num_nodes: int) -> list[Any]:
        """Broadcasts whose sizes, each plus `overhead`, fit in `limit` bytes; least transmitted first,
        newest first among equals.

        Each one returned counts as transmitted once more; those that reach the retransmit limit for a
        cluster of `num_nodes` are retired.
        """
        if not self._items or limit < self._min_size + overhead:
            return []
        max_transmits = retransmit_limit(self.retransmit_mult, num_nodes)
        chosen: list[_Item] = []
        used = 0
        floor = self._min_size + overhead
        for transmits in sorted(self._buckets):
            for item in reversed(self._buckets[transmits].values()):
                cost = item.size + overhead
                if used + cost <= limit:
                    used += cost
                    chosen.append(item)
                    if limit - used < floor:
                        break
            if limit - used < floor:
                break
        # Re-bucket oldest first, so that walking the next bucket backwards still meets newest first.
        for item in reversed(chosen):
            self._unbucket(item)
            item.transmits += 1
            if item.transmits >= max_transmits:
                del self._items[item.key]
            else:
                self._buckets.setdefault(item.transmits, {})[item.key] = item
        return [item.msg for item in chosen]

    def prune(self, max_retain: int) -> None:
        """Drop the most-transmitted (then oldest) broadcasts until at most `max_retain` remain."""
        if len(self._items) <= max_retain:
            return
        ordered = sorted(self._items.values(), key=lambda it: (it.transmits, -it.id))
        for item in ordered[max_retain:]:
            del self._items[item.key]
            self._unbucket(item)

    def _unbucket(self, item: _Item) -> None:
        bucket = self._buckets[item.transmits]
        del bucket[item.key]
        if not bucket:
            del self._buckets[item.transmits]
