"""`DiskStorage`: Raft's durable state under ``-data-dir``, with the same API as `MemoryStorage`.

What lives here: `DiskStorage` (the `StorageView` the core restarts from, plus the write side the
shell calls: `save_ready`, `save_readies`, `append`, `install_snapshot`, `save_snapshot`, `compact`,
`snapshot_data`, `snapshot_chunk`), the recovery that runs when it opens, and `_LogState`, the
in-memory state both recovery and the live write path build by applying the same records.

What must never live here: Raft decisions (which entries to keep is the core's business; this
module stores what it is told, in the order the `Ready` contract gives) and Trio. All IO is plain
blocking calls; the Raft actor runs them in a worker thread with ``trio.to_thread.run_sync``.

Threads: a `DiskStorage` is NOT thread-safe. Call it from one thread at a time (one worker thread
at a time is fine; two concurrent calls are not). A second process opening the same directory gets
`StorageLocked`.

On-disk layout of ``directory``:

    LOCK                              flock(2) held while open
    0000000000000001.wal ...          log segments, numbered from 1, contiguous
    snap-<index>-<term>.snap          the current snapshot (see `snapfile`)
    *.tmp                             unfinished atomic writes; deleted on open

A segment is a sequence of frames (see `frames`); each frame is one durable write holding one or
more records. The first frame of every segment holds a `Head` record restating the hard state, the
log base and the current snapshot, so whole old segments can be deleted without losing either.
Segments are created atomically (temp file + fsync + rename + fsync of the directory), so a
segment always starts with a good head. A new segment is started before a write once the tail
reaches ``segment_bytes`` (64 MiB by default); a frame is never split.

Durability: every write method returns only after fdatasync. A Ready's snapshot file is made
durable first, then its snapshot marker, entries and hard state go out as ONE frame with ONE fsync
(`save_readies` puts several Readies in that one frame: group commit). One frame is all or nothing
(checksummed), so a crash leaves each suffix overwrite either entirely undone or entirely done.

Memory: the stored entries are also kept in memory, as `MemoryStorage` does, with the segment
number of each. The log between two snapshots is bounded by the snapshot threshold, so this costs
about what the log costs on disk, and it keeps reads free of IO. Snapshot data is not kept in
memory; `snapshot_chunk` reads the file.

Recovery on open: segments are scanned in order. A bad frame at the end of the last segment, with
no valid later frame after it, is a torn write that was never acknowledged: the file is truncated
to the last good frame and a warning is logged. Anything else (a bad frame in a sealed segment, a
bad frame followed by a valid later one, a sequence gap, a missing segment or snapshot file, an
unreadable record) raises `StorageCorrupt` naming the file and offset: refusing to start is better
than a voter silently forgetting entries it acknowledged. The one case no format can tell apart is
damage to the very last frame after it was acknowledged; like etcd, it is treated as a torn write.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

import msgspec

from runtime.log import get_logger

from ..messages import ConfState, Entry, HardState, SnapshotMeta
from ..ready import Ready, SnapshotPayload
from ..storage import bootstrap_state
from .errors import StorageCorrupt, StorageError, StorageFailed
from .files import TMP_SUFFIX, atomic_write, fsync_dir, lock_directory, make_dirs, sync, write_all
from .frames import (
    FORMAT_VERSION,
    Append,
    Compact,
    Hard,
    Head,
    Record,
    Snapshot,
    decode_records,
    encode_frame,
    encode_records,
    scan,
)
from .snapfile import SnapFile, open_snapshot, parse_snapshot_name, read_range, snapshot_name, write_snapshot

DEFAULT_SEGMENT_BYTES = 64 << 20
_SEGMENT_NAME = re.compile(r"^([0-9a-f]{16})\.wal$")

log = get_logger("raft.disk")


def segment_name(number: int) -> str:
    return f"{number:016x}.wal"


class DiskStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters for the inspector: how much this storage wrote and synced since it opened."""

    directory: str
    segments: int
    tail_segment: int
    tail_bytes: int
    snapshot_index: int
    writes: int
    syncs: int
    bytes_written: int
    truncated_bytes: int


class _Hole(Exception):
    """Replay found entries that do not continue the log (a record is missing)."""


class _LogState:
    """What a sequence of records adds up to: hard state, snapshot, log base and entries (with the
    segment each entry lives in).

    `apply` has `MemoryStorage` semantics, plus one allowance recovery needs: replay starts at the
    oldest surviving segment, whose head may name a log base older than the first entry it holds
    (the entries in between lived in deleted segments and were compacted away by a later record).
    `check` verifies that no such hole is left once every record is applied.
    """

    __slots__ = ("hard", "snapshot", "base", "entries", "segs")

    def __init__(self) -> None:
        self.hard = HardState()
        self.snapshot = SnapshotMeta()
        self.base = (0, 0)
        self.entries: list[Entry] = []
        self.segs: list[int] = []

    def last_index(self) -> int:
        return self.entries[-1].index if self.entries else self.base[0]

    def apply(self, rec: Record, segment: int) -> None:
        if isinstance(rec, Append):
            self._append(rec.entries, segment)
        elif isinstance(rec, Hard):
            self.hard = rec.hard
        elif isinstance(rec, Compact):
            self._rebase(rec.index, rec.term)
        elif isinstance(rec, Snapshot):
            self.snapshot = rec.meta
            if rec.reset:
                self.base = (rec.meta.index, rec.meta.term)
                self.entries.clear()
                self.segs.clear()
        else:
            self.hard = rec.hard
            self.snapshot = rec.snapshot
            self._rebase(rec.base_index, rec.base_term)

    def _append(self, new: Sequence[Entry], segment: int) -> None:
        if not new:
            return
        first = new[0].index
        entries = self.entries
        if entries and entries[0].index <= first <= entries[-1].index + 1:
            cut = first - entries[0].index
            del entries[cut:]
            del self.segs[cut:]
        elif entries and first > entries[-1].index + 1:
            raise _Hole(f"entries at {first} do not continue the log ending at {entries[-1].index}")
        else:
            entries.clear()
            self.segs.clear()
        entries.extend(new)
        self.segs.extend([segment] * len(new))

    def _rebase(self, index: int, term: int) -> None:
        self.base = (index, term)
        entries = self.entries
        if entries and entries[0].index <= index:
            cut = min(index - entries[0].index + 1, len(entries))
            del entries[:cut]
            del self.segs[:cut]

    def check(self) -> str | None:
        """Why this state cannot be what was written, or None."""
        if self.entries and self.entries[0].index != self.base[0] + 1:
            return f"entries start at {self.entries[0].index} but the log base is {self.base[0]}"
        if self.base[0] > self.snapshot.index:
            return f"log base {self.base[0]} is beyond the snapshot at {self.snapshot.index}"
        return None


class DiskStorage:
    """A `StorageView` kept in ``directory``, with `MemoryStorage`'s write side. See the module
    docstring for the format, the durability rules and the threading contract.

    ``segment_bytes``: a new segment starts once the current one reaches this size. Old segments
    are deleted as soon as a compaction (or a snapshot from the leader) leaves them no live entry.
    """

    def __init__(self, directory: str | os.PathLike[str], *, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        if segment_bytes <= 0:
            raise ValueError("segment_bytes must be positive")
        self.directory = os.path.abspath(os.fspath(directory))
        self.segment_bytes = segment_bytes
        make_dirs(self.directory)
        self._lock_fd: int | None = lock_directory(self.directory)
        self._fd: int | None = None
        self._state = _LogState()
        self._segments: list[int] = []
        self._tail_size = 0
        self._seq = 0
        self._snap: SnapFile | None = None
        self._failed: BaseException | None = None
        self._writes = self._syncs = self._bytes_written = self._truncated = 0
        try:
            self._recover()
        except BaseException:
            self.close()
            raise

    @classmethod
    def bootstrapped(cls, directory: str | os.PathLike[str], conf: ConfState, **kwargs: int) -> "DiskStorage":
        """Open ``directory`` and persist the bootstrap state of a new cluster (see `bootstrap`)."""
        storage = cls(directory, **kwargs)
        try:
            storage.bootstrap(conf)
        except BaseException:
            storage.close()
            raise
        return storage

    def bootstrap(self, conf: ConfState) -> None:
        """Persist term 1 and the founding configuration entry. Refuses a directory that already
        holds Raft state: bootstrapping twice could fork the cluster."""
        st = self._state
        if st.hard != HardState() or st.entries or st.snapshot.index or st.base != (0, 0):
            raise ValueError(f"{self.directory} already holds Raft state; refusing to bootstrap it again")
        hard, entries = bootstrap_state(conf)
        self.save_ready(Ready(hard_state=hard, entries=tuple(entries)))

    def close(self) -> None:
        """Release the files. Idempotent. Everything acknowledged is already durable."""
        for attr in ("_fd", "_lock_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                setattr(self, attr, None)
                os.close(fd)

    def __enter__(self) -> "DiskStorage":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- StorageView -----------------------------------------------------------------------------

    def hard_state(self) -> HardState:
        return self._state.hard

    def snapshot_meta(self) -> SnapshotMeta:
        return self._state.snapshot

    def log_base(self) -> tuple[int, int]:
        return self._state.base

    def entries(self) -> Sequence[Entry]:
        return tuple(self._state.entries)

    # -- write side ------------------------------------------------------------------------------

    def save_ready(self, rd: Ready) -> None:
        """Persist a Ready's snapshot, entries and hard state, in that order; returns once durable."""
        self.save_readies((rd,))

    def save_readies(self, readies: Iterable[Ready]) -> None:
        """Group commit: persist several Readies, in order, with one log write and one fsync (plus
        one write+fsync per snapshot file they carry). Returns once all of it is durable. Readies
        with nothing to persist cost nothing. Raises ValueError, before writing anything, if some
        entries would not continue the log."""
        readies = tuple(readies)
        self._writable()
        base, last = self._state.base[0], self._state.last_index()
        for rd in readies:
            if rd.snapshot is not None:
                base = last = rd.snapshot.meta.index
            if rd.entries:
                first = rd.entries[0].index
                if not base < first <= last + 1:
                    raise ValueError(f"append at {first} does not continue a log holding {base + 1}..{last}")
                last = rd.entries[-1].index
        records: list[Record] = []
        snaps: list[SnapFile] = []
        for rd in readies:
            if rd.snapshot is not None:
                snaps.append(self._write_snapshot_file(rd.snapshot.meta, rd.snapshot.data))
                records.append(Snapshot(meta=rd.snapshot.meta, reset=True))
            if rd.entries:
                records.append(Append(entries=rd.entries))
            if rd.hard_state is not None:
                records.append(Hard(hard=rd.hard_state))
        self._commit(records, snaps)

    def append(self, new: Sequence[Entry]) -> None:
        """Store ``new``, first deleting every stored entry at or after its first index."""
        self.save_readies((Ready(entries=tuple(new)),))

    def install_snapshot(self, payload: SnapshotPayload) -> None:
        """A snapshot from the leader replaces the whole log."""
        self.save_readies((Ready(snapshot=payload),))

    def save_snapshot(self, meta: SnapshotMeta, data: bytes) -> None:
        """Keep a snapshot the local state machine produced (before `compact` drops entries). The
        previous snapshot file is deleted once this one is durable and recorded in the log."""
        self._writable()
        snap = self._write_snapshot_file(meta, data)
        self._commit([Snapshot(meta=meta)], [snap])

    def compact(self, first_index: int) -> None:
        """Drop stored entries below ``first_index`` (never beyond the snapshot); durable on return.
        Segments left without a live entry are deleted."""
        self._writable()
        st = self._state
        base = st.base[0]
        if first_index - 1 <= base:
            return
        if first_index - 1 > st.snapshot.index:
            raise ValueError(f"compacting to {first_index} would drop entries not in the snapshot")
        cut = first_index - 1 - base
        if cut > len(st.entries):
            raise ValueError(f"compacting to {first_index} goes past the last stored entry {st.last_index()}")
        self._commit([Compact(index=first_index - 1, term=st.entries[cut - 1].term)], [])

    # -- snapshot reads (for the leader's InstallSnapshot stream) --------------------------------

    def snapshot_data(self) -> bytes:
        """The current snapshot's bytes (read from its file); b"" when there is none."""
        if self._snap is None:
            return b""
        return read_range(self._snap, 0, self._snap.size)

    def snapshot_chunk(self, index: int, offset: int, max_bytes: int) -> tuple[bytes, bool] | None:
        """Bytes ``offset``.. of the snapshot at ``index`` and whether they end it; None when that
        snapshot is no longer held."""
        snap = self._snap
        if snap is None or index != snap.meta.index or index == 0:
            return None
        data = read_range(snap, offset, max_bytes)
        return data, offset + len(data) >= snap.size

    def stats(self) -> DiskStats:
        return DiskStats(
            directory=self.directory,
            segments=len(self._segments),
            tail_segment=self._segments[-1] if self._segments else 0,
            tail_bytes=self._tail_size,
            snapshot_index=self._state.snapshot.index,
            writes=self._writes,
            syncs=self._syncs,
            bytes_written=self._bytes_written,
            truncated_bytes=self._truncated,
        )

    # -- internals: writing ----------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def _writable(self) -> None:
        if self._failed is not None:
            raise StorageFailed(f"an earlier write to {self.directory} failed ({self._failed}); restart to recover")
        if self._fd is None:
            raise StorageError(f"{self.directory} is closed")

    def _fail(self, exc: OSError) -> StorageFailed:
        self._failed = exc
        log.error("raft storage write failed", directory=self.directory, error=str(exc))
        return StorageFailed(f"write to {self.directory} failed: {exc}")

    def _write_snapshot_file(self, meta: SnapshotMeta, data: bytes) -> SnapFile:
        try:
            snap = write_snapshot(self.directory, meta, data)
        except OSError as exc:
            raise self._fail(exc) from exc
        self._syncs += 2
        self._bytes_written += len(data)
        return snap

    def _commit(self, records: list[Record], snaps: list[SnapFile]) -> None:
        """Write ``records`` as one frame, fsync, then apply them to the in-memory state."""
        if not records:
            return
        assert self._fd is not None
        if self._tail_size >= self.segment_bytes:
            self._start_segment(self._segments[-1] + 1)
        frame = encode_frame(self._seq + 1, encode_records(records))
        try:
            write_all(self._fd, frame)
            sync(self._fd)
        except OSError as exc:
            raise self._fail(exc) from exc
        self._seq += 1
        self._tail_size += len(frame)
        self._writes += 1
        self._syncs += 1
        self._bytes_written += len(frame)
        segment = self._segments[-1]
        for rec in records:
            self._state.apply(rec, segment)
        if snaps:
            current = self._state.snapshot
            for snap in snaps:
                if snap.meta == current:
                    self._snap = snap
            self._drop_old_snapshots()
        self._drop_dead_segments()

    def _start_segment(self, number: int) -> None:
        """Create segment ``number`` atomically, its head restating the current state, and make it
        the tail."""
        st = self._state
        head = Head(
            version=FORMAT_VERSION,
            segment=number,
            hard=st.hard,
            base_index=st.base[0],
            base_term=st.base[1],
            snapshot=st.snapshot,
        )
        frame = encode_frame(self._seq + 1, encode_records([head]))
        path = self._path(segment_name(number))
        try:
            atomic_write(self.directory, segment_name(number), (frame,))
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise self._fail(exc) from exc
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fd
        self._segments.append(number)
        self._seq += 1
        self._tail_size = len(frame)
        self._syncs += 2
        self._bytes_written += len(frame)
        log.debug("raft log segment started", file=path, seq=self._seq)

    def _drop_dead_segments(self) -> None:
        """Delete, oldest first, the segments before the one holding the first live entry. Each
        unlink is made durable before the next, so a crash never leaves a hole in the numbering."""
        st = self._state
        tail = self._segments[-1]
        keep_from = min(st.segs[0], tail) if st.segs else tail
        while self._segments[0] < keep_from:
            path = self._path(segment_name(self._segments[0]))
            try:
                os.unlink(path)
                fsync_dir(self.directory)
            except OSError as exc:
                log.warning("could not delete an old raft log segment", file=path, error=str(exc))
                return
            self._segments.pop(0)
            log.debug("raft log segment deleted", file=path)

    def _drop_old_snapshots(self) -> None:
        keep = snapshot_name(self._state.snapshot.index, self._state.snapshot.term)
        for name in os.listdir(self.directory):
            if parse_snapshot_name(name) is not None and name != keep:
                try:
                    os.unlink(self._path(name))
                except OSError as exc:
                    log.warning("could not delete an old snapshot", file=self._path(name), error=str(exc))

    # -- internals: recovery ---------------------------------------------------------------------

    def _recover(self) -> None:
        segments: list[int] = []
        snapshots: set[str] = set()
        for name in sorted(os.listdir(self.directory)):
            if name.endswith(TMP_SUFFIX):
                os.unlink(self._path(name))
                log.info("removed an unfinished file left by a crash", file=self._path(name))
            elif m := _SEGMENT_NAME.match(name):
                segments.append(int(m.group(1), 16))
            elif parse_snapshot_name(name) is not None:
                snapshots.add(name)
        if not segments:
            if snapshots:
                raise StorageCorrupt(self.directory, None, "snapshot files but no log segments")
            self._start_segment(1)
            return
        for prev, cur in zip(segments, segments[1:]):
            if cur != prev + 1:
                raise StorageCorrupt(self._path(segment_name(prev + 1)), None, "log segment missing")
        for i, number in enumerate(segments):
            self._replay_segment(number, last=i == len(segments) - 1)
        self._segments = segments
        problem = self._state.check()
        if problem:
            raise StorageCorrupt(self.directory, None, problem)
        meta = self._state.snapshot
        if meta.index:
            name = snapshot_name(meta.index, meta.term)
            if name not in snapshots:
                raise StorageCorrupt(self._path(name), None, "the log names this snapshot but the file is missing")
            snap = open_snapshot(self._path(name))
            if snap.meta != meta:
                raise StorageCorrupt(snap.path, None, f"snapshot metadata {snap.meta} differs from the log's {meta}")
            self._snap = snap
        self._drop_old_snapshots()
        self._fd = os.open(self._path(segment_name(segments[-1])), os.O_WRONLY | os.O_APPEND)
        self._drop_dead_segments()  # a crash may have interrupted the deletions

    def _replay_segment(self, number: int, *, last: bool) -> None:
        path = self._path(segment_name(number))
        with open(path, "rb") as f:
            data = f.read()
        found = scan(data)
        if found.problem is not None:
            if not last:
                raise StorageCorrupt(path, found.end, f"{found.problem} in a sealed segment")
            if found.later is not None:
                raise StorageCorrupt(
                    path, found.end, f"{found.problem}, yet a later valid frame follows at byte {found.later}"
                )
            if found.end == 0:
                raise StorageCorrupt(path, 0, f"{found.problem} in the segment head, which is written atomically")
        for j, frame in enumerate(found.frames):
            if self._seq and frame.seq != self._seq + 1:
                raise StorageCorrupt(path, frame.offset, f"frame sequence jumps from {self._seq} to {frame.seq}")
            self._seq = frame.seq
            try:
                records = decode_records(frame.payload)
            except msgspec.MsgspecError as exc:
                raise StorageCorrupt(path, frame.offset, f"unreadable frame: {exc}") from None
            if j == 0:
                head = records[0] if records else None
                if not isinstance(head, Head):
                    raise StorageCorrupt(path, 0, "segment does not start with a head record")
                if head.version > FORMAT_VERSION:
                    raise StorageCorrupt(path, 0, f"written by a newer format (version {head.version})")
                if head.segment != number:
                    raise StorageCorrupt(path, 0, f"segment head says it is segment {head.segment}")
            elif any(isinstance(rec, Head) for rec in records):
                raise StorageCorrupt(path, frame.offset, "head record in the middle of a segment")
            try:
                for rec in records:
                    self._state.apply(rec, number)
            except _Hole as exc:
                raise StorageCorrupt(path, frame.offset, str(exc)) from None
        self._tail_size = found.end
        if found.problem is not None:
            dropped = len(data) - found.end
            with open(path, "r+b") as f:
                f.truncate(found.end)
                f.flush()
                sync(f.fileno())
            self._truncated += dropped
            log.warning(
                "truncated a torn write at the end of the raft log",
                file=path,
                offset=found.end,
                dropped_bytes=dropped,
                reason=found.problem,
            )
