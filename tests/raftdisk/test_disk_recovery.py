"""Recovery on open: a torn tail is cut back to the last good frame; any other damage refuses to
start with `StorageCorrupt` naming the file and offset; crashes during snapshot or segment creation
leave the previous state in force."""

from __future__ import annotations

import logging
import os
import shutil

import pytest

from actors.raft.disk import DiskStorage, StorageCorrupt
from actors.raft.disk.frames import scan
from actors.raft.disk.snapfile import snapshot_name
from actors.raft.messages import ConfState, Entry, HardState, SnapshotMeta
from actors.raft.ready import Ready

from .programs import view

CONF = ConfState(voters=("a", "b", "c"))


def batch(first: int, count: int, term: int = 1) -> Ready:
    entries = tuple(Entry(term=term, index=first + k, data=b"v%d" % (first + k) * 20) for k in range(count))
    return Ready(entries=entries, hard_state=HardState(term=term, commit=first + count - 1))


def tail_path(directory: os.PathLike[str]) -> str:
    return os.path.join(directory, sorted(n for n in os.listdir(directory) if n.endswith(".wal"))[-1])


def frame_offsets(path: str) -> list[int]:
    with open(path, "rb") as f:
        return [fr.offset for fr in scan(f.read()).frames]


def written(tmp_path, batches: int = 5, segment_bytes: int = 1 << 20) -> tuple[tuple, tuple]:
    """A directory holding ``batches`` batches of 3 entries; returns (view before the last batch,
    view after it)."""
    with DiskStorage(tmp_path, segment_bytes=segment_bytes) as disk:
        for k in range(batches - 1):
            disk.save_ready(batch(3 * k + 1, 3))
        before = view(disk)
        disk.save_ready(batch(3 * (batches - 1) + 1, 3))
        return before, view(disk)


def flip(path: str, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x10]))


@pytest.mark.parametrize("cut", [1, 13, 40, -1])
def test_a_torn_last_frame_is_cut_back_to_the_last_good_one(tmp_path, caplog, cut):
    before, _ = written(tmp_path)
    path = tail_path(tmp_path)
    last = frame_offsets(path)[-1]
    size = os.path.getsize(path)
    os.truncate(path, last + cut if cut > 0 else size + cut)
    with caplog.at_level(logging.WARNING, logger="proconsul.raft.disk"):
        disk = DiskStorage(tmp_path)
    assert view(disk) == before
    assert os.path.getsize(path) == last
    assert "truncated a torn write" in caplog.text
    disk.save_ready(batch(13, 1))  # and the log goes on from there
    disk.close()
    with DiskStorage(tmp_path) as disk:
        assert disk.entries()[-1].index == 13


@pytest.mark.parametrize("junk", [b"\0" * 4096, b"\xd7PCW" + os.urandom(500), os.urandom(3)])
def test_garbage_after_the_last_frame_is_truncated(tmp_path, junk):
    _, after = written(tmp_path)
    path = tail_path(tmp_path)
    size = os.path.getsize(path)
    with open(path, "ab") as f:
        f.write(junk)
    with DiskStorage(tmp_path) as disk:
        assert view(disk) == after
        assert disk.stats().truncated_bytes == len(junk)
    assert os.path.getsize(path) == size


def test_a_flipped_byte_followed_by_good_frames_refuses_to_start(tmp_path):
    written(tmp_path)
    path = tail_path(tmp_path)
    offsets = frame_offsets(path)
    flip(path, offsets[2] + 30)
    with pytest.raises(StorageCorrupt) as info:
        DiskStorage(tmp_path)
    assert info.value.path == path and info.value.offset == offsets[2]
    assert "checksum mismatch" in str(info.value) and f"{path} at byte {offsets[2]}" in str(info.value)


def test_a_flipped_byte_in_a_frame_header_is_caught_too(tmp_path):
    written(tmp_path)
    path = tail_path(tmp_path)
    offsets = frame_offsets(path)
    for where in (0, 5, 9, 14):  # magic, crc, length, seq
        shutil.copy(path, path + ".orig")
        flip(path, offsets[3] + where)
        with pytest.raises(StorageCorrupt) as info:
            DiskStorage(tmp_path)
        assert info.value.offset == offsets[3]
        os.replace(path + ".orig", path)


def test_any_bad_frame_in_a_sealed_segment_refuses_to_start(tmp_path):
    written(tmp_path, batches=30, segment_bytes=1024)
    segments = sorted(n for n in os.listdir(tmp_path) if n.endswith(".wal"))
    assert len(segments) > 3
    sealed = os.path.join(tmp_path, segments[1])
    last = frame_offsets(sealed)[-1]
    flip(sealed, os.path.getsize(sealed) - 1)  # even its very last frame: sealed segments are never torn
    with pytest.raises(StorageCorrupt, match="in a sealed segment") as info:
        DiskStorage(tmp_path)
    assert (info.value.path, info.value.offset) == (sealed, last)


def test_a_missing_segment_refuses_to_start(tmp_path):
    written(tmp_path, batches=30, segment_bytes=1024)
    segments = sorted(n for n in os.listdir(tmp_path) if n.endswith(".wal"))
    os.unlink(os.path.join(tmp_path, segments[2]))
    with pytest.raises(StorageCorrupt, match="segment missing") as info:
        DiskStorage(tmp_path)
    assert info.value.path.endswith(segments[2])


def test_losing_the_oldest_segment_while_it_holds_live_entries_refuses_to_start(tmp_path):
    written(tmp_path, batches=30, segment_bytes=1024)
    os.unlink(tmp_path / "0000000000000001.wal")
    with pytest.raises(StorageCorrupt, match="entries start at .* but the log base is 0"):
        DiskStorage(tmp_path)


def test_a_damaged_segment_head_refuses_to_start(tmp_path):
    written(tmp_path)
    path = tail_path(tmp_path)
    flip(path, 25)
    with pytest.raises(StorageCorrupt, match="later valid frame") as info:
        DiskStorage(tmp_path)
    assert info.value.offset == 0
    DiskStorage(tmp_path / "fresh").close()  # a head and nothing after it: still not a torn write
    flip(tail_path(tmp_path / "fresh"), 25)
    with pytest.raises(StorageCorrupt, match="segment head, which is written atomically"):
        DiskStorage(tmp_path / "fresh")


def test_damage_to_the_last_acknowledged_frame_reads_as_a_torn_write(tmp_path):
    """The one ambiguity no format resolves: the last frame, fsynced and acknowledged, then damaged,
    looks exactly like a torn write. Like etcd we cut it (Raft re-replicates it from the leader)."""
    before, _ = written(tmp_path)
    path = tail_path(tmp_path)
    flip(path, os.path.getsize(path) - 1)
    with DiskStorage(tmp_path) as disk:
        assert view(disk) == before


def test_log_bytes_stored_inside_an_entry_do_not_pass_for_later_frames(tmp_path):
    """An entry holding a copy of a log segment (a user's backup in a KV value, say) contains valid
    old frames. When the frame carrying it is torn, those must not read as proof of later writes."""
    written(tmp_path)
    with open(tail_path(tmp_path), "rb") as f:
        old_log = f.read()
    with DiskStorage(tmp_path) as disk:
        before = view(disk)
        disk.save_ready(Ready(entries=(Entry(term=1, index=16, data=old_log),)))
    path = tail_path(tmp_path)
    os.truncate(path, os.path.getsize(path) - 10)
    with DiskStorage(tmp_path) as disk:
        assert view(disk) == before


def test_a_crash_while_writing_a_snapshot_keeps_the_old_one_and_cleans_up(tmp_path):
    with DiskStorage(tmp_path) as disk:
        disk.save_ready(batch(1, 12))
        disk.save_snapshot(SnapshotMeta(index=5, term=1, conf=CONF), b"snapshot@5")
        disk.compact(4)
        before = view(disk)
    # the crash came half-way through writing the snapshot at 10: a temp file is all there is
    partial = os.path.join(tmp_path, snapshot_name(10, 1) + ".tmp")
    with open(partial, "wb") as f:
        f.write(b"PCSNAP01\x00\x01")
    with DiskStorage(tmp_path) as disk:
        assert view(disk) == before
        assert disk.snapshot_chunk(5, 0, 100) == (b"snapshot@5", True)
    assert not os.path.exists(partial)


def test_a_snapshot_file_the_log_never_recorded_is_discarded(tmp_path):
    """Crash after the new snapshot file was renamed into place but before the log recorded it."""
    with DiskStorage(tmp_path) as disk:
        disk.save_ready(batch(1, 12))
        disk.save_snapshot(SnapshotMeta(index=5, term=1, conf=CONF), b"snapshot@5")
        before = view(disk)
        os.makedirs(tmp_path / "other")
        with DiskStorage(tmp_path / "other") as scratch:
            scratch.save_ready(batch(1, 12))
            scratch.save_snapshot(SnapshotMeta(index=10, term=1, conf=CONF), b"snapshot@10")
        os.rename(tmp_path / "other" / snapshot_name(10, 1), tmp_path / snapshot_name(10, 1))
    with DiskStorage(tmp_path) as disk:
        assert view(disk) == before
    assert not os.path.exists(tmp_path / snapshot_name(10, 1))


def test_a_damaged_snapshot_file_refuses_to_start(tmp_path):
    with DiskStorage(tmp_path) as disk:
        disk.save_ready(batch(1, 12))
        disk.save_snapshot(SnapshotMeta(index=5, term=1, conf=CONF), b"snapshot@5" * 100)
    path = str(tmp_path / snapshot_name(5, 1))
    flip(path, os.path.getsize(path) - 100)
    with pytest.raises(StorageCorrupt, match="snapshot data checksum mismatch") as info:
        DiskStorage(tmp_path)
    assert info.value.path == path


def test_a_missing_snapshot_file_refuses_to_start(tmp_path):
    with DiskStorage(tmp_path) as disk:
        disk.save_ready(batch(1, 12))
        disk.save_snapshot(SnapshotMeta(index=5, term=1, conf=CONF), b"snapshot@5")
    os.unlink(tmp_path / snapshot_name(5, 1))
    with pytest.raises(StorageCorrupt, match="file is missing"):
        DiskStorage(tmp_path)


def test_a_crash_while_starting_a_segment_leaves_the_previous_tail_in_use(tmp_path):
    _, after = written(tmp_path)
    with open(tail_path(tmp_path), "rb") as f:
        head = f.read(60)
    partial = os.path.join(tmp_path, "0000000000000002.wal.tmp")
    with open(partial, "wb") as f:
        f.write(head)
    with DiskStorage(tmp_path) as disk:
        assert view(disk) == after
    assert not os.path.exists(partial)
