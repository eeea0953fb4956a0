"""The agent's local state: its services and checks, their current status, and who to tell on change.

Theory of operation
-------------------
`LocalState` is a plain in-memory table of `LocalService` and `LocalCheck` records plus, per check, a few
runtime marks that are never persisted: when a TTL check was last updated (its timer restarts from
there), since when it has been critical (for ``DeregisterCriticalServiceAfter``), and until when an
output-only change is held back from the catalog.

Every mutation takes the current time as an argument and reports itself to the subscribers as a
`Change`; subscribers are plain callables run synchronously, in order, inside the mutation (the Trio
actors turn them into events). Kinds of change:

* ``service`` / ``check``: a definition was added, replaced or removed (persist it, (re)start checkers,
  sync it);
* ``status``: a check's status changed (sync it now);
* ``output``: only a check's output changed. As Consul's ``check_update_interval`` prescribes, such a
  change is *deferred*: the check keeps syncing its status, but its output reaches the catalog only when
  the deferral (``interval/2`` plus up to ``interval`` of seeded jitter) runs out, so a chatty check
  cannot churn the Raft log;
* ``ttl``: a TTL check was updated through the API (its timer restarts; its state is persisted).

Re-registering a check without an explicit ``Status`` keeps its current status and output, so a
re-registration does not make a healthy instance flap to critical.

What must never live here: Trio, clocks, IO, HTTP or catalog knowledge. Times are whatever the caller
passes (Trio time in the agent, anything in tests).
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
from typing import Callable, Iterable, Literal, NamedTuple

from msgspec.structs import replace

from actors.state.models import CRITICAL

from .records import LocalCheck, LocalService

ChangeKind = Literal["service", "check", "status", "output", "ttl"]

# Consul's check_update_interval: output-only changes reach the catalog at most this often (seconds).
CHECK_UPDATE_INTERVAL = 300.0


class Change(NamedTuple):
    kind: ChangeKind
    id: str


Listener = Callable[[Change], None]


class CheckMarks:
    """Runtime marks of one check (never persisted)."""

    __slots__ = ("touched_at", "critical_since", "defer_until")

    def __init__(self, touched_at: float, critical_since: float | None) -> None:
        self.touched_at = touched_at  # registration or last TTL update
        self.critical_since = critical_since
        self.defer_until: float | None = None  # output held back from the catalog until then


class LocalState:
    """Services and checks of this agent. See the module docstring."""

    def __init__(self, *, check_update_interval: float = CHECK_UPDATE_INTERVAL,
                 rng: Random | None = None) -> None:
        self.services: dict[str, LocalService] = {}
        self.checks: dict[str, LocalCheck] = {}
        self.marks: dict[str, CheckMarks] = {}
        self.check_update_interval = check_update_interval
        self._rng = rng or Random(0)
        self._listeners: list[Listener] = []
        self.version = 0

    # -- subscriptions ------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(change)`` after every change; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, kind: ChangeKind, ident: str) -> None:
        self.version += 1
        change = Change(kind, ident)
        for listener in list(self._listeners):
            listener(change)

    # -- reads --------------------------------------------------------------------------------------

    def service(self, service_id: str) -> LocalService | None:
        return self.services.get(service_id)

    def check(self, check_id: str) -> LocalCheck | None:
        return self.checks.get(check_id)

    def checks_of(self, service_id: str) -> list[LocalCheck]:
        return [c for c in self.checks.values() if c.service_id == service_id]

    def node_checks(self) -> list[LocalCheck]:
        return [c for c in self.checks.values() if not c.service_id]

    def deferred(self, now: float) -> frozenset[str]:
        """Checks whose output is currently held back from the catalog."""
        return frozenset(cid for cid, m in self.marks.items() if m.defer_until is not None and m.defer_until > now)

    def next_deferral_end(self) -> float | None:
        ends = [m.defer_until for m in self.marks.values() if m.defer_until is not None]
        return min(ends) if ends else None

    # -- definitions --------------------------------------------------------------------------------

    def put_service(self, service: LocalService, checks: Iterable[LocalCheck], *, now: float,
                    replace_checks: bool = False) -> None:
        """Add or replace a service and its checks. ``replace_checks`` drops its other checks."""
        checks = list(checks)
        self.services[service.id] = service
        self._emit("service", service.id)
        if replace_checks:
            keep = {c.id for c in checks}
            for old in self.checks_of(service.id):
                if old.id not in keep:
                    self.remove_check(old.id)
        for check in checks:
            self.put_check(check, now=now)

    def remove_service(self, service_id: str) -> LocalService | None:
        """Remove a service with all its checks (maintenance check included)."""
        service = self.services.pop(service_id, None)
        if service is None:
            return None
        for check in self.checks_of(service_id):
            self.remove_check(check.id)
        self._emit("service", service_id)
        return service

    def put_check(self, check: LocalCheck, *, now: float) -> None:
        """Add or replace a check. Without an explicit initial status, a replaced check keeps its state."""
        previous = self.checks.get(check.id)
        if previous is not None and not check.initial_status:
            check = replace(check, status=previous.status, output=previous.output)
        self.checks[check.id] = check
        marks = self.marks.get(check.id)
        critical = check.status == CRITICAL
        if marks is None:
            self.marks[check.id] = CheckMarks(now, now if critical else None)
        else:
            marks.touched_at = now
            if not critical:
                marks.critical_since = None
            elif marks.critical_since is None:
                marks.critical_since = now
        self._emit("check", check.id)

    def remove_check(self, check_id: str) -> LocalCheck | None:
        check = self.checks.pop(check_id, None)
        if check is None:
            return None
        self.marks.pop(check_id, None)
        self._emit("check", check_id)
        return check

    # -- status -------------------------------------------------------------------------------------

    def update_status(self, check_id: str, status: str, output: str, *, now: float) -> bool:
        """Record a check result (Consul's ``UpdateCheck``). Returns whether anything changed."""
        check = self.checks.get(check_id)
        if check is None:
            return False
        marks = self.marks[check_id]
        if status == CRITICAL:
            if marks.critical_since is None:
                marks.critical_since = now
        else:
            marks.critical_since = None
        if check.status == status and check.output == output:
            return False
        if self.check_update_interval > 0 and check.status == status:
            self.checks[check_id] = replace(check, output=output)
            if marks.defer_until is None:
                interval = self.check_update_interval
                marks.defer_until = now + interval / 2 + self._rng.uniform(0, interval)
            self._emit("output", check_id)
            return True
        self.checks[check_id] = replace(check, status=status, output=output)
        marks.defer_until = None
        self._emit("status", check_id)
        return True

    def update_ttl(self, check_id: str, status: str, output: str, *, now: float) -> bool:
        """A TTL check's application reported in: record it and restart its timer."""
        if check_id not in self.checks:
            return False
        self.update_status(check_id, status, output, now=now)
        self.marks[check_id].touched_at = now
        self._emit("ttl", check_id)
        return True

    def expire_deferrals(self, now: float) -> list[str]:
        """End the output deferrals that are due; returns those checks (their output must now sync)."""
        due = [cid for cid, m in self.marks.items() if m.defer_until is not None and m.defer_until <= now]
        for cid in due:
            self.marks[cid].defer_until = None
        return due
