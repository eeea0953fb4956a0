"""The ``catalog.sync`` actor: anti-entropy between the agent's local state and the catalog.

What lives here: `CatalogSyncer`, the Trio shell around the pure plan (``diff``). It keeps the set of
local services and checks changed since the last successful sync (fed by local-state changes) and runs:

* a **full sync** at start and then every ``interval`` plus a random, cluster-size-scaled stagger; a
  failed one is retried after ``retry_interval`` (plus stagger);
* a **partial sync** of only the changed entries when something changes: at once when an endpoint asks
  (`request_sync`, which waits for the round that includes its change), after a short debounce for check
  status changes, and when an output-only change's deferral runs out. A failed partial sync keeps its
  entries dirty and is retried with a doubling delay.

Each sync reads the catalog's view of this node after a ``default``-consistency read barrier, plans, and
writes each op through ``backend.write``. Failures (no leader, no servers, refused commands) are logged
and retried; the local state is never touched.

What must never live here: the comparison (``diff``), the records' shapes (``desired``), or any
decision about the local state.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import trio

from actors.backend import BackendError
from actors.local.local_agent import LocalAgent
from actors.local.state import Change
from actors.state.errors import StoreError
from runtime import clock
from runtime.actor import Actor
from runtime.log import get_logger

from .desired import desired_view, node_facts, remote_view, remote_view_of
from .diff import Scope, plan
from .ops import to_command
from .timing import SyncTimings, full_sync_delay

log = get_logger("catalog.sync")


class CatalogSyncer(Actor):
    kind: ClassVar[str] = "catalog.sync"
    inbox_size: ClassVar[int | None] = 1

    def __init__(self, local: LocalAgent, timings: SyncTimings | None = None) -> None:
        self.local = local
        self.ctx = local.ctx
        self.timings = timings or SyncTimings()
        self.rng = self.ctx.rng("catalog.sync")
        self.node = node_facts(self.ctx)
        self._dirty_services: set[str] = set()
        self._dirty_checks: set[str] = set()
        self._wake = trio.Event()
        self._round_done = trio.Event()
        self._requested = 0
        self._completed = 0
        self._partial_delay = 0.0
        self.full_syncs = 0
        self.partial_syncs = 0
        self.failures = 0
        self.ops = 0
        self.last_error = ""

    def statistics(self) -> dict[str, Any]:
        return {
            "full_syncs": self.full_syncs,
            "partial_syncs": self.partial_syncs,
            "failures": self.failures,
            "ops": self.ops,
            "dirty": len(self._dirty_services) + len(self._dirty_checks),
            "last_error": self.last_error,
        }

    # -- inputs ---------------------------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        if change.kind == "service":
            self._dirty_services.add(change.id)
        elif change.kind == "output":
            return  # held back until its deferral runs out
        else:
            self._dirty_checks.add(change.id)
        self._wake.set()

    async def request_sync(self) -> None:
        """Sync the changes made so far, now; return when a sync round that includes them has ended."""
        self._requested += 1
        wanted = self._requested
        self._wake.set()
        while self._completed < wanted:
            await self._round_done.wait()

    # -- the loop -------------------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        state = self.local.state
        unsubscribe = state.subscribe(self._on_change)
        self.local.sync_hook = self.request_sync
        try:
            task_status.started()
            await self._loop()
        finally:
            unsubscribe()
            if self.local.sync_hook == self.request_sync:
                self.local.sync_hook = None
            self._finish_round(self._requested)  # release waiters; the next incarnation syncs again

    async def _loop(self) -> None:
        state = self.local.state
        next_full = clock.now()
        retry_at = -math.inf
        while True:
            self._wake = trio.Event()
            now = clock.now()
            self._dirty_checks.update(state.expire_deferrals(now))
            dirty = bool(self._dirty_services or self._dirty_checks)
            requested = self._requested
            if now >= next_full:
                ok = await self._sync(full=True)
                self.full_syncs += 1
                base = self.timings.interval if ok else self.timings.retry_interval
                next_full = clock.now() + full_sync_delay(base, self._cluster_size(), self.rng)
            elif requested > self._completed or (dirty and now >= retry_at):
                if requested == self._completed and self.timings.debounce > 0:
                    await trio.sleep(self.timings.debounce)
                    requested = self._requested
                ok = await self._sync(full=False)
                self.partial_syncs += 1
            else:
                deferral_end = state.next_deferral_end()
                wake_at = min(next_full, retry_at if dirty else math.inf,
                              math.inf if deferral_end is None else deferral_end)
                with trio.move_on_at(wake_at):
                    await self._wake.wait()
                continue
            if ok:
                self._partial_delay = 0.0
                retry_at = -math.inf
            else:
                self._partial_delay = min(self.timings.partial_retry_max,
                                          max(self.timings.partial_retry_initial, self._partial_delay * 2))
                retry_at = clock.now() + self._partial_delay
            self._finish_round(requested)

    def _finish_round(self, requested: int) -> None:
        self._completed = max(self._completed, requested)
        self._round_done.set()
        self._round_done = trio.Event()

    def _remote_catalog(self):  # type: ignore[no-untyped-def]
        from actors.forward.remote_catalog import RemoteCatalog

        catalog = self.ctx.extras.get("forward.catalog")
        if catalog is None:
            catalog = self.ctx.extras["forward.catalog"] = RemoteCatalog(self.ctx)
        return catalog

    def _cluster_size(self) -> int:
        backend = self.ctx.backend
        if backend is None:
            return 1
        return max(1, len(backend.store.nodes()[1]))

    async def _sync(self, *, full: bool) -> bool:
        backend = self.ctx.backend
        remote_catalog = None
        if backend is None:
            # A client agent holds no replica: it reads and writes its node's records through a server.
            remote_catalog = self._remote_catalog()
        scope = Scope(frozenset(self._dirty_services), frozenset(self._dirty_checks))
        try:
            if backend is not None:
                await backend.read_barrier("default")
                remote = remote_view(backend.store, self.node.node)
                writer = backend
            else:
                view = await remote_catalog.node_view(self.node.node)
                remote = remote_view_of(view.services, view.checks)
                writer = remote_catalog
            state = self.local.state
            ops = plan(desired_view(state, self.node), remote,
                       scope=None if full else scope, deferred_output=state.deferred(clock.now()))
            for op in ops:
                applied = await writer.write(to_command(op, self.node))
                applied.unwrap()
                self.ops += 1
        except (BackendError, StoreError) as err:
            self.failures += 1
            self.last_error = str(err)
            log.warning("anti-entropy sync failed", full=full, error=str(err))
            return False
        self._dirty_services -= scope.services
        self._dirty_checks -= scope.checks
        if ops:
            log.debug("anti-entropy sync", full=full, ops=len(ops))
        return True
