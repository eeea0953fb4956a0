"""The core's in-memory view of its Raft log.

What lives here: `RaftLog`, the retained entries plus four cursors over them::

    snapshot.index >= base_index          entries hold base_index+1 .. last_index
    applied <= applying <= committed <= last_index
    stable <= handed <= last_index

* ``base_index``/``base_term``: the entry just before the first retained one. Compaction keeps
  ``trailing_logs`` entries before the snapshot index, so the base may sit below the snapshot.
* ``stable``: last index known persisted (confirmed by `RaftCore.advance`); ``handed``: last index
  handed to the shell in a Ready but maybe not persisted yet. Entries above ``handed`` are the
  unstable tail the next Ready carries.
* ``applying``: last index handed out as a committed entry; ``applied``: confirmed by `advance`.

Overwriting a suffix (a follower repairing a conflict) moves ``stable`` and ``handed`` back; the
storage applies the same overwrite when it persists the new entries.

What must never live here: IO, roles, messages. Every index argument has been range-checked by the
caller or is checked here with an assertion (a failed assertion is a bug, not bad input).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

from .messages import Entry, SnapshotMeta


class RaftLog:
    __slots__ = (
        "base_index",
        "base_term",
        "entries",
        "snapshot",
        "committed",
        "applying",
        "applied",
        "stable",
        "handed",
        "config_indexes",
    )

    def __init__(
        self,
        *,
        snapshot: SnapshotMeta,
        base_index: int,
        base_term: int,
        entries: Sequence[Entry],
        committed: int,
    ) -> None:
        if base_index > snapshot.index:
            raise ValueError(f"log base {base_index} is above the snapshot index {snapshot.index}")
        if base_index == snapshot.index and base_term != snapshot.term:
            raise ValueError("log base and snapshot disagree on the term at the snapshot index")
        for offset, entry in enumerate(entries):
            if entry.index != base_index + 1 + offset:
                raise ValueError(f"stored entries are not contiguous after {base_index}: found {entry.index}")
        self.base_index = base_index
        self.base_term = base_term
        self.entries: list[Entry] = list(entries)
        self.snapshot = snapshot
        last = base_index + len(self.entries)
        if snapshot.index > last:
            raise ValueError(f"snapshot index {snapshot.index} is beyond the stored log end {last}")
        self.committed = min(max(committed, snapshot.index), last)
        self.applying = snapshot.index
        self.applied = snapshot.index
        self.stable = last
        self.handed = last
        self.config_indexes: list[int] = [e.index for e in self.entries if e.kind == "config"]

    # -- reading ---------------------------------------------------------------------------------

    def first_index(self) -> int:
        return self.base_index + 1

    def last_index(self) -> int:
        return self.base_index + len(self.entries)

    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.base_term

    def term(self, index: int) -> int | None:
        """Term of the entry at ``index``; None when compacted away or beyond the end."""
        if index == self.base_index:
            return self.base_term
        if self.base_index < index <= self.base_index + len(self.entries):
            return self.entries[index - self.base_index - 1].term
        return None

    def match_term(self, index: int, term: int) -> bool:
        t = self.term(index)
        return t is not None and t == term

    def entry(self, index: int) -> Entry:
        assert self.base_index < index <= self.last_index(), f"entry {index} is not retained"
        return self.entries[index - self.base_index - 1]

    def slice(self, lo: int, max_entries: int, max_bytes: int) -> list[Entry]:
        """Entries from ``lo`` on, at most ``max_entries`` and about ``max_bytes`` of data (always
        at least one entry when any exists)."""
        assert lo > self.base_index, f"slice from {lo} reaches into the compacted prefix"
        start = lo - self.base_index - 1
        out = self.entries[start : start + max_entries]
        size = 0
        for n, entry in enumerate(out):
            size += len(entry.data)
            if size > max_bytes and n > 0:
                return out[:n]
        return out

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Is a candidate's log at least as up-to-date as ours (Raft paper section 5.4.1)?"""
        mine = self.last_term()
        return last_term > mine or (last_term == mine and last_index >= self.last_index())

    def first_index_of_term(self, index: int, term: int) -> int:
        """First retained index holding ``term``, given that ``index`` holds it (reject hints)."""
        lo = bisect_left(self.entries, term, 0, index - self.base_index - 1, key=_entry_term)
        return self.base_index + 1 + lo

    def last_index_of_term(self, term: int, upto: int) -> int:
        """Largest index <= ``upto`` whose entry has exactly ``term``; 0 if unknown here."""
        upto = min(upto, self.last_index())
        if upto < self.base_index:
            return 0
        hi = bisect_right(self.entries, term, 0, upto - self.base_index, key=_entry_term)
        if hi > 0:
            return self.base_index + hi if self.entries[hi - 1].term == term else 0
        return self.base_index if self.base_term == term and self.base_index > 0 else 0

    def latest_config(self, upto: int | None = None) -> Entry | None:
        """The newest retained config entry at or below ``upto`` (default: anywhere) that is newer
        than the snapshot; None means the snapshot's membership is in force."""
        idxs = self.config_indexes
        if upto is None:
            pos = len(idxs)
        else:
            pos = bisect_right(idxs, upto)
        if pos == 0:
            return None
        idx = idxs[pos - 1]
        if idx <= self.snapshot.index:
            return None
        return self.entry(idx)

    # -- writing ---------------------------------------------------------------------------------

    def append(self, new: Sequence[Entry]) -> None:
        """Append ``new`` (contiguous), overwriting any suffix starting at its first index."""
        if not new:
            return
        first = new[0].index
        last = self.last_index()
        assert self.base_index < first <= last + 1, f"append at {first} leaves a gap after {last}"
        if first <= last:
            assert first > self.committed, (
                f"overwriting committed entry {first} (commit {self.committed}): State Machine Safety"
            )
            del self.entries[first - self.base_index - 1 :]
            self.stable = min(self.stable, first - 1)
            self.handed = min(self.handed, first - 1)
            pos = bisect_left(self.config_indexes, first)
            del self.config_indexes[pos:]
        self.entries.extend(new)
        self.config_indexes.extend(e.index for e in new if e.kind == "config")

    def find_conflict(self, new: Sequence[Entry]) -> int:
        """Index of the first entry of ``new`` that is missing here or has another term; 0 if all
        of them are already present."""
        for entry in new:
            if not self.match_term(entry.index, entry.term):
                return entry.index
        return 0

    def maybe_append(self, prev_index: int, prev_term: int, commit: int, new: Sequence[Entry]) -> int | None:
        """AppendEntries receiver rule: None on a (prev_index, prev_term) mismatch, else the index of
        the last entry the leader sent (now known to match), after storing any new suffix."""
        if not self.match_term(prev_index, prev_term):
            return None
        last_new = prev_index + len(new)
        conflict = self.find_conflict(new)
        if conflict:
            self.append(new[conflict - prev_index - 1 :])
        self.commit_to(min(commit, last_new))
        return last_new

    def commit_to(self, index: int) -> bool:
        if index <= self.committed:
            return False
        assert index <= self.last_index(), f"commit {index} beyond the last index {self.last_index()}"
        self.committed = index
        return True

    def maybe_commit(self, index: int, term: int) -> bool:
        """Leader rule (Raft paper Figure 8): only an entry of the current term commits by counting."""
        if index > self.committed and self.term(index) == term:
            return self.commit_to(index)
        return False

    def restore(self, meta: SnapshotMeta) -> None:
        """Replace the whole log by a snapshot received from the leader."""
        self.base_index = meta.index
        self.base_term = meta.term
        self.entries = []
        self.snapshot = meta
        self.committed = meta.index
        self.applying = meta.index
        self.applied = meta.index
        self.stable = meta.index
        self.handed = meta.index
        self.config_indexes = []

    def compact(self, meta: SnapshotMeta, trailing: int) -> int:
        """Record a local snapshot at ``meta.index`` and drop entries more than ``trailing`` below
        it. Returns the new first retained index."""
        assert self.snapshot.index < meta.index <= self.applied, "compaction must move forward, within applied"
        self.snapshot = meta
        new_base = max(self.base_index, meta.index - trailing)
        if new_base > self.base_index:
            self.base_term = self.entry(new_base).term
            del self.entries[: new_base - self.base_index]
            self.base_index = new_base
            pos = bisect_right(self.config_indexes, new_base)
            del self.config_indexes[:pos]
        return self.base_index + 1

    # -- Ready bookkeeping -----------------------------------------------------------------------

    def unstable_entries(self) -> list[Entry]:
        start = max(self.handed, self.base_index)
        return self.entries[start - self.base_index :]

    def has_unstable(self) -> bool:
        return self.last_index() > self.handed

    def accept_unstable(self, index: int) -> None:
        self.handed = max(self.handed, index)

    def stable_to(self, index: int, term: int) -> None:
        """Storage confirmed entries up to (index, term); ignored if that entry was overwritten."""
        if index > self.stable and self.match_term(index, term):
            self.stable = index

    def committed_to_apply(self) -> list[Entry]:
        if self.committed <= self.applying:
            return []
        return self.entries[self.applying - self.base_index : self.committed - self.base_index]

    def has_committed_to_apply(self) -> bool:
        return self.committed > self.applying

    def accept_applying(self, index: int) -> None:
        self.applying = max(self.applying, index)

    def applied_to(self, index: int) -> None:
        self.applied = max(self.applied, min(index, self.applying))


def _entry_term(entry: Entry) -> int:
    return entry.term


def entries_bytes(entries: Iterable[Entry]) -> int:
    return sum(len(e.data) for e in entries)
