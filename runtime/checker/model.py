"""Sequential specifications the linearizability checker tests histories against.

What lives here: the `Model` protocol, the `BaseModel` defaults, and the two models of the KV register
workload: `RegisterModel` (one value, initially None, with read/write/cas) and `KVModel` (a map of
independent registers, partitioned by key so each key is checked on its own).

A model is a deterministic state machine: ``step(state, input, output)`` says whether an operation
with that input may have returned that output in that state, and which state follows. An op whose
output is `UNKNOWN` (an indeterminate "info" op) must be accepted in every state, moving to the state
the op would produce; that keeps ``step`` deterministic and lets the checker place such an op anywhere.
States must be hashable (or `key` must map them to something hashable): the search memoizes on them.

``partition`` implements P-compositionality (Herlihy & Wing): a history of a map of independent
registers is linearizable iff each key's sub-history is.

Register ops (inputs), with ``ok`` outputs:
    ("read", None)          -> the value read
    ("write", v)            -> anything (ignored)
    ("cas", (old, new))     -> True if the swap happened, False if the value was not `old`
KV ops carry the key: ("read", k, None), ("write", k, v), ("cas", k, (old, new)).

What must never live here: the search, history bookkeeping, I/O, or any import of ``actors``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Hashable, Protocol, Sequence

from .history import UNKNOWN, Op


class Model(Protocol):
    def init(self) -> Any: ...

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]: ...

    def partition(self, ops: Sequence[Op]) -> list[tuple[Hashable, list[Op]]]: ...

    def key(self, state: Any) -> Hashable: ...

    def read_only(self, input: Any) -> bool: ...

    def describe_input(self, input: Any) -> str: ...

    def describe_output(self, input: Any, output: Any) -> str: ...

    def describe_state(self, state: Any) -> str: ...


class BaseModel:
    """Defaults: one partition, the state is its own memo key, no op is known to be read-only."""

    def init(self) -> Any:
        raise NotImplementedError

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        raise NotImplementedError

    def partition(self, ops: Sequence[Op]) -> list[tuple[Hashable, list[Op]]]:
        return [(None, list(ops))]

    def key(self, state: Any) -> Hashable:
        return state

    def read_only(self, input: Any) -> bool:
        """True for inputs that never change the state; info ops with such inputs constrain nothing
        and are dropped before the search."""
        return False

    def describe_input(self, input: Any) -> str:
        return repr(input)

    def describe_output(self, input: Any, output: Any) -> str:
        return "?" if output is UNKNOWN else repr(output)

    def describe_state(self, state: Any) -> str:
        return repr(state)


def _freeze(value: Any) -> Hashable:
    """A hashable stand-in for a register value (lists and dicts come back from JSON decoding)."""
    if isinstance(value, list):
        return ("__list__", tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("__dict__", tuple(sorted((k, _freeze(v)) for k, v in value.items())))
    return value


def register_step(state: Any, f: str, arg: Any, output: Any) -> tuple[bool, Any]:
    """The single-register specification shared by `RegisterModel` and `KVModel`."""
    if f == "read":
        return (output is UNKNOWN or output == state), state
    if f == "write":
        return True, arg
    if f == "cas":
        old, new = arg
        if output is UNKNOWN:
            return True, (new if state == old else state)
        if output:
            return state == old, new
        return state != old, state
    raise ValueError(f"unknown register operation {f!r}")


def describe_register_input(f: str, arg: Any) -> str:
    if f == "read":
        return "read"
    if f == "write":
        return f"write {arg!r}"
    if f == "cas":
        old, new = arg
        return f"cas {old!r} -> {new!r}"
    return f"{f} {arg!r}"


def describe_register_output(f: str, output: Any) -> str:
    if output is UNKNOWN:
        return "? (indeterminate)"
    if f == "write":
        return "ok"
    if f == "cas":
        return "ok" if output else "failed"
    return repr(output)


class RegisterModel(BaseModel):
    """A single read/write/compare-and-set register, initially `initial` (None)."""

    def __init__(self, initial: Any = None) -> None:
        self.initial = initial

    def init(self) -> Any:
        return self.initial

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        f, arg = input
        return register_step(state, f, arg, output)

    def key(self, state: Any) -> Hashable:
        return _freeze(state)

    def read_only(self, input: Any) -> bool:
        return input[0] == "read"

    def describe_input(self, input: Any) -> str:
        return describe_register_input(input[0], input[1])

    def describe_output(self, input: Any, output: Any) -> str:
        return describe_register_output(input[0], output)


class KVModel(BaseModel):
    """A map of independent registers; ops are ``(f, key, arg)`` and each key is checked separately."""

    def __init__(self, initial: Any = None) -> None:
        self.initial = initial

    def init(self) -> Any:
        return self.initial

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        f, _key, arg = input
        return register_step(state, f, arg, output)

    def partition(self, ops: Sequence[Op]) -> list[tuple[Hashable, list[Op]]]:
        groups: dict[Hashable, list[Op]] = defaultdict(list)
        for op in ops:
            groups[op.input[1]].append(op)
        return sorted(groups.items(), key=lambda kv: repr(kv[0]))

    def key(self, state: Any) -> Hashable:
        return _freeze(state)

    def read_only(self, input: Any) -> bool:
        return input[0] == "read"

    def describe_input(self, input: Any) -> str:
        f, key, arg = input
        return f"{describe_register_input(f, arg)} @{key}"

    def describe_output(self, input: Any, output: Any) -> str:
        return describe_register_output(input[0], output)
