"""Properties over random storage programs: DiskStorage answers exactly as MemoryStorage does, and a
crash at any byte of the last write recovers either everything acknowledged before it, or that plus
the whole last write, and nothing in between."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from actors.raft.disk import DiskStorage
from actors.raft.disk.frames import scan
from actors.raft.storage import MemoryStorage

from .programs import concretize, programs, read_dir, run, view, write_dir

SEGMENT_SIZES = st.sampled_from([300, 600, 1500, 4096, 1 << 20])
FIXTURES = [HealthCheck.function_scoped_fixture]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(program=programs, segment_bytes=SEGMENT_SIZES)
def test_disk_and_memory_storage_give_the_same_answers(tmp_path_factory, program, segment_bytes):
    directory = tmp_path_factory.mktemp("same")
    memory = MemoryStorage()
    disk = DiskStorage(directory, segment_bytes=segment_bytes)
    try:
        for op in program:
            action = concretize(op, memory)
            run(action, memory)
            disk = run(action, disk)
            assert view(disk) == view(memory), action
            index = memory.snapshot_meta().index
            for offset, size in ((0, 7), (3, 1000), (1000, 5)):
                assert disk.snapshot_chunk(index, offset, size) == memory.snapshot_chunk(index, offset, size)
                assert disk.snapshot_chunk(index + 1, offset, size) is None
        disk.close()
        disk = DiskStorage(directory, segment_bytes=segment_bytes)
        assert view(disk) == view(memory)
    finally:
        disk.close()
        shutil.rmtree(directory)


def _crash_image(
    before: dict[str, bytes], after: dict[str, bytes], draw: Callable[[st.SearchStrategy], Any]
) -> tuple[dict[str, bytes], bool]:
    """What the disk may hold if the machine died during the write that turned ``before`` into
    ``after``; and whether that write got through whole (then it was or could have been
    acknowledged). Models: appended bytes reach the disk as any prefix (plus junk where the
    file's size grew ahead of its data); a renamed file is whole or absent; deletions happen
    after the write, oldest segment first."""
    grown = [n for n in after if n.endswith(".wal") and after[n] != before.get(n)]
    assert len(grown) <= 1, grown  # one frame per write, into one segment
    image = {n: c for n, c in after.items() if n in before}
    complete = True
    if grown:
        name = grown[0]
        content = after[name]
        if name in before:
            floor = len(before[name])
        else:  # a new segment: its head was written atomically, the frame after it was not
            frames = scan(content).frames
            floor = frames[1].offset if len(frames) > 1 else len(content)
        cut = draw(st.integers(floor, len(content)))
        complete = cut == len(content)
        if name in before or draw(st.booleans()):
            image[name] = content[:cut] + draw(st.sampled_from([b"", b"\0" * 512, b"\xd7PCW\x01\x02", b"junk"]))
        else:  # the new segment's rename never reached the disk, so neither did the frame
            complete = False
    for name in after:
        if name not in before and name != (grown[0] if grown else None):
            # a new snapshot file: durable before the log frame that records it
            if complete or draw(st.booleans()):
                image[name] = after[name]
    deleted = sorted(n for n in before if n not in after)
    wal = [n for n in deleted if n.endswith(".wal")]
    kept = wal[draw(st.integers(0, len(wal))) :] if complete else wal
    for name in deleted:
        if name in kept or (not name.endswith(".wal") and (not complete or draw(st.booleans()))):
            image[name] = before[name]
    if draw(st.booleans()):  # an atomic write that never finished
        image["snap-00000000000000ff-0000000000000001.snap.tmp"] = b"PCSNAP01"
    return image, complete


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES)
@given(program=programs, segment_bytes=SEGMENT_SIZES, data=st.data())
def test_a_crash_during_the_last_write_loses_nothing_acknowledged(tmp_path_factory, program, segment_bytes, data):
    directory = tmp_path_factory.mktemp("crash")
    memory = MemoryStorage()
    disk = DiskStorage(directory / "live", segment_bytes=segment_bytes)
    try:
        for op in program[:-1]:
            action = concretize(op, memory)
            run(action, memory)
            disk = run(action, disk)
        acknowledged = view(memory)
        before = read_dir(directory / "live")
        action = concretize(program[-1], memory)
        run(action, memory)
        disk = run(action, disk)
        after = read_dir(directory / "live")
        for name in set(before) & set(after):
            assert after[name].startswith(before[name]), f"{name} was rewritten, not appended to"
        image, complete = _crash_image(before, after, data.draw)
        event("last write whole" if complete else "last write torn")
        segments = len([n for n in after if n.endswith(".wal")])
        event(f"{segments} segments, {len(set(before) - set(after))} files deleted")
        write_dir(directory / "crashed", image)
        with DiskStorage(directory / "crashed", segment_bytes=segment_bytes) as recovered:
            assert view(recovered) == (view(memory) if complete else acknowledged)
    finally:
        disk.close()
        shutil.rmtree(directory)
