"""The live actor tree: one `Cell` per actor path, kept across restarts, and its JSON snapshot.

What lives here: `Cell` (the stable identity of an actor: its path, its inbox, its counters and the
record of its failures; the actor *instance* inside it is replaced on every restart), `ActorTree` (the
registry of cells by path, a change counter that inspectors wait on, and fault injection by path), and
the snapshot Structs that the inspector sends over the websocket.

What must never live here: restart policy (that is `supervisor.py`) or message handling (`actor.py`).
The tree only records what happened and lets others observe it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import trio

from runtime import clock

if TYPE_CHECKING:
    from runtime.actor import Actor

ActorState = Literal["starting", "running", "restarting", "stopped", "failed"]
FaultOp = Literal["crash", "stop", "restart"]


class ErrorInfo(msgspec.Struct, frozen=True):
    """The last failure of an actor: exception type name and message."""

    type: str
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> "ErrorInfo":
        inner = _unwrap(exc)
        return cls(type=type(inner).__name__, message=str(inner))


def _unwrap(exc: BaseException) -> BaseException:
    """Single-error exception groups (as Trio nurseries raise them) are reported as their one error."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class NodeSnapshot(msgspec.Struct):
    """One actor as the inspector shows it. ``stats`` holds the actor's own figures (raft term, role...)."""

    path: str
    kind: str
    state: str
    restarts: int
    last_error: ErrorInfo | None
    inbox: int
    handled: int
    dropped: int
    started_at: float | None
    stats: dict[str, Any]
    children: list["NodeSnapshot"]


class Cell:
    """The stable identity of one actor in the tree.

    A cell outlives the actor instances that run in it: its inbox, counters and path stay the same
    across restarts, so references held by other actors remain valid while the supervisor restarts it.
    """

    def __init__(self, tree: "ActorTree", parent: "Cell | None", name: str, actor_class: type["Actor"]) -> None:
        self.tree = tree
        self.parent = parent
        self.name = name
        self.path = name if parent is None else f"{parent.path}/{name}"
        self.actor_class = actor_class
        self.kind = actor_class.kind
        self.accepts: tuple[type, ...] = actor_class.accepted_types()
        self.overflow = actor_class.overflow
        size = actor_class.inbox_size
        self.inbox_send, self.inbox_recv = trio.open_memory_channel[Any](math.inf if size is None else size)
        self.children: dict[str, Cell] = {}
        self.actor: Actor | None = None
        self.scope: trio.CancelScope | None = None
        self.state: ActorState = "starting"
        self.restarts = 0
        self.last_error: ErrorInfo | None = None
        self.handled = 0
        self.dropped = 0
        self.started_at: float | None = None
        self.pending_op: FaultOp | None = None

    # -- bookkeeping, called by the supervisor and the actor loop ------------------------------------

    def set_state(self, state: ActorState) -> None:
        self.state = state
        if state == "running":
            self.started_at = clock.wall_time()
        self.tree.touch()

    def inbox_depth(self) -> int:
        return self.inbox_send.statistics().current_buffer_used

    def snapshot(self) -> NodeSnapshot:
        stats: dict[str, Any] = {}
        if self.actor is not None:
            try:
                stats = self.actor.statistics()
            except Exception as exc:  # an actor's broken statistics() must not break the inspector
                stats = {"statistics_error": f"{type(exc).__name__}: {exc}"}
        return NodeSnapshot(
            path=self.path,
            kind=self.kind,
            state=self.state,
            restarts=self.restarts,
            last_error=self.last_error,
            inbox=self.inbox_depth(),
            handled=self.handled,
            dropped=self.dropped,
            started_at=self.started_at,
            stats=stats,
            children=[child.snapshot() for child in self.children.values()],
        )


class ActorTree:
    """All cells of one agent, by path, plus a change counter observers can wait on."""

    def __init__(self) -> None:
        self.cells: dict[str, Cell] = {}
        self.root: Cell | None = None
        self.version = 0
        self._changed = trio.Event()
        self._waiters = 0

    def add(self, parent: Cell | None, name: str, actor_class: type["Actor"]) -> Cell:
        if "/" in name or not name:
            raise ValueError(f"invalid actor name {name!r}: must be non-empty and contain no '/'")
        existing = (parent.children if parent else {}).get(name)
        if existing is not None:
            return existing
        cell = Cell(self, parent, name, actor_class)
        if parent is None:
            if self.root is not None:
                raise ValueError("the tree already has a root")
            self.root = cell
        else:
            parent.children[name] = cell
        self.cells[cell.path] = cell
        self.touch()
        return cell

    def remove(self, cell: Cell) -> None:
        for child in list(cell.children.values()):
            self.remove(child)
        self.cells.pop(cell.path, None)
        if cell.parent is not None:
            cell.parent.children.pop(cell.name, None)
        self.touch()

    def get(self, path: str) -> Cell:
        try:
            return self.cells[path]
        except KeyError:
            raise KeyError(f"no actor at path {path!r}") from None

    # -- change notification -----------------------------------------------------------------------

    def touch(self) -> None:
        """Record that something observable changed. Cheap when nobody is watching."""
        self.version += 1
        if self._waiters:
            self._changed.set()
            self._changed = trio.Event()

    async def wait_changed(self, seen_version: int) -> int:
        """Wait until the tree's version passes ``seen_version``; return the new version."""
        while self.version <= seen_version:
            self._waiters += 1
            try:
                await self._changed.wait()
            finally:
                self._waiters -= 1
        return self.version

    def snapshot(self) -> NodeSnapshot | None:
        return None if self.root is None else self.root.snapshot()

    # -- fault injection ---------------------------------------------------------------------------

    def inject(self, path: str, op: FaultOp) -> None:
        """Crash, stop or restart the actor at ``path`` through its supervisor.

        ``crash`` counts as a failure (restart intensity, backoff, ``last_error``); ``restart`` restarts
        without counting as a failure; ``stop`` stops the actor until a later ``restart``.
        """
        cell = self.get(path)
        supervisor = cell.parent.actor if cell.parent is not None else None
        if supervisor is None or not hasattr(supervisor, "request_fault"):
            raise ValueError(f"actor {path!r} has no supervisor to act on it")
        supervisor.request_fault(cell.name, op)
