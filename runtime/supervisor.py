"""Supervision: a supervisor actor owns a nursery of child actors and restarts them by policy.

What lives here: `ChildSpec` (how to build a child), `RestartPolicy` (strategy, intensity, backoff),
`Supervisor` (an actor whose job is its children), `SupervisorGaveUp`, and `run_root` (runs the top
actor of a tree with no supervisor above it).

How failure is contained. Each child runs in its own task with its own cancel scope, and the task
catches whatever the child raises instead of letting it reach the shared nursery. So a crash in one
subtree never cancels a sibling: it becomes an *event* for the supervisor, which decides:

- ``one_for_one``: restart only the failed child.
- ``one_for_all``: stop every other child, then restart them all in start order.
- ``rest_for_one``: stop the children started after the failed one, then restart it and them.

Restart intensity: at most ``max_restarts`` failures within ``within_seconds``. One more and the
supervisor gives up: it stops all its children and raises `SupervisorGaveUp`, which is a failure of
the supervisor itself, handled in turn by *its* parent. Between a failure and the restart the
supervisor waits a backoff that doubles with each failure inside the window (``backoff_initial`` up to
``backoff_max``); meanwhile the child shows as ``restarting`` and its inbox keeps queueing.

Fail-stop: an ``AssertionError`` means a broken invariant (a protocol core found itself in an
impossible state). Restarting would hide a safety bug, so it escalates at once without restarts.

Child exits: ``permanent`` children are restarted whatever the reason, ``transient`` ones only after a
failure, ``temporary`` ones never.

Readiness: a child is started with ``nursery.start``; the supervisor waits for the child to call
``task_status.started()`` before starting the next one, so children start in dependency order. A child
that fails before it is ready counts as a failure like any other.

All decisions happen in one loop that handles events one at a time and never sleeps (backoffs run as
separate timer tasks that post an event when due), so the policy is easy to reason about and test.

What must never live here: anything about what the children do.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, ClassVar, Literal

import msgspec
import trio

from runtime import clock
from runtime.actor import Actor, ActorRef, InjectedCrash
from runtime.log import get_logger
from runtime.tree import ActorTree, Cell, ErrorInfo, FaultOp

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
RestartType = Literal["permanent", "transient", "temporary"]

log = get_logger("supervisor")


class RestartPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a supervisor reacts to its children failing."""

    strategy: Strategy = "one_for_one"
    # Restart intensity: more than `max_restarts` failures within `within_seconds` and the supervisor
    # gives up and fails itself (Erlang/OTP's intensity and period; OTP defaults to 1 in 5 s, we allow
    # a little more because a lost socket is routine for a network agent).
    max_restarts: int = 5
    within_seconds: float = 10.0
    # Backoff before a restart: backoff_initial * 2**(failures in window - 1), capped at backoff_max.
    backoff_initial: float = 0.05
    backoff_max: float = 2.0


class ChildSpec:
    """How to build one child: a name unique among its siblings, an actor class, and its arguments.

    A fresh instance is built from the class and arguments on every (re)start, so no state leaks from
    a crashed instance into its replacement. State that must survive lives outside the actor (on disk,
    in the Raft log, or in the parent).
    """

    __slots__ = ("name", "actor_class", "args", "kwargs", "restart")

    def __init__(self, name: str, actor_class: type[Actor], *args: Any, restart: RestartType = "permanent",
                 **kwargs: Any) -> None:
        self.name = name
        self.actor_class = actor_class
        self.args = args
        self.kwargs = kwargs
        self.restart = restart

    def build(self) -> Actor:
        return self.actor_class(*self.args, **self.kwargs)


class SupervisorGaveUp(Exception):
    """A supervisor exceeded its restart intensity (or met a fail-stop error) and stopped its children."""


# -- events handled by the supervisor loop --------------------------------------------------------


class _Exited:
    __slots__ = ("child", "incarnation", "error", "op")

    def __init__(self, child: "_Child", incarnation: int, error: BaseException | None, op: FaultOp | None) -> None:
        self.child, self.incarnation, self.error, self.op = child, incarnation, error, op


class _RestartDue:
    __slots__ = ("names",)

    def __init__(self, names: list[str]) -> None:
        self.names = names


class _Fault:
    __slots__ = ("name", "op")

    def __init__(self, name: str, op: FaultOp) -> None:
        self.name, self.op = name, op


class _AddChild:
    __slots__ = ("spec", "done")

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.done = trio.Event()


class _RemoveChild:
    __slots__ = ("name", "done")

    def __init__(self, name: str) -> None:
        self.name = name
        self.done = trio.Event()


class _Child:
    """The supervisor's private record of one child."""

    __slots__ = ("spec", "cell", "running", "incarnation", "done", "stopping", "restart_pending")

    def __init__(self, spec: ChildSpec, cell: Cell) -> None:
        self.spec = spec
        self.cell = cell
        self.running = False
        self.incarnation = 0
        self.done = trio.Event()
        self.done.set()
        self.stopping = False  # the supervisor itself is stopping this incarnation
        self.restart_pending = False


class Supervisor(Actor):
    """An actor whose work is starting, watching and restarting its children."""

    kind: ClassVar[str] = "supervisor"
    inbox_size: ClassVar[int | None] = None  # control events only; never blocks a child reporting its exit

    def __init__(self, children: list[ChildSpec], policy: RestartPolicy | None = None, kind: str | None = None) -> None:
        self.specs = list(children)
        self.policy = policy or RestartPolicy()
        if kind is not None:
            self.display_kind = kind
        self._children: dict[str, _Child] = {}
        self._failures: deque[float] = deque()
        self._events_send, self._events_recv = trio.open_memory_channel[Any](math.inf)
        self._nursery: trio.Nursery | None = None
        self._gave_up: BaseException | None = None

    # -- public API -------------------------------------------------------------------------------

    def child_ref(self, name: str) -> ActorRef:
        return ActorRef(self._children[name].cell)

    def request_fault(self, name: str, op: FaultOp) -> None:
        if name not in self._children:
            raise KeyError(f"{self.path} has no child {name!r}")
        self._events_send.send_nowait(_Fault(name, op))

    async def add_child(self, spec: ChildSpec) -> ActorRef:
        """Start a new child (or return the existing one of that name) and wait until it is ready."""
        event = _AddChild(spec)
        self._events_send.send_nowait(event)
        await event.done.wait()
        return ActorRef(self._children[spec.name].cell)

    async def remove_child(self, name: str) -> None:
        """Stop a child for good and remove it from the tree. Unknown names are ignored."""
        event = _RemoveChild(name)
        self._events_send.send_nowait(event)
        await event.done.wait()

    def statistics(self) -> dict[str, Any]:
        return {
            "strategy": self.policy.strategy,
            "children": len(self._children),
            "failures_in_window": len(self._failures),
            "max_restarts": self.policy.max_restarts,
            "within_seconds": self.policy.within_seconds,
        }

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if getattr(self, "display_kind", None):
            self.cell.kind = self.display_kind
        tree = self.cell.tree
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for spec in self.specs:
                self._children[spec.name] = _Child(spec, tree.add(self.cell, spec.name, spec.actor_class))
            for spec in self.specs:
                await self._start(self._children[spec.name])
            task_status.started()
            try:
                while self._gave_up is None:
                    await self._handle(await self._events_recv.receive())
            finally:
                nursery.cancel_scope.cancel()
        assert self._gave_up is not None
        raise self._gave_up

    async def _handle(self, event: Any) -> None:
        if isinstance(event, _Exited):
            await self._on_exit(event)
        elif isinstance(event, _RestartDue):
            for name in event.names:
                child = self._children.get(name)
                if child is not None and child.restart_pending and not child.running:
                    child.restart_pending = False
                    await self._start(child)
        elif isinstance(event, _Fault):
            await self._on_fault(event)
        elif isinstance(event, _AddChild):
            name = event.spec.name
            if name not in self._children:
                self.specs.append(event.spec)
                cell = self.cell.tree.add(self.cell, name, event.spec.actor_class)
                self._children[name] = _Child(event.spec, cell)
                await self._start(self._children[name])
            event.done.set()
        elif isinstance(event, _RemoveChild):
            child = self._children.pop(event.name, None)
            if child is not None:
                await self._stop(child)
                self.specs = [s for s in self.specs if s.name != event.name]
                child.cell.set_state("stopped")
                self.cell.tree.remove(child.cell)
            event.done.set()

    async def _on_fault(self, event: _Fault) -> None:
        child = self._children.get(event.name)
        if child is None:
            return
        if child.running:
            # Interrupt the running incarnation; its exit event carries the op and decides what follows.
            child.cell.pending_op = event.op
            assert child.cell.scope is not None
            child.cell.scope.cancel()
        elif event.op == "restart":
            child.restart_pending = False
            await self._start(child)
        elif event.op == "stop":
            child.restart_pending = False
            child.cell.set_state("stopped")

    async def _on_exit(self, event: _Exited) -> None:
        child = event.child
        if event.incarnation != child.incarnation or child.stopping:
            return  # an incarnation the supervisor stopped on purpose
        cell = child.cell
        if event.op == "stop":
            cell.set_state("stopped")
            return
        if event.op == "restart":
            cell.restarts += 1
            await self._start(child)
            return
        error = event.error
        if event.op == "crash":
            error = InjectedCrash(f"crash injected at {cell.path}")
        if error is None:
            if child.spec.restart != "permanent":
                cell.set_state("stopped")
                return
            error_info = None
        else:
            error_info = ErrorInfo.of(error)
            cell.last_error = error_info
            log.warning("actor failed", path=cell.path, error=f"{error_info.type}: {error_info.message}")
            if child.spec.restart == "temporary":
                cell.set_state("failed")
                return
        if error is not None and isinstance(_innermost(error), AssertionError):
            cell.set_state("failed")
            await self._give_up(SupervisorGaveUp(f"{cell.path} broke an invariant: {error_info.message if error_info else ''}"), error)
            return
        # Restart intensity.
        now = clock.now()
        self._failures.append(now)
        while self._failures and self._failures[0] < now - self.policy.within_seconds:
            self._failures.popleft()
        if len(self._failures) > self.policy.max_restarts:
            cell.set_state("failed")
            reason = f"{cell.path}: {error_info.type}: {error_info.message}" if error_info else f"{cell.path} exited"
            await self._give_up(SupervisorGaveUp(
                f"{self.path} gave up after {len(self._failures)} failures in {self.policy.within_seconds:g}s (last: {reason})"),
                error)
            return
        group = self._restart_group(child)
        for other in group:
            if other is not child and other.running:
                await self._stop(other)
        for member in group:
            member.cell.restarts += 1
            member.restart_pending = True
            member.cell.set_state("restarting")
        delay = min(self.policy.backoff_max, self.policy.backoff_initial * 2 ** (len(self._failures) - 1))
        assert self._nursery is not None
        self._nursery.start_soon(self._restart_after, delay, [m.spec.name for m in group])

    def _restart_group(self, failed: _Child) -> list[_Child]:
        order = [self._children[s.name] for s in self.specs if s.name in self._children]
        if self.policy.strategy == "one_for_one":
            return [failed]
        if self.policy.strategy == "one_for_all":
            return order
        return order[order.index(failed):]

    async def _restart_after(self, delay: float, names: list[str]) -> None:
        await trio.sleep(delay)
        self._events_send.send_nowait(_RestartDue(names))

    async def _give_up(self, reason: SupervisorGaveUp, cause: BaseException | None) -> None:
        for child in reversed(list(self._children.values())):
            if child.running:
                await self._stop(child)
        reason.__cause__ = cause
        self._gave_up = reason

    # -- starting and stopping one child ---------------------------------------------------------

    async def _start(self, child: _Child) -> None:
        assert self._nursery is not None
        child.incarnation += 1
        child.running = True
        child.stopping = False
        child.done = trio.Event()
        await self._nursery.start(self._run_child, child, child.incarnation)

    async def _stop(self, child: _Child) -> None:
        """Cancel a running child and wait until its task has finished."""
        if not child.running:
            return
        child.stopping = True
        if child.cell.scope is not None:
            child.cell.scope.cancel()
        await child.done.wait()

    async def _run_child(self, child: _Child, incarnation: int, task_status: trio.TaskStatus[None]) -> None:
        cell = child.cell
        started = False

        class _Status:
            def started(self, value: Any = None) -> None:
                nonlocal started
                if not started:
                    started = True
                    cell.set_state("running")
                    task_status.started()

        error: BaseException | None = None
        cell.pending_op = None
        cell.set_state("starting")
        try:
            try:
                with trio.CancelScope() as scope:
                    cell.scope = scope
                    actor = child.spec.build()
                    actor.cell = cell
                    cell.actor = actor
                    await actor.run(_Status())
            except Exception as exc:
                error = exc
        finally:
            op, cell.pending_op = cell.pending_op, None
            child.running = False
            cell.scope = None
            child.done.set()
            if not started:
                task_status.started()
            # Reported even when the supervisor is being cancelled; it is then simply never read.
            self._events_send.send_nowait(_Exited(child, incarnation, error, op))


def _innermost(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def run_root(tree: ActorTree, name: str, actor: Actor,
                   task_status: trio.TaskStatus[ActorRef] = trio.TASK_STATUS_IGNORED) -> None:
    """Run ``actor`` as the root of ``tree`` under ``name``. Its failure propagates to the caller."""
    cell = tree.add(None, name, type(actor))
    if getattr(actor, "display_kind", None):
        cell.kind = actor.display_kind  # type: ignore[attr-defined]
    actor.cell = cell
    cell.actor = actor
    ref = ActorRef(cell)

    class _Status:
        def started(self, value: Any = None) -> None:
            cell.set_state("running")
            task_status.started(ref)

    try:
        await actor.run(_Status())
    except BaseException as exc:
        cell.last_error = ErrorInfo.of(exc) if isinstance(exc, Exception) else None
        cell.set_state("failed" if isinstance(exc, Exception) else "stopped")
        raise
    else:
        cell.set_state("stopped")
