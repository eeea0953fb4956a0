"""DiskStorage's normal life: what goes in comes back after close and reopen, with MemoryStorage's
semantics, one fsync per group commit, and old segments and snapshots deleted when dead."""

from __future__ import annotations

import errno
import os

import pytest

from actors.raft.disk import DiskStorage, StorageError, StorageFailed, StorageLocked
from actors.raft.disk import storage as disk_module
from actors.raft.messages import ConfState, Entry, HardState, SnapshotMeta
from actors.raft.ready import Ready, SnapshotPayload
from actors.raft.storage import MemoryStorage

from .programs import view

CONF = ConfState(voters=("a", "b", "c"))


def run(first: int, count: int, term: int = 1, size: int = 200) -> tuple[Entry, ...]:
    return tuple(Entry(term=term, index=first + k, data=bytes([k % 256]) * size) for k in range(count))


def wal_files(directory: os.PathLike[str]) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".wal"))


def snap_files(directory: os.PathLike[str]) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".snap"))


def reopen(storage: DiskStorage) -> DiskStorage:
    storage.close()
    return DiskStorage(storage.directory, segment_bytes=storage.segment_bytes)


def test_a_fresh_directory_reads_as_empty_storage(tmp_path):
    with DiskStorage(tmp_path / "raft") as disk:
        assert view(disk) == view(MemoryStorage())
        assert wal_files(tmp_path / "raft") == ["0000000000000001.wal"]


def test_entries_hard_state_and_snapshot_survive_reopen(tmp_path):
    disk = DiskStorage(tmp_path)
    hard = HardState(term=3, vote="b", commit=4)
    disk.save_ready(Ready(entries=run(1, 5, term=3), hard_state=hard))
    meta = SnapshotMeta(index=4, term=3, conf=CONF)
    disk.save_snapshot(meta, b"state-machine-at-4")
    disk = reopen(disk)
    assert disk.hard_state() == hard
    assert disk.entries() == run(1, 5, term=3)
    assert disk.log_base() == (0, 0)
    assert disk.snapshot_meta() == meta
    assert disk.snapshot_data() == b"state-machine-at-4"
    disk.close()


def test_bootstrap_matches_memory_storage_and_refuses_a_second_time(tmp_path):
    disk = DiskStorage.bootstrapped(tmp_path, CONF)
    assert view(disk) == view(MemoryStorage.bootstrapped(CONF))
    disk = reopen(disk)
    assert view(disk) == view(MemoryStorage.bootstrapped(CONF))
    with pytest.raises(ValueError, match="already holds Raft state"):
        disk.bootstrap(CONF)
    disk.close()


def test_suffix_overwrite_survives_reopen(tmp_path):
    disk = DiskStorage(tmp_path)
    disk.save_ready(Ready(entries=run(1, 6, term=1), hard_state=HardState(term=1, commit=2)))
    disk.save_ready(Ready(entries=run(4, 2, term=2, size=7), hard_state=HardState(term=2, commit=3)))
    expected = run(1, 3, term=1) + run(4, 2, term=2, size=7)
    assert disk.entries() == expected
    disk = reopen(disk)
    assert disk.entries() == expected
    assert disk.hard_state() == HardState(term=2, commit=3)
    disk.close()


def test_entries_that_do_not_continue_the_log_are_refused_before_anything_is_written(tmp_path):
    disk = DiskStorage(tmp_path)
    disk.append(run(1, 3))
    size = os.path.getsize(tmp_path / wal_files(tmp_path)[-1])
    for bad in (run(5, 1), run(0, 1)):
        with pytest.raises(ValueError, match="does not continue"):
            disk.append(bad)
    with pytest.raises(ValueError, match="does not continue"):  # the second Ready of a group is checked too
        disk.save_readies([Ready(entries=run(4, 1)), Ready(entries=run(9, 1))])
    assert os.path.getsize(tmp_path / wal_files(tmp_path)[-1]) == size
    assert reopen(disk).entries() == run(1, 3)


def test_group_commit_writes_several_readies_with_one_write_and_one_fsync(tmp_path):
    disk = DiskStorage(tmp_path)
    before = disk.stats()
    disk.save_readies(
        [
            Ready(entries=run(1, 16), hard_state=HardState(term=1)),
            Ready(entries=run(17, 16)),
            Ready(entries=run(10, 2, term=2), hard_state=HardState(term=2, commit=5)),
        ]
    )
    after = disk.stats()
    assert (after.writes - before.writes, after.syncs - before.syncs) == (1, 1)
    memory = MemoryStorage()
    memory.save_ready(Ready(entries=run(1, 16), hard_state=HardState(term=1)))
    memory.save_ready(Ready(entries=run(17, 16)))
    memory.save_ready(Ready(entries=run(10, 2, term=2), hard_state=HardState(term=2, commit=5)))
    assert view(disk) == view(memory)
    assert view(reopen(disk)) == view(memory)


def test_readies_with_nothing_to_persist_cost_no_write(tmp_path):
    disk = DiskStorage(tmp_path)
    before = disk.stats()
    disk.save_readies([Ready(), Ready(committed_entries=run(1, 1))])
    disk.compact(1)  # nothing to drop
    assert disk.stats() == before
    disk.close()


def fill(disk: DiskStorage, last: int, per_ready: int = 4) -> None:
    index = disk.entries()[-1].index + 1 if disk.entries() else disk.log_base()[0] + 1
    while index <= last:
        n = min(per_ready, last - index + 1)
        disk.save_ready(Ready(entries=run(index, n, term=1), hard_state=HardState(term=1, commit=index + n - 1)))
        index += n


def test_compaction_deletes_dead_segments_and_reopen_sees_the_log_base(tmp_path):
    disk = DiskStorage(tmp_path, segment_bytes=4096)
    fill(disk, 200)
    segments = wal_files(tmp_path)
    assert len(segments) > 5
    meta = SnapshotMeta(index=150, term=1, conf=CONF)
    disk.save_snapshot(meta, b"fsm@150")
    disk.compact(141)  # keep ten entries before the snapshot for slow followers
    assert disk.log_base() == (140, 1)
    left = wal_files(tmp_path)
    assert left == segments[-len(left) :] and len(left) < len(segments) // 2
    # the oldest remaining segment holds entry 141: the one before it held none of 141..200
    disk = reopen(disk)
    assert disk.log_base() == (140, 1)
    assert [e.index for e in disk.entries()] == list(range(141, 201))
    assert disk.snapshot_meta() == meta
    fill(disk, 210)
    assert [e.index for e in reopen(disk).entries()] == list(range(141, 211))


def test_segments_a_crash_kept_from_deletion_are_deleted_on_open(tmp_path):
    disk = DiskStorage(tmp_path, segment_bytes=2048)
    fill(disk, 100)
    kept = {name: (tmp_path / name).read_bytes() for name in wal_files(tmp_path)}
    disk.save_snapshot(SnapshotMeta(index=90, term=1, conf=CONF), b"fsm@90")
    disk.compact(91)
    expected = view(disk)
    disk.close()
    deleted = sorted(set(kept) - set(wal_files(tmp_path)))
    for name in deleted[len(deleted) // 2 :]:  # oldest first: the crash stopped half-way
        (tmp_path / name).write_bytes(kept[name])
    disk = DiskStorage(tmp_path, segment_bytes=2048)
    assert view(disk) == expected
    assert not set(deleted) & set(wal_files(tmp_path))
    disk.close()


def test_compacting_everything_keeps_only_the_tail_segment(tmp_path):
    disk = DiskStorage(tmp_path, segment_bytes=2048)
    fill(disk, 100)
    disk.save_snapshot(SnapshotMeta(index=100, term=1, conf=CONF), b"all")
    disk.compact(101)
    assert len(wal_files(tmp_path)) == 1
    disk = reopen(disk)
    assert disk.log_base() == (100, 1) and disk.entries() == ()
    disk.close()


def test_a_snapshot_from_the_leader_replaces_the_log_and_frees_its_segments(tmp_path):
    disk = DiskStorage(tmp_path, segment_bytes=2048)
    fill(disk, 60)
    meta = SnapshotMeta(index=500, term=4, conf=CONF)
    disk.save_ready(
        Ready(
            snapshot=SnapshotPayload(meta=meta, data=b"from-leader"),
            entries=run(501, 2, term=4),
            hard_state=HardState(term=4, commit=500),
        )
    )
    assert len(wal_files(tmp_path)) == 1
    disk = reopen(disk)
    assert disk.log_base() == (500, 4)
    assert disk.entries() == run(501, 2, term=4)
    assert disk.snapshot_meta() == meta
    assert disk.snapshot_data() == b"from-leader"
    disk.close()


def test_snapshot_chunks_come_from_the_file_and_old_snapshots_are_deleted(tmp_path):
    disk = DiskStorage(tmp_path)
    fill(disk, 20)
    data = os.urandom(10_000)
    disk.save_snapshot(SnapshotMeta(index=10, term=1, conf=CONF), b"old")
    disk.save_snapshot(SnapshotMeta(index=20, term=1, conf=CONF), data)
    assert snap_files(tmp_path) == ["snap-0000000000000014-0000000000000001.snap"]
    chunks, offset, done = [], 0, False
    while not done:
        chunk = disk.snapshot_chunk(20, offset, 4096)
        assert chunk is not None
        chunks.append(chunk[0])
        offset += len(chunk[0])
        done = chunk[1]
    assert b"".join(chunks) == data and len(chunks) == 3
    assert disk.snapshot_chunk(10, 0, 4096) is None
    assert disk.snapshot_chunk(20, 10_000, 4096) == (b"", True)
    assert MemoryStorage().snapshot_chunk(0, 0, 1) is None and disk.snapshot_chunk(0, 0, 1) is None
    disk.close()


def test_a_second_open_of_the_same_directory_is_refused(tmp_path):
    with DiskStorage(tmp_path):
        with pytest.raises(StorageLocked):
            DiskStorage(tmp_path)
    DiskStorage(tmp_path).close()


def test_compacting_beyond_the_snapshot_is_refused(tmp_path):
    with DiskStorage(tmp_path) as disk:
        fill(disk, 10)
        with pytest.raises(ValueError, match="not in the snapshot"):
            disk.compact(5)


def test_a_failed_fsync_refuses_every_later_write(tmp_path, monkeypatch):
    disk = DiskStorage(tmp_path)
    fill(disk, 4)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(disk_module, "sync", broken)
    with pytest.raises(StorageFailed, match="Input/output error"):
        disk.append(run(5, 1))
    assert [e.index for e in disk.entries()] == [1, 2, 3, 4]  # not applied: never acknowledged
    monkeypatch.undo()
    with pytest.raises(StorageFailed, match="restart to recover"):
        disk.append(run(5, 1))
    disk = reopen(disk)  # the write did reach the page cache; a restart may keep it or not
    assert [e.index for e in disk.entries()] in ([1, 2, 3, 4], [1, 2, 3, 4, 5])
    disk.close()


def test_a_closed_storage_refuses_writes(tmp_path):
    disk = DiskStorage(tmp_path)
    disk.close()
    disk.close()
    with pytest.raises(StorageError, match="closed"):
        disk.append(run(1, 1))
