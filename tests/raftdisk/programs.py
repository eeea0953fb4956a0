"""Random storage programs for the property tests (a helper module; pytest does not collect it).

What lives here: a Hypothesis strategy for abstract operations, `concretize`, which turns one into
a concrete call that is valid against the current state (the way a Raft core would use storage:
entries continue the log, overwrites never reach the snapshot, snapshots cover stored entries), and
`run`, which performs it on a `MemoryStorage` or a `DiskStorage`. Plus `view`, everything a
restarting core can observe.

What must never live here: assertions. The tests decide what must hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import strategies as st

from actors.raft.disk import DiskStorage
from actors.raft.messages import ConfState, Entry, HardState, SnapshotMeta
from actors.raft.ready import Ready, SnapshotPayload
from actors.raft.storage import MemoryStorage

CONF = ConfState(voters=("a", "b", "c"))


@dataclass(frozen=True)
class Op:
    """An abstract step; its numbers are resolved against the state when it runs, so every program
    Hypothesis draws (and every shrink of it) is valid."""

    kind: str
    a: int = 0
    b: int = 0
    c: int = 0
    data: bytes = b""


_ready = st.builds(
    Op,
    kind=st.just("ready"),
    a=st.integers(0, 3),
    b=st.integers(0, 6),
    c=st.integers(0, 3),
    data=st.binary(max_size=300),
)
ops = st.one_of(
    _ready,
    _ready,
    st.builds(
        Op,
        kind=st.just("readies"),
        a=st.integers(0, 3),
        b=st.integers(0, 6),
        c=st.integers(2, 4),
        data=st.binary(max_size=120),
    ),
    st.builds(Op, kind=st.just("hard"), a=st.integers(0, 3), b=st.integers(0, 9)),
    st.builds(Op, kind=st.just("snapshot"), a=st.integers(0, 50), data=st.binary(max_size=400)),
    st.builds(Op, kind=st.just("compact"), a=st.integers(0, 50)),
    st.builds(Op, kind=st.just("install"), a=st.integers(0, 4), b=st.integers(0, 3), data=st.binary(max_size=400)),
    st.just(Op("reopen")),
)
programs = st.lists(ops, min_size=4, max_size=30)


@dataclass
class Cursor:
    """What `concretize` needs to know about the log while it builds a step."""

    base: int
    last: int
    snap: int
    term: int
    commit: int

    @classmethod
    def of(cls, model: MemoryStorage) -> "Cursor":
        base, base_term = model.log_base()
        entries = model.entries()
        last = entries[-1].index if entries else base
        term = max([model.hard_state().term, base_term, model.snapshot_meta().term, 1] + [e.term for e in entries])
        return cls(base, last, model.snapshot_meta().index, term, model.hard_state().commit)


def _ready_for(op: Op, cur: Cursor, salt: int) -> Ready:
    floor = max(cur.base, cur.snap)
    first = max(floor + 1, cur.last + 1 - op.a)
    if first <= cur.last:
        cur.term += 1  # an overwrite comes from a newer leader
    kinds = ("normal", "normal", "config", "noop")
    entries = tuple(
        Entry(term=cur.term, index=first + k, kind=kinds[(first + k + salt) % 4], data=op.data[k:] + bytes([salt]))
        for k in range(op.b)
    )
    if entries:
        cur.last = entries[-1].index
    elif first <= cur.last:
        cur.term -= 1  # nothing overwritten after all
    hard = None
    if op.c:
        cur.commit = max(min(cur.commit, cur.last), min(cur.last, floor + op.c))
        hard = HardState(term=cur.term, vote="abc"[op.c % 3] if op.c > 1 else None, commit=cur.commit)
    return Ready(entries=entries, hard_state=hard)


Action = tuple
"""One of: ("readies", [Ready, ...]); ("save_snapshot", meta, data); ("compact", first_index);
("reopen",); ("noop",)."""


def concretize(op: Op, model: MemoryStorage) -> Action:
    cur = Cursor.of(model)
    if op.kind == "ready":
        return ("readies", [_ready_for(op, cur, 0)])
    if op.kind == "readies":
        parts = [Op("ready", op.a if k == 0 else 0, op.b, k % 3, op.data) for k in range(op.c)]
        return ("readies", [_ready_for(part, cur, k) for k, part in enumerate(parts)])
    if op.kind == "hard":
        commit = min(cur.last, max(cur.commit, cur.snap + op.b))
        return ("readies", [Ready(hard_state=HardState(term=cur.term + op.a, vote="abc"[op.a % 3], commit=commit))])
    if op.kind == "snapshot":
        if cur.last <= cur.snap:
            return ("noop",)
        index = cur.snap + 1 + op.a % (cur.last - cur.snap)
        entries = model.entries()
        term = entries[index - cur.base - 1].term
        return ("save_snapshot", SnapshotMeta(index=index, term=term, conf=CONF), b"fsm" + op.data)
    if op.kind == "compact":
        if cur.snap <= cur.base:
            return ("noop",)
        return ("compact", cur.base + 2 + op.a % (cur.snap - cur.base))
    if op.kind == "install":
        index = max(cur.last, cur.snap) + 1 + op.a
        term = cur.term + 1
        meta = SnapshotMeta(index=index, term=term, conf=CONF)
        after = tuple(Entry(term=term, index=index + 1 + k, data=bytes([k])) for k in range(op.b))
        rd = Ready(
            snapshot=SnapshotPayload(meta=meta, data=b"leader" + op.data),
            entries=after,
            hard_state=HardState(term=term, vote=None, commit=index),
        )
        return ("readies", [rd])
    return ("reopen",)


def run(action: Action, storage: MemoryStorage | DiskStorage, reopen: bool = True) -> MemoryStorage | DiskStorage:
    """Perform ``action``; returns the storage to use next (a new one after a disk reopen)."""
    kind = action[0]
    if kind == "readies":
        if isinstance(storage, DiskStorage) and len(action[1]) > 1:
            storage.save_readies(action[1])
        else:
            for rd in action[1]:
                storage.save_ready(rd)
    elif kind == "save_snapshot":
        storage.save_snapshot(action[1], action[2])
    elif kind == "compact":
        storage.compact(action[1])
    elif kind == "reopen" and reopen and isinstance(storage, DiskStorage):
        directory, segment_bytes = storage.directory, storage.segment_bytes
        storage.close()
        return DiskStorage(directory, segment_bytes=segment_bytes)
    return storage


def view(storage: MemoryStorage | DiskStorage) -> tuple:
    """Everything a restarting core (and its shell) can read back."""
    return (
        storage.hard_state(),
        storage.snapshot_meta(),
        storage.log_base(),
        tuple(storage.entries()),
        storage.snapshot_data(),
    )


def read_dir(directory: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every file of a data directory but the lock, by name."""
    out = {}
    for name in sorted(os.listdir(directory)):
        if name != "LOCK":
            with open(os.path.join(directory, name), "rb") as f:
                out[name] = f.read()
    return out


def write_dir(directory: str | os.PathLike[str], files: dict[str, bytes]) -> None:
    os.makedirs(directory, exist_ok=True)
    for name, content in files.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(content)
