"""Histories of client operations, as recorded by a workload, ready for the linearizability checker.

What lives here: the `Op` record (client, input, output, invoke/complete times, status), the
`History` container with its validation and failed-op filtering, the `UNKNOWN` output of indeterminate
ops, and `HistoryRecorder`, a pure bookkeeping helper a workload calls around each request with
times it reads from its own clock.

Statuses follow Jepsen's vocabulary: ``ok`` (completed, output observed), ``fail`` (definitely did not
take effect; dropped before checking) and ``info`` (indeterminate: a timeout or a lost connection; the
op may have taken effect at any moment after its invocation, or never; its ``complete`` is None and its
output `UNKNOWN`).

What must never live here: the search algorithm, models, clocks, I/O, trio, or any import of ``actors``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Hashable, Iterable, Iterator, Literal

Status = Literal["ok", "info", "fail"]


class _Unknown:
    """Output of an op whose result was never observed."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True, slots=True)
class Op:
    """One client operation. ``complete`` is None exactly when ``status == "info"``."""

    id: int
    client: Hashable
    input: Any
    output: Any
    invoke: float
    complete: float | None
    status: Status = "ok"

    @property
    def is_info(self) -> bool:
        return self.status == "info"


class HistoryError(ValueError):
    """A history that cannot describe a real execution (time running backwards, bad status...)."""


class History:
    """An immutable, validated sequence of operations (in any order)."""

    __slots__ = ("ops",)

    def __init__(self, ops: Iterable[Op]) -> None:
        ops = tuple(ops)
        seen: set[int] = set()
        for op in ops:
            if op.id in seen:
                raise HistoryError(f"duplicate op id {op.id}")
            seen.add(op.id)
            if op.status not in ("ok", "info", "fail"):
                raise HistoryError(f"op {op.id}: unknown status {op.status!r}")
            if op.status == "info":
                if op.complete is not None:
                    raise HistoryError(f"op {op.id}: an info op has no completion time")
            elif op.complete is None:
                raise HistoryError(f"op {op.id}: a {op.status} op needs a completion time")
            elif op.complete < op.invoke:
                raise HistoryError(f"op {op.id}: completes at {op.complete} before its invocation at {op.invoke}")
        self.ops = ops

    @classmethod
    def from_tuples(cls, rows: Iterable[tuple]) -> History:
        """Build from ``(client, input, output, invoke, complete)`` rows; ``complete=None`` makes an info op
        (its output is ignored) and an output of the string ``"fail"`` makes a failed op."""
        ops = []
        for i, row in enumerate(rows):
            client, inp, out, invoke, complete = row
            if complete is None:
                ops.append(Op(i, client, inp, UNKNOWN, invoke, None, "info"))
            elif isinstance(out, str) and out == "fail":
                ops.append(Op(i, client, inp, None, invoke, complete, "fail"))
            else:
                ops.append(Op(i, client, inp, out, invoke, complete, "ok"))
        return cls(ops)

    def checkable(self) -> list[Op]:
        """The ops that enter the check: failed ops removed, info outputs replaced by `UNKNOWN`."""
        out = []
        for op in self.ops:
            if op.status == "fail":
                continue
            if op.status == "info" and op.output is not UNKNOWN:
                op = replace(op, output=UNKNOWN)
            out.append(op)
        return out

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return f"History({len(self.ops)} ops)"


class HistoryRecorder:
    """Records a workload's operations. Pure: every time is passed in by the caller.

    A client has at most one operation in flight; once its op is resolved (ok, fail or info) it may
    invoke the next one. An info op stays open-ended in the history (it may take effect later), which
    is exactly how the checker treats it.
    """

    def __init__(self) -> None:
        self._ops: dict[int, Op] = {}
        self._pending: dict[int, Op] = {}
        self._busy: dict[Hashable, int] = {}
        self._next = 0

    def invoke(self, client: Hashable, input: Any, t: float) -> int:
        if client in self._busy:
            raise HistoryError(f"client {client!r} already has op {self._busy[client]} in flight")
        op_id = self._next
        self._next += 1
        self._pending[op_id] = Op(op_id, client, input, None, t, None, "info")
        self._busy[client] = op_id
        return op_id

    def _resolve(self, op_id: int, output: Any, t: float | None, status: Status) -> None:
        op = self._pending.get(op_id)
        if op is None:
            raise HistoryError(f"op {op_id} is not in flight")
        if t is not None and t < op.invoke:
            raise HistoryError(f"op {op_id}: resolved at {t} before its invocation at {op.invoke}")
        del self._pending[op_id]
        del self._busy[op.client]
        self._ops[op_id] = replace(op, output=output, complete=t, status=status)

    def ok(self, op_id: int, output: Any, t: float) -> None:
        """The op completed and returned `output` (read value, cas success bool, None for a write)."""
        self._resolve(op_id, output, t, "ok")

    def fail(self, op_id: int, t: float) -> None:
        """The op definitely did not take effect (e.g. rejected before reaching the leader)."""
        self._resolve(op_id, None, t, "fail")

    def info(self, op_id: int, t: float | None = None) -> None:
        """The outcome is unknown (timeout, connection lost). `t` is when the client gave up; it is kept
        for reports only: the op may still take effect at any later time."""
        self._resolve(op_id, UNKNOWN, None, "info")

    @property
    def in_flight(self) -> list[int]:
        return sorted(self._pending)

    def history(self) -> History:
        """All ops so far; ops still in flight count as info ops."""
        ops = dict(self._ops)
        for op_id, op in self._pending.items():
            ops[op_id] = replace(op, output=UNKNOWN)
        return History(ops[k] for k in sorted(ops))
