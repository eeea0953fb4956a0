"""The ``catalog.sync`` actor: anti-entropy between the agent's local state and the catalog.

What lives here: `CatalogSyncer`, the Trio shell around the pure plan (``diff``). It keeps the set of
local services and checks changed since the last successful sync (fed by local-state changes) and runs:

* a **full sync** at start and then every ``interval`` plus a random, cluster-size-scaled stagger; a
  failed one is retried after ``retry_interval`` (plus stagger); also at once when the agent's
  ``agent`` or ``default`` ACL token changes (``PUT /v1/agent/token/...``), as in Consul;
* a **partial sync** of only the changed entries when something changes: at once when an endpoint asks
  (`request_sync`, which waits for the round that includes its change), after a short debounce for check
  status changes, and when an output-only change's deferral runs out. A failed partial sync keeps its
  entries dirty and is retried with a doubling delay.

Each sync reads the catalog's view of this node after a ``default``-consistency read barrier, plans, and
writes each op through ``backend.write``. A failure of the cluster (no leader, no servers: `BackendError`)
ends the round, which is retried as above. A failure of one item (the store refuses its command, or it
cannot even be encoded: any other error) is that item's alone: it is logged, the round carries on with
the other items, and the item stays dirty and is held back for ``item_retry_initial`` seconds, doubling
on each further failure up to ``item_retry_max``, so one poisoned service can neither crash the actor
(a crash loop under its supervisor) nor keep the rest of the node out of the catalog. The local state is
never touched. A client agent reads and writes through a server, each call carrying the ACL token
Consul would use (``tokens``); an ACL refusal of a write is such an item failure (its text names the
token's AccessorID, never the secret), and a change of the agent's tokens releases every held item.

What must never live here: the comparison (``diff``), the records' shapes (``desired``), or any
decision about the local state.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import trio

from actors.acl.agent_tokens import agent_tokens
from actors.backend import BackendError
from actors.local.local_agent import LocalAgent
from actors.local.state import Change
from actors.state.errors import StoreError
from actors.state.watch import fold
from runtime import clock
from runtime.actor import Actor
from runtime.log import get_logger

from .desired import desired_view, node_facts, remote_view, remote_view_of
from .diff import Scope, plan
from .ops import DeregisterCheck, DeregisterService, Op, RegisterCheck, RegisterService, UpdateCheck, to_command
from .timing import SyncTimings, full_sync_delay
from .tokens import TokenWriter

log = get_logger("catalog.sync")

Item = tuple[str, str]  # ("service" | "check" | "node", folded ID): what one op writes


def _item_of(op: Op) -> tuple[Item, str]:
    """The item an op writes, and its ID as the op spells it."""
    if isinstance(op, RegisterService):
        return ("service", fold(op.service.id)), op.service.id
    if isinstance(op, DeregisterService):
        return ("service", fold(op.service_id)), op.service_id
    if isinstance(op, RegisterCheck):
        return ("check", fold(op.check.check_id)), op.check.check_id
    if isinstance(op, (UpdateCheck, DeregisterCheck)):
        return ("check", fold(op.check_id)), op.check_id
    return ("node", ""), ""


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
        self._full_wanted = False  # the agent's ACL tokens changed: run a full sync now
        self.full_syncs = 0
        self.partial_syncs = 0
        self.failures = 0
        self.item_failures = 0
        self.ops = 0
        self.last_error = ""
        self._held: dict[Item, tuple[float, float]] = {}  # failed items: (retry at, current delay)

    def statistics(self) -> dict[str, Any]:
        return {
            "full_syncs": self.full_syncs,
            "partial_syncs": self.partial_syncs,
            "failures": self.failures,
            "ops": self.ops,
            "dirty": len(self._dirty_services) + len(self._dirty_checks),
            "held": sorted(f"{kind}:{ident}" for kind, ident in self._held),
            "item_failures": self.item_failures,
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

    def _on_token(self, kind: str) -> None:
        if kind in ("agent", "default"):  # Consul's /v1/agent/token triggers a full sync for these
            self._full_wanted = True
            self._held.clear()  # items refused with the old token may pass now: try them all again
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
        unsubscribe_tokens = agent_tokens(self.ctx).subscribe(self._on_token)
        self.local.sync_hook = self.request_sync
        try:
            task_status.started()
            await self._loop()
        finally:
            unsubscribe()
            unsubscribe_tokens()
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
            dirty = self._has_ready_dirty(now)
            requested = self._requested
            if now >= next_full or self._full_wanted:
                self._full_wanted = False
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
                              math.inf if deferral_end is None else deferral_end, self._next_release(now))
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

    # -- items held back after a failure -------------------------------------------------------------

    def _is_held(self, item: Item, now: float) -> bool:
        held = self._held.get(item)
        return held is not None and held[0] > now

    def _has_ready_dirty(self, now: float) -> bool:
        """Whether a dirty service or check is not held back (a partial sync has work to do)."""
        return any(not self._is_held(("service", fold(s)), now) for s in self._dirty_services) or \
            any(not self._is_held(("check", fold(c)), now) for c in self._dirty_checks)

    def _next_release(self, now: float) -> float:
        """When the next held item may be tried again (released ones wait for a sync to pick them up)."""
        return min((at for at, _ in self._held.values() if at > now), default=math.inf)

    def _hold(self, item: Item, ident: str, err: BaseException, full: bool) -> None:
        _, delay = self._held.get(item, (0.0, 0.0))
        delay = min(self.timings.item_retry_max, max(self.timings.item_retry_initial, delay * 2))
        self._held[item] = (clock.now() + delay, delay)
        if item[0] == "service":
            self._dirty_services.add(ident)
        elif item[0] == "check":
            self._dirty_checks.add(ident)
        self.item_failures += 1
        self.last_error = f"{item[0]} {ident!r}: {type(err).__name__}: {err}"
        log.warning("anti-entropy cannot sync an item; the others carry on", full=full, item=item[0], id=ident,
                    error=f"{type(err).__name__}: {err}", retry_in=delay)

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
                # ... with the ACL token Consul would use for each call (``tokens``).
                writer = TokenWriter(remote_catalog, self.local.state, agent_tokens(self.ctx))
                view = await writer.node_view(self.node.node)
                remote = remote_view_of(view.services, view.checks)
            state = self.local.state
            ops = plan(desired_view(state, self.node), remote,
                       scope=None if full else scope, deferred_output=state.deferred(clock.now()))
            now = clock.now()
            planned = {_item_of(op)[0] for op in ops}
            looked_at = None if full else ({("service", fold(i)) for i in scope.services}
                                           | {("check", fold(i)) for i in scope.checks})
            for item in list(self._held):  # in sync now, or gone: nothing left to hold back
                if item not in planned and (looked_at is None or item in looked_at):
                    del self._held[item]
            kept: list[tuple[Item, str]] = []  # items not written this round: they stay dirty
            for op in ops:
                item, ident = _item_of(op)
                if self._is_held(item, now):
                    kept.append((item, ident))
                    continue
                try:
                    applied = await writer.write(to_command(op, self.node))
                    applied.unwrap()
                except BackendError:
                    raise  # the cluster, not the item: the whole round fails
                except Exception as err:  # StoreError, or one that cannot be encoded: this item only
                    self._hold(item, ident, err, full)
                    kept.append((item, ident))
                    continue
                self._held.pop(item, None)
                self.ops += 1
        except (BackendError, StoreError) as err:
            self.failures += 1
            self.last_error = str(err)
            log.warning("anti-entropy sync failed", full=full, error=str(err))
            return False
        except Exception as err:  # reading or planning broke (a record it cannot handle): retry, never crash-loop
            self.failures += 1
            self.last_error = f"{type(err).__name__}: {err}"
            log.error("anti-entropy sync failed unexpectedly", full=full, error=self.last_error)
            return False
        self._dirty_services -= scope.services
        self._dirty_checks -= scope.checks
        for (kind, _), ident in kept:
            if kind == "service":
                self._dirty_services.add(ident)
            elif kind == "check":
                self._dirty_checks.add(ident)
        if ops:
            log.debug("anti-entropy sync", full=full, ops=len(ops))
        return True
