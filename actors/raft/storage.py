"""What Raft persists, as the core sees it at start-up, plus an in-memory implementation.

What lives here: the `StorageView` protocol (read once, when a `RaftCore` is built), `MemoryStorage`
(which also implements the write side the shell needs: `save_ready`, `save_snapshot`, `compact`,
`snapshot_chunk`) and `bootstrap_state`, the first log entry of a brand-new cluster.

What must never live here: protocol decisions. The core never writes storage itself; the shell
writes what each `Ready` lists, in the order its contract states, then calls `advance`.

Concurrency: none. Every method is called from the single task that drives the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .messages import ConfState, Entry, HardState, SnapshotMeta, encode_conf
from .ready import Ready, SnapshotPayload


class StorageView(Protocol):
    """The durable state a `RaftCore` restarts from. Read once, in the constructor."""

    def hard_state(self) -> HardState:
        """Last persisted term, vote and commit; ``HardState()`` when nothing was ever written."""
        ...

    def snapshot_meta(self) -> SnapshotMeta:
        """Metadata of the newest persisted snapshot; ``SnapshotMeta()`` (index 0) when none."""
        ...

    def log_base(self) -> tuple[int, int]:
        """(index, term) of the entry just before the first stored entry; (0, 0) for a full log.
        Never above the snapshot index."""
        ...

    def entries(self) -> Sequence[Entry]:
        """The stored log, contiguous, starting right after `log_base`."""
        ...


def bootstrap_state(conf: ConfState) -> tuple[HardState, list[Entry]]:
    """The state every server of a new cluster must persist before its first start: term 1 and a
    config entry at index 1 naming the initial members (hashicorp/raft's BootstrapCluster). Every
    founding member must bootstrap with the same ``conf``; servers added later start empty."""
    conf = ConfState(voters=tuple(sorted(conf.voters)), learners=tuple(sorted(conf.learners)))
    return HardState(term=1), [Entry(term=1, index=1, kind="config", data=encode_conf(conf))]


class MemoryStorage:
    """A `StorageView` kept in memory, with the write side a shell needs.

    Survives a simulated crash when the harness keeps the object and throws the core away: only
    what was written here through `save_ready`, `save_snapshot` and `compact` comes back.
    """

    def __init__(self) -> None:
        self._hard = HardState()
        self._meta = SnapshotMeta()
        self._snapshot_data = b""
        self._base = (0, 0)
        self._entries: list[Entry] = []

    @classmethod
    def bootstrapped(cls, conf: ConfState) -> "MemoryStorage":
        storage = cls()
        hard, entries = bootstrap_state(conf)
        storage._hard = hard
        storage._entries = entries
        return storage

    # -- StorageView -----------------------------------------------------------------------------

    def hard_state(self) -> HardState:
        return self._hard

    def snapshot_meta(self) -> SnapshotMeta:
        return self._meta

    def log_base(self) -> tuple[int, int]:
        return self._base

    def entries(self) -> Sequence[Entry]:
        return tuple(self._entries)

    # -- write side ------------------------------------------------------------------------------

    def save_ready(self, rd: Ready) -> None:
        """Persist a Ready's snapshot, entries and hard state, in that order."""
        if rd.snapshot is not None:
            self.install_snapshot(rd.snapshot)
        if rd.entries:
            self.append(rd.entries)
        if rd.hard_state is not None:
            self._hard = rd.hard_state

    def append(self, new: Sequence[Entry]) -> None:
        """Store ``new``, first deleting every stored entry at or after its first index."""
        first = new[0].index
        base = self._base[0]
        last = base + len(self._entries)
        if not base < first <= last + 1:
            raise ValueError(f"append at {first} does not continue a log holding {base + 1}..{last}")
        del self._entries[first - base - 1 :]
        self._entries.extend(new)

    def install_snapshot(self, payload: SnapshotPayload) -> None:
        """A snapshot from the leader replaces the whole log."""
        self._meta = payload.meta
        self._snapshot_data = payload.data
        self._base = (payload.meta.index, payload.meta.term)
        self._entries = []

    def save_snapshot(self, meta: SnapshotMeta, data: bytes) -> None:
        """Keep a snapshot the local state machine produced (before `compact` drops entries)."""
        self._meta = meta
        self._snapshot_data = data

    def compact(self, first_index: int) -> None:
        """Drop stored entries below ``first_index`` (never beyond the snapshot)."""
        base = self._base[0]
        if first_index - 1 <= base:
            return
        if first_index - 1 > self._meta.index:
            raise ValueError(f"compacting to {first_index} would drop entries not in the snapshot")
        cut = first_index - 1 - base
        self._base = (first_index - 1, self._entries[cut - 1].term)
        del self._entries[:cut]

    # -- snapshot reads (for the leader's InstallSnapshot stream) --------------------------------

    def snapshot_data(self) -> bytes:
        return self._snapshot_data

    def snapshot_chunk(self, index: int, offset: int, max_bytes: int) -> tuple[bytes, bool] | None:
        """Bytes ``offset``.. of the snapshot at ``index`` and whether they end it; None when that
        snapshot is no longer held."""
        if index != self._meta.index or index == 0:
            return None
        data = self._snapshot_data[offset : offset + max_bytes]
        return data, offset + len(data) >= len(self._snapshot_data)
