"""One actor per check: it runs the check on its schedule and records the status in the local state.

What lives here:

* `ProbeCheck` (HTTP, TCP, script): waits a seeded random phase in ``[0, interval)`` so checks do not fire
  in lockstep, then probes every ``interval`` (counted from the end of the previous probe, as Consul
  does), each probe bounded by the check's timeout, and folds each result through `status.fold`;
* `TTLCheck`: turns the check critical with ``TTL expired`` (plus the last output) when no update arrived
  within the TTL since the last one (or since registration);
* `AliasCheck`: mirrors another service's checks, from the local state (same node) or from the catalog
  (another node, re-read whenever the store says it changed).

All three start by reporting a crash of their previous incarnation: if the supervisor restarted this
check after a failure, the check turns critical with the error as its output until the next result.

What must never live here: deciding which checks exist (``supervisor``), the probes themselves
(``*_probe``), or persistence and catalog sync (the local agent and the syncer react to state changes).
"""

from __future__ import annotations

from typing import Any, ClassVar

import trio

from actors.local.local_agent import LocalAgent
from actors.local.records import CheckSpec
from actors.local.state import Change
from actors.state.models import CRITICAL
from actors.state.watch import WatchSet
from runtime import clock
from runtime.actor import Actor

from .alias import alias_result
from .probes import PROBES
from .result import ProbeResult
from .status import Counters, Thresholds, fold
from .timing import HealthTimings, effective_interval, effective_timeout

REMOTE_ALIAS_WAIT = 600.0  # s; longest a remote alias waits on the store before re-reading anyway


def ttl_expired_output(last_output: str) -> str:
    if not last_output or last_output.startswith("TTL expired"):
        return "TTL expired"
    return f"TTL expired (last output before timeout follows): {last_output}"


class CheckActor(Actor):
    """What every check actor shares: its identity, the crash report, the state update."""

    kind: ClassVar[str] = "check"
    inbox_size: ClassVar[int | None] = 1

    def __init__(self, local: LocalAgent, check_id: str, spec: CheckSpec, timings: HealthTimings) -> None:
        self.local = local
        self.check_id = check_id
        self.spec = spec
        self.timings = timings
        self.runs = 0
        self.last_status = ""

    def report(self, status: str, output: str) -> None:
        self.last_status = status
        self.local.state.update_status(self.check_id, status, output, now=clock.now())

    def statistics(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "type": self.spec.kind, "runs": self.runs, "last": self.last_status}

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        error = self.cell.last_error
        if error is not None and self.cell.restarts > 0:
            self.report(CRITICAL, f"check failed and was restarted: {error.type}: {error.message}")
        task_status.started()
        await self.loop()

    async def loop(self) -> None:
        raise NotImplementedError


class ProbeCheck(CheckActor):
    """HTTP, TCP and script checks: probe on a schedule, fold, report."""

    async def loop(self) -> None:
        probe = PROBES[self.spec.kind]
        interval = effective_interval(self.spec, self.timings)
        timeout = effective_timeout(self.spec, self.timings)
        thresholds = Thresholds.of(self.spec.success_before_passing, self.spec.failures_before_warning,
                                   self.spec.failures_before_critical)
        counters = Counters()
        rng = self.local.ctx.rng(f"health/{self.check_id}")
        await trio.sleep(rng.uniform(0, interval))
        while True:
            result: ProbeResult = await probe(self.spec, timeout)
            self.runs += 1
            counters, status = fold(counters, thresholds, result.status)
            if status is not None:
                self.report(status, result.output)
            await trio.sleep(interval)


class _Watcher:
    """A Trio event set by local-state changes that pass a predicate."""

    def __init__(self, local: LocalAgent, wanted: Any) -> None:
        self.event = trio.Event()
        self._wanted = wanted
        self.unsubscribe = local.state.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if self._wanted(change):
            self.event.set()

    async def wait(self) -> None:
        await self.event.wait()
        self.event = trio.Event()


class TTLCheck(CheckActor):
    """Critical once the TTL passes without an update through the API (or a re-registration)."""

    async def loop(self) -> None:
        state = self.local.state
        watcher = _Watcher(self.local, lambda c: c.kind in ("ttl", "check") and c.id == self.check_id)
        expired_for: float | None = None  # the timer start whose expiry was already reported
        try:
            while True:
                marks = state.marks.get(self.check_id)
                check = state.check(self.check_id)
                if marks is None or check is None:  # being removed
                    await trio.sleep_forever()
                    return
                deadline = marks.touched_at + self.spec.ttl
                if clock.now() < deadline:
                    with trio.move_on_at(deadline):
                        await watcher.wait()
                    continue
                if expired_for != marks.touched_at:
                    expired_for = marks.touched_at
                    self.runs += 1
                    self.report(CRITICAL, ttl_expired_output(check.output))
                await watcher.wait()
        finally:
            watcher.unsubscribe()


class AliasCheck(CheckActor):
    """Mirrors the worst status of another service (or node)."""

    async def loop(self) -> None:
        node = self.spec.alias_node
        if node and node != self.local.node:
            await self._remote(node)
        else:
            await self._local()

    async def _local(self) -> None:
        state = self.local.state
        service_id = self.spec.alias_service
        watcher = _Watcher(self.local, lambda c: c.id != self.check_id)
        try:
            while True:
                others = [c for c in state.checks.values() if c.id != self.check_id]
                result = alias_result(others, service_id, service_id in state.services, self.local.node)
                self.runs += 1
                self.report(result.status, result.output)
                await watcher.wait()
        finally:
            watcher.unsubscribe()

    async def _remote(self, node: str) -> None:
        service_id = self.spec.alias_service
        while True:
            backend = self.local.ctx.backend
            if backend is None:
                self.report(CRITICAL, f"No catalog to read node {node} from")
                await trio.sleep(self.timings.default_timeout)
                continue
            ws = WatchSet()
            _, checks = backend.store.node_checks(node, ws)
            exists = backend.store.node_service(node, service_id) is not None if service_id else False
            result = alias_result(checks, service_id, exists, node)
            self.runs += 1
            self.report(result.status, result.output)
            await backend.wait_changed(ws, clock.now() + REMOTE_ALIAS_WAIT)


def actor_for(spec: CheckSpec) -> type[CheckActor] | None:
    """Which actor runs a check of this kind (None: nothing runs it)."""
    kind = spec.kind
    if kind == "ttl":
        return TTLCheck
    if kind == "alias":
        return AliasCheck
    if kind in PROBES:
        return ProbeCheck
    return None
