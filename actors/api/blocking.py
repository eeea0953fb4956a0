"""Consul's blocking-query loop over a `StoreBackend`.

What lives here: `Blocker`, whose `run` makes the replica fit for the requested consistency, runs a
read with a fresh `WatchSet`, and (for ``?index=N``) keeps waiting on that watch set and re-running
the read until the result's index exceeds ``N`` or the wait (default 5 min, at most 10 min, plus a
random jitter of up to wait/16 from a seeded stream) runs out. A timeout returns the last result with
its unchanged index, never an error. Reads that find nothing keep blocking too.

After a wake-up only ``?consistent`` reads pass the barrier again (see `rebarrier`): the others are
as fresh as the commit that woke them, and 10,000 watchers woken by one write must not each queue a
leadership check (under such a burst the leader's lease can lapse and each check becomes a ReadIndex).

Correctness hinges on one rule: between running the read and registering its watch set there is no
``await`` (``backend.wait_changed`` registers before it first yields), so no write can slip between
them. Nothing here polls: the task sleeps until a watched key changes or the deadline passes.

What must never live here: HTTP parsing or response building (see ``query`` and ``reply``), or any
knowledge of which keys a read depends on (the store's reads fill the watch set).
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
from typing import Callable, TypeVar

import trio

from actors.api.query import JITTER_FRACTION, QueryOptions
from actors.backend import BackendError, ReadMeta, StoreBackend
from actors.state.watch import WatchSet
from runtime.http import HTTPError

T = TypeVar("T")

Read = Callable[[WatchSet], tuple[int, T]]


async def barrier(backend: StoreBackend, opts: QueryOptions) -> ReadMeta:
    """`read_barrier` for ``opts``; a stale read whose replica is older than ``max_stale`` is retried
    once in default mode, as Consul's HTTP layer does. Backend failures become HTTP errors."""
    try:
        meta = await backend.read_barrier(opts.mode, opts.max_stale)
        if opts.max_stale is not None and meta.last_contact_ms > opts.max_stale * 1000:
            meta = await backend.read_barrier("default")
        return meta
    except BackendError as err:
        raise HTTPError(err.status, str(err)) from None


async def rebarrier(backend: StoreBackend, opts: QueryOptions, meta: ReadMeta) -> ReadMeta:
    """The barrier before re-reading after a wake-up: a full one for ``?consistent`` only.

    A wake-up means the local replica just applied a committed entry (or installed a leader's
    snapshot), so for ``default`` and ``stale`` reads it is already as fresh as that commit; Consul's
    blocking loop likewise re-runs only ``?consistent`` reads through a barrier. The headers still
    describe the replica now (`StoreBackend.meta`), under the consistency the first barrier settled on.
    """
    if opts.mode == "consistent":
        return await barrier(backend, opts)
    now = getattr(backend, "meta", None)  # a backend without it (a test double) gets the full barrier
    if now is None:
        return await barrier(backend, opts)
    return now(meta.consistency)


class Blocker:
    """Runs blocking reads for one agent; ``rng`` is the seeded stream the jitter comes from."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng

    def timeout(self, opts: QueryOptions) -> float:
        return opts.wait + self.rng.random() * (opts.wait / JITTER_FRACTION)

    async def run(self, backend: StoreBackend, opts: QueryOptions, read: Read[T]) -> tuple[int, T, ReadMeta]:
        meta = await barrier(backend, opts)
        ws = WatchSet()
        index, result = read(ws)
        if not opts.blocking or index > opts.min_index:
            return index, result, meta
        deadline = trio.current_time() + self.timeout(opts)
        while index <= opts.min_index:
            # No await between the read above and this registration (see the module docstring).
            if not await backend.wait_changed(ws, deadline):
                break
            meta = await rebarrier(backend, opts, meta)
            ws = WatchSet()
            index, result = read(ws)
        return index, result, meta

