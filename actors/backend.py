"""The seam between the HTTP/DNS layers and the replicated state: `StoreBackend`, and a local one.

What lives here: the `StoreBackend` protocol every endpoint is written against, the `ReadMeta` a read
reports (which becomes Consul's ``X-Consul-*`` headers), the typed errors a backend raises, the
blocking-wait helper built on the store's `WatchRegistry`, and `LocalBackend`: a single-process
backend that applies each command to its own `StateStore` at once (no Raft). `LocalBackend` is what
the API tests run on in-process; the Raft-backed backend in ``actors/raft`` offers the same protocol, so
every endpoint works unchanged on a real cluster.

How reads work. Every server (and every backend) holds a full local replica, so endpoints always read
from ``backend.store``. Before reading they call ``await backend.read_barrier(mode)``, which makes the
local replica fit for the requested consistency mode:

- ``"stale"``: nothing to wait for; any replica answers, even without a leader.
- ``"default"``: the leader answers from its state (lease: it heard from a quorum within an election
  timeout); a follower first learns the leader's commit index and waits until it has applied it.
- ``"consistent"``: Raft ReadIndex: leadership is confirmed by a quorum round, then the replica waits
  until it has applied the confirmed index (and the new-leader barrier holds).

How writes work. ``await backend.write(command)`` returns the `Applied` result of *that* command once it
is committed and applied locally (followers forward to the leader; the leader stamps ``now_ns``).

What must never live here: endpoint logic, or HTTP. Nothing here knows about requests.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal, Protocol

import msgspec
import trio

from actors.state.commands import Command, SessionDestroy
from actors.state.store import Applied, StateStore
from actors.state.watch import WatchRegistry, WatchSet
from runtime import clock

Consistency = Literal["default", "consistent", "stale"]


class ReadMeta(msgspec.Struct, frozen=True, kw_only=True):
    """What a read reports about the replica that served it (Consul's ``X-Consul-*`` headers)."""

    known_leader: bool
    last_contact_ms: int  # ms since this server last heard from the leader; 0 on the leader
    consistency: Literal["leader", "consistent", "stale"]  # X-Consul-Effective-Consistency


class BackendError(Exception):
    """Base of backend failures; ``status`` is the HTTP status Consul answers with."""

    status = 500


class NoLeader(BackendError):
    """No leader is known (Consul answers 500 ``No cluster leader``)."""

    def __init__(self, message: str = "No cluster leader") -> None:
        super().__init__(message)


class NotReady(BackendError):
    """The replica could not become fit for the read in time (e.g. lost leadership mid-read)."""


class StoreBackend(Protocol):
    """What every endpoint needs from the replicated state. See the module docstring."""

    store: StateStore
    registry: WatchRegistry

    async def write(self, command: Command) -> Applied:
        """Commit ``command`` through the leader and return its result once applied locally.

        Raises `NoLeader` when there is none within the RPC hold time, `BackendError` otherwise.
        """
        ...

    async def read_barrier(self, mode: Consistency, max_stale: float | None = None) -> ReadMeta:
        """Make the local replica fit for a read in ``mode``; report how it was served."""
        ...

    async def wait_changed(self, ws: WatchSet, deadline: float) -> bool:
        """Block until something ``ws`` watches changes (True) or Trio time reaches ``deadline`` (False)."""
        ...

    def meta(self, consistency: str) -> ReadMeta:
        """How a read served from the local replica right now reports itself, with no barrier (what
        a blocking query's re-read after a wake-up, which the local apply just made fresh, answers)."""
        ...


class Waiters:
    """Turns registry tokens into Trio events: the Trio half of the store's watch mechanism."""

    def __init__(self, registry: WatchRegistry) -> None:
        self.registry = registry
        self._events: dict[int, trio.Event] = {}

    def __len__(self) -> int:
        return len(self._events)

    async def wait(self, ws: WatchSet, deadline: float) -> bool:
        token = self.registry.register(ws)
        event = self._events[token] = trio.Event()
        try:
            with trio.move_on_at(deadline):
                await event.wait()
                return True
            return False
        finally:
            self._events.pop(token, None)
            if not event.is_set():
                self.registry.cancel(token)

    def fire(self, applied: Applied) -> None:
        for token in self.registry.fire(applied.touched):
            event = self._events.pop(token, None)
            if event is not None:
                event.set()

    def wake_all(self) -> None:
        for token in self.registry.wake_all():
            event = self._events.pop(token, None)
            if event is not None:
                event.set()


class LocalBackend:
    """A single-process backend: one replica, always leader, each write applied at the next index.

    Session TTLs are enforced like a leader would: `run_session_reaper` destroys sessions past 2 x TTL.
    ``now_ns`` comes from ``wall_ns`` (injected; defaults to the Trio-anchored wall clock).
    """

    def __init__(self, store: StateStore | None = None, wall_ns: Callable[[], int] | None = None) -> None:
        self.store = store or StateStore()
        self.registry = WatchRegistry()
        self.waiters = Waiters(self.registry)
        self.index = 0
        self._wall_ns = wall_ns or (lambda: int(clock.wall_time() * 1e9))
        self._timers_changed = trio.Event()

    async def write(self, command: Command) -> Applied:
        await trio.lowlevel.checkpoint()
        self.index += 1
        stamped = msgspec.structs.replace(command, now_ns=self._wall_ns())
        applied = self.store.apply(self.index, stamped)
        self.waiters.fire(applied)
        self._timers_changed.set()
        return applied

    async def read_barrier(self, mode: Consistency, max_stale: float | None = None) -> ReadMeta:
        await trio.lowlevel.checkpoint()
        return ReadMeta(known_leader=True, last_contact_ms=0, consistency="leader" if mode == "default" else mode)

    async def wait_changed(self, ws: WatchSet, deadline: float) -> bool:
        return await self.waiters.wait(ws, deadline)

    def meta(self, consistency: str) -> ReadMeta:
        return ReadMeta(known_leader=True, last_contact_ms=0, consistency=consistency)  # type: ignore[arg-type]

    async def run_session_reaper(self) -> None:
        """Destroy TTL sessions once expired (2 x TTL), as the leader's timers do. Runs until cancelled."""
        while True:
            self._timers_changed = trio.Event()
            next_ns = self.store.next_session_expiry()
            if next_ns is None:
                await self._timers_changed.wait()
                continue
            delay = max(0.0, (next_ns - self._wall_ns()) / 1e9)
            with trio.move_on_after(delay if math.isfinite(delay) else 3600):
                await self._timers_changed.wait()
                continue
            for session_id in self.store.expired_sessions(self._wall_ns()):
                await self.write(SessionDestroy(id=session_id))


def describe(backend: Any) -> str:
    return type(backend).__name__
