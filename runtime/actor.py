"""Actors: a Trio task with a path, a bounded typed inbox, and figures for the inspector.

What lives here: the `Actor` base class, `ActorRef` (the handle others use to talk to an actor:
fire-and-forget `send`, `send_nowait`, and request/reply `request` with a timeout), the message-type
helpers, and the errors those calls raise.

An actor subclass declares:

- ``kind``: a short word shown in the tree (``"raft"``, ``"check"``).
- ``Inbox``: the tagged Union of ``msgspec.Struct`` messages it accepts; anything else sent to it is a
  `TypeError` at the sender, never a surprise inside the actor.
- ``inbox_size`` and ``overflow``: what happens when the inbox is full.
    * ``"await"`` (default): the sender waits for room. Use it where losing a message would be wrong
      (a proposal to Raft, a registration): back-pressure flows to the caller.
    * ``"drop"``: the message is dropped and counted in ``dropped``; `send` returns ``False``. Use it
      where a newer message supersedes an older one or loss is information (per-peer Raft senders,
      gossip packets, metrics), so a slow consumer can never stall its producers.
- ``handle(msg)``: called once per message; its return value is the reply to `request`.
- optionally ``run(task_status)`` for actors that also keep timers or sockets; the default runs
  ``on_start`` then the inbox loop.

An exception escaping ``handle`` or ``run`` crashes the actor: its supervisor records the error and
restarts it with a fresh instance; the inbox (and anything still queued in it) survives the restart.
A request whose handler crashed fails at once with `ActorCrashed` instead of waiting for its timeout.

What must never live here: restart decisions (`supervisor.py`), protocol logic (``actors/``), or any
clock other than Trio's.
"""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec
import trio

if TYPE_CHECKING:
    from runtime.tree import Cell

Overflow = Literal["await", "drop"]


class ActorError(Exception):
    """Base of the errors raised to callers of an actor."""


class ActorTimeout(ActorError, trio.TooSlowError):
    """A request got no reply within its timeout."""


class ActorCrashed(ActorError):
    """The actor crashed while handling this request."""


class ActorNotRunning(ActorError):
    """The actor is stopped or failed and will not handle messages."""


class InjectedCrash(Exception):
    """Raised into an actor by fault injection (``crash`` at its path)."""


def message_types(union: Any) -> tuple[type, ...]:
    """The Struct classes of a ``A | B | C`` union (or a single Struct class)."""
    if union is None:
        return ()
    if isinstance(union, type):
        return (union,)
    if isinstance(union, types.UnionType) or typing.get_origin(union) is typing.Union:
        found: list[type] = []
        for arg in typing.get_args(union):
            found.extend(message_types(arg))
        return tuple(found)
    raise TypeError(f"not a message type or union of message types: {union!r}")


class OneShot:
    """A one-shot result: set once (value or error), awaited by whoever holds it.

    The reply slot of `ActorRef.request`, and what actors hand back when a request is accepted now
    but answered later (a Raft proposal resolves when its entry is applied).
    """

    __slots__ = ("_event", "value", "error")

    def __init__(self) -> None:
        self._event = trio.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def set(self, value: Any) -> None:
        if not self._event.is_set():
            self.value = value
            self._event.set()

    resolve = set

    def fail(self, error: BaseException) -> None:
        if not self._event.is_set():
            self.error = error
            self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> Any:
        await self._event.wait()
        if self.error is not None:
            raise self.error
        return self.value


_Reply = OneShot


class _Call:
    """A request in an inbox: the message and where its answer goes."""

    __slots__ = ("message", "reply")

    def __init__(self, message: Any, reply: _Reply) -> None:
        self.message = message
        self.reply = reply


class ActorRef:
    """How other actors (and HTTP handlers) talk to an actor. Stays valid across restarts."""

    __slots__ = ("_cell",)

    def __init__(self, cell: "Cell") -> None:
        self._cell = cell

    @property
    def path(self) -> str:
        return self._cell.path

    def _check(self, message: Any) -> None:
        accepts = self._cell.accepts
        if accepts and not isinstance(message, accepts):
            names = ", ".join(t.__name__ for t in accepts)
            raise TypeError(f"{self._cell.path} accepts {names}; got {type(message).__name__}")
        if self._cell.state in ("stopped", "failed"):
            raise ActorNotRunning(f"{self._cell.path} is {self._cell.state}")

    async def send(self, message: Any) -> bool:
        """Deliver ``message``. Waits for room (``await`` inboxes) or drops it (``drop``: returns False)."""
        self._check(message)
        if self._cell.overflow == "drop":
            return self._offer(message)
        await self._cell.inbox_send.send(message)
        return True

    def send_nowait(self, message: Any) -> bool:
        """Deliver without waiting: returns False (and counts a drop) if the inbox is full."""
        self._check(message)
        return self._offer(message)

    def _offer(self, item: Any) -> bool:
        try:
            self._cell.inbox_send.send_nowait(item)
            return True
        except trio.WouldBlock:
            self._cell.dropped += 1
            self._cell.tree.touch()
            return False

    async def request(self, message: Any, timeout: float = 5.0) -> Any:
        """Send ``message`` and wait for the handler's return value.

        Raises `ActorTimeout` after ``timeout`` seconds (the time spent waiting for inbox room counts),
        `ActorCrashed` if the handler raised, `ActorNotRunning` if the actor is stopped.
        """
        self._check(message)
        reply = _Reply()
        with trio.move_on_after(timeout) as scope:
            if self._cell.overflow == "drop":
                if not self._offer(_Call(message, reply)):
                    raise ActorTimeout(f"{self._cell.path}: inbox full")
            else:
                await self._cell.inbox_send.send(_Call(message, reply))
            return await reply.wait()
        assert scope.cancelled_caught
        raise ActorTimeout(f"{self._cell.path} did not answer within {timeout}s")


class Actor:
    """Base class of every actor. See the module docstring for what a subclass declares."""

    kind: ClassVar[str] = "actor"
    Inbox: ClassVar[Any] = None
    inbox_size: ClassVar[int | None] = 64
    overflow: ClassVar[Overflow] = "await"

    cell: "Cell"

    @classmethod
    def accepted_types(cls) -> tuple[type, ...]:
        return message_types(cls.Inbox)

    # -- what subclasses override ----------------------------------------------------------------

    async def on_start(self) -> None:
        """Prepare before readiness is signalled (bind sockets, load state). Default: nothing."""

    async def handle(self, message: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not handle {type(message).__name__}")

    def statistics(self) -> dict[str, Any]:
        """Actor-specific figures for the inspector (JSON-able values). Default: none."""
        return {}

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.on_start()
        task_status.started()
        await self.serve_inbox()

    # -- helpers for subclasses ------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self.cell.path

    @property
    def ref(self) -> ActorRef:
        return ActorRef(self.cell)

    async def serve_inbox(self) -> None:
        """Handle inbox messages one at a time, forever."""
        receive = self.cell.inbox_recv
        while True:
            item = await receive.receive()
            await self.dispatch(item)

    async def dispatch(self, item: Any) -> None:
        """Handle one inbox item (plain message or request), then count it."""
        cell = self.cell
        if isinstance(item, _Call):
            try:
                result = await self.handle(item.message)
            except BaseException as exc:
                if isinstance(exc, Exception):
                    item.reply.fail(ActorCrashed(f"{cell.path} crashed handling {type(item.message).__name__}: {exc}"))
                else:
                    item.reply.fail(ActorCrashed(f"{cell.path} was interrupted handling {type(item.message).__name__}"))
                raise
            item.reply.set(result)
        else:
            await self.handle(item)
        cell.handled += 1
        cell.tree.touch()


def is_struct(value: Any) -> bool:
    return isinstance(value, msgspec.Struct)
