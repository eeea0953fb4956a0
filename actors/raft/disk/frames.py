"""The write-ahead log's byte format: records, frames, and the scanner that finds where good data ends.

What lives here: the record Structs a segment holds (`Head`, `Append`, `Hard`, `Compact`,
`Snapshot`), `encode_frame` / `decode_records`, and `scan`, which walks a segment's bytes and
reports its good frames plus what follows the last one. Pure functions over ``bytes``.

What must never live here: file IO or recovery decisions. `scan` says *what* it found (a bad frame
at this offset, a valid frame after it); `actors.raft.disk.storage` decides whether that is a torn
tail to truncate or corruption to refuse.

Frame layout (little-endian), one frame per write (a whole group commit):

    magic  4 bytes  b"\\xd7PCW"
    crc    u32      zlib.crc32 over the 12 bytes below plus the payload
    length u32      payload length
    seq    u64      write sequence number: +1 per frame, across segments
    payload         msgpack array of records (a tagged union, see `Record`)

Because a frame is one write and the next write starts only after the previous fsync returned, a
torn write can only damage the last frame of the last segment. A bad frame followed by a valid one
with a higher ``seq`` therefore means damage to data that was already acknowledged.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

import msgspec

from ..messages import Entry, HardState, SnapshotMeta

MAGIC = b"\xd7PCW"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sIIQ")
HEADER_SIZE = _HEADER.size
MAX_PAYLOAD = 1 << 30
"""A frame never carries more than 1 GiB; a larger length field is damage, not data."""


class Head(msgspec.Struct, tag="head", kw_only=True, frozen=True):
    """First record of every segment: the whole non-entry state at the moment the segment was
    opened, so older segments can be deleted without losing the hard state or the log base."""

    version: int
    segment: int
    hard: HardState
    base_index: int
    base_term: int
    snapshot: SnapshotMeta


class Append(msgspec.Struct, tag="append", kw_only=True, frozen=True):
    """Entries to store; the first one's index deletes every stored entry at or after it."""

    entries: tuple[Entry, ...]


class Hard(msgspec.Struct, tag="hard", kw_only=True, frozen=True):
    """A new hard state (term, vote, commit)."""

    hard: HardState


class Compact(msgspec.Struct, tag="compact", kw_only=True, frozen=True):
    """The log now starts after ``index`` (whose term was ``term``); entries up to it are gone."""

    index: int
    term: int


class Snapshot(msgspec.Struct, tag="snapshot", kw_only=True, frozen=True):
    """The snapshot file for ``meta`` is durable and is now the current one. ``reset``: it came
    from the leader and replaces the whole log (the log base becomes the snapshot's index)."""

    meta: SnapshotMeta
    reset: bool = False


Record = Head | Append | Hard | Compact | Snapshot

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[Record])


def encode_records(records: list[Record]) -> bytes:
    return _encoder.encode(records)


def decode_records(payload: bytes | memoryview) -> list[Record]:
    """Raises msgspec.DecodeError or msgspec.ValidationError on a payload this version can't read."""
    return _decoder.decode(payload)


def encode_frame(seq: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"a log write of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte frame limit")
    tail = struct.pack("<IQ", len(payload), seq)
    crc = zlib.crc32(payload, zlib.crc32(tail))
    return MAGIC + struct.pack("<I", crc) + tail + payload


class Frame(NamedTuple):
    offset: int
    seq: int
    payload: memoryview


class Scan(NamedTuple):
    """What `scan` found in one segment.

    ``frames``: the good frames from the start, in order. ``end``: the byte after the last good
    frame. ``problem``: why the bytes at ``end`` are not a good frame (None when ``end`` is the end
    of the data). ``later``: offset of a valid frame found past ``end`` whose ``seq`` is beyond the
    next expected one (proof that acknowledged data follows the damage), or None."""

    frames: list[Frame]
    end: int
    problem: str | None
    later: int | None


def _check(buf: memoryview, off: int) -> tuple[int, int] | str:
    """(seq, payload length) of a valid frame at ``off``, or why there is none."""
    if len(buf) - off < HEADER_SIZE:
        return f"incomplete frame header ({len(buf) - off} of {HEADER_SIZE} bytes)"
    magic, crc, length, seq = _HEADER.unpack_from(buf, off)
    if magic != MAGIC:
        return "bad frame magic"
    if length > MAX_PAYLOAD:
        return f"implausible frame length {length}"
    if off + HEADER_SIZE + length > len(buf):
        return f"incomplete frame ({len(buf) - off - HEADER_SIZE} of {length} payload bytes)"
    start = off + HEADER_SIZE
    if zlib.crc32(buf[start : start + length], zlib.crc32(buf[off + 8 : start])) != crc:
        return "checksum mismatch"
    return seq, length


def scan(data: bytes) -> Scan:
    """Walk ``data`` frame by frame until the end or the first bad frame."""
    buf = memoryview(data)
    frames: list[Frame] = []
    off = 0
    while off < len(buf):
        found = _check(buf, off)
        if isinstance(found, str):
            expected = frames[-1].seq + 1 if frames else 0
            return Scan(frames, off, found, _later_frame(data, buf, off + 1, expected))
        seq, length = found
        frames.append(Frame(off, seq, buf[off + HEADER_SIZE : off + HEADER_SIZE + length]))
        off += HEADER_SIZE + length
    return Scan(frames, off, None, None)


def _later_frame(data: bytes, buf: memoryview, start: int, expected: int) -> int | None:
    """Offset of the first valid frame at or after ``start`` with seq > ``expected``.

    Only the magic's positions are tried, so the cost is one `bytes.find` pass plus a checksum per
    hit. Frames whose seq is not beyond ``expected`` are ignored: they cannot prove that a later
    write was acknowledged (they may be old log bytes stored inside an entry's data)."""
    pos = data.find(MAGIC, start)
    while pos != -1:
        found = _check(buf, pos)
        if not isinstance(found, str) and found[0] > expected:
            return pos
        pos = data.find(MAGIC, pos + 1)
    return None
