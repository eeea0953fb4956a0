"""What a pool's shell loop receives, on one channel that outlives the shell's restarts.

What lives here: the items put on ``PoolState.inputs`` and `Pending`, a one-shot reply slot.

- ``(address, bytes)`` tuples: datagrams, put there by the UDP endpoint (it drops when the channel is full);
- `StreamRequest`: a message read by the TCP listener's handler, which waits on ``reply`` for the
  answers to write back;
- `StreamAnswered` / `StreamFailed`: the outcome of an exchange the shell started;
- the commands the facade sends (`JoinCmd`, `LeaveCmd`, `ForceLeaveCmd`, `FireCmd`, `QueryCmd`), each
  answered through its ``reply`` (a join with a `JoinOutcome`).

What must never live here: behaviour.
"""

from __future__ import annotations

from typing import Any

import msgspec
import trio

from actors.swim.messages import Addr


class GossipUnavailable(Exception):
    """The pool's shell is not running or did not answer in time."""


class Pending:
    """A reply that arrives later: ``set`` or ``fail`` once, ``wait`` (bounded by the caller) for it."""

    __slots__ = ("_event", "_value", "_error")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def set(self, value: Any = None) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    def fail(self, error: BaseException) -> None:
        if not self._event.is_set():
            self._error = error
            self._event.set()

    async def wait(self) -> Any:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value


class JoinOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a join achieved: how many seeds exchanged state, and one line per address that failed."""

    contacted: int
    errors: list[str] = []


class StreamRequest:
    __slots__ = ("src", "msg", "reply")

    def __init__(self, src: Addr, msg: object, reply: Pending) -> None:
        self.src, self.msg, self.reply = src, msg, reply


class StreamAnswered:
    __slots__ = ("addr", "replies")

    def __init__(self, addr: Addr, replies: list[object]) -> None:
        self.addr, self.replies = addr, replies


class StreamFailed:
    __slots__ = ("addr", "msg", "reason")

    def __init__(self, addr: Addr, msg: object, reason: str) -> None:
        self.addr, self.msg, self.reason = addr, msg, reason


class Command:
    """Base of the facade's requests; ``reply`` gets the outcome."""

    __slots__ = ("reply",)

    def __init__(self) -> None:
        self.reply = Pending()


class JoinCmd(Command):
    __slots__ = ("addrs", "labels")

    def __init__(self, addrs: list[Addr], labels: dict[Addr, str]) -> None:
        super().__init__()
        self.addrs = addrs
        self.labels = labels  # how the user wrote each address, for error messages


class LeaveCmd(Command):
    __slots__ = ()


class ForceLeaveCmd(Command):
    __slots__ = ("node", "prune")

    def __init__(self, node: str, prune: bool) -> None:
        super().__init__()
        self.node, self.prune = node, prune


class FireCmd(Command):
    __slots__ = ("name", "payload", "coalesce")

    def __init__(self, name: str, payload: bytes, coalesce: bool = False) -> None:
        super().__init__()
        self.name, self.payload, self.coalesce = name, payload, coalesce


class QueryCmd(Command):
    __slots__ = ("name", "payload")

    def __init__(self, name: str, payload: bytes) -> None:
        super().__init__()
        self.name, self.payload = name, payload
