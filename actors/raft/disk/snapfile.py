"""Snapshot files: one file per snapshot, written atomically, checked on open, read in chunks.

What lives here: the file name scheme (``snap-<index>-<term>.snap``, both 16 hex digits, so names
sort by index), `write_snapshot` (durable and atomic), `open_snapshot` (verifies both checksums) and
`read_range` (what `DiskStorage.snapshot_chunk` serves from).

What must never live here: deciding which snapshot is current. The log records that (a `Snapshot`
record is written only after the file is durable); this module just reads and writes files.

File layout (little-endian):

    magic       8 bytes  b"PCSNAP01"
    header_len  u32
    header_crc  u32      zlib.crc32 of the header bytes
    header      msgpack `SnapHeader`: the SnapshotMeta, the data size and the data's crc32
    data        the state machine's bytes
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from typing import NamedTuple

import msgspec

from ..messages import SnapshotMeta
from .errors import StorageCorrupt
from .files import atomic_write

SNAP_MAGIC = b"PCSNAP01"
_PREFIX = struct.Struct("<8sII")
_NAME = re.compile(r"^snap-([0-9a-f]{16})-([0-9a-f]{16})\.snap$")
_CHUNK = 1 << 20


class SnapHeader(msgspec.Struct, kw_only=True, frozen=True):
    meta: SnapshotMeta
    size: int
    crc: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SnapHeader)


def snapshot_name(index: int, term: int) -> str:
    return f"snap-{index:016x}-{term:016x}.snap"


def parse_snapshot_name(name: str) -> tuple[int, int] | None:
    """(index, term) of a snapshot file name, or None when ``name`` is not one."""
    m = _NAME.match(name)
    return (int(m.group(1), 16), int(m.group(2), 16)) if m else None


class SnapFile(NamedTuple):
    """A verified snapshot file: where its data starts and how long it is."""

    path: str
    meta: SnapshotMeta
    data_offset: int
    size: int


def write_snapshot(directory: str, meta: SnapshotMeta, data: bytes) -> SnapFile:
    """Write the snapshot file for ``meta`` durably (temp + fsync + rename + fsync of the dir)."""
    header = _encoder.encode(SnapHeader(meta=meta, size=len(data), crc=zlib.crc32(data)))
    prefix = _PREFIX.pack(SNAP_MAGIC, len(header), zlib.crc32(header))
    name = snapshot_name(meta.index, meta.term)
    atomic_write(directory, name, (prefix, header, data))
    return SnapFile(os.path.join(directory, name), meta, len(prefix) + len(header), len(data))


def open_snapshot(path: str) -> SnapFile:
    """Read and verify a snapshot file (header and data checksums); raise `StorageCorrupt` if bad."""
    with open(path, "rb") as f:
        prefix = f.read(_PREFIX.size)
        if len(prefix) < _PREFIX.size:
            raise StorageCorrupt(path, 0, "snapshot file too short for its header")
        magic, header_len, header_crc = _PREFIX.unpack(prefix)
        if magic != SNAP_MAGIC:
            raise StorageCorrupt(path, 0, "not a snapshot file (bad magic)")
        header = f.read(header_len)
        if len(header) < header_len or zlib.crc32(header) != header_crc:
            raise StorageCorrupt(path, _PREFIX.size, "snapshot header checksum mismatch")
        try:
            head = _decoder.decode(header)
        except msgspec.MsgspecError as exc:
            raise StorageCorrupt(path, _PREFIX.size, f"unreadable snapshot header: {exc}") from None
        data_offset = _PREFIX.size + header_len
        crc = 0
        remaining = head.size
        while remaining:
            chunk = f.read(min(_CHUNK, remaining))
            if not chunk:
                raise StorageCorrupt(path, data_offset + head.size - remaining, "snapshot data truncated")
            crc = zlib.crc32(chunk, crc)
            remaining -= len(chunk)
        if crc != head.crc:
            raise StorageCorrupt(path, data_offset, "snapshot data checksum mismatch")
    return SnapFile(path, head.meta, data_offset, head.size)


def read_range(snap: SnapFile, offset: int, max_bytes: int) -> bytes:
    """Up to ``max_bytes`` of the snapshot's data starting at ``offset``."""
    n = max(0, min(max_bytes, snap.size - offset))
    if n == 0:
        return b""
    fd = os.open(snap.path, os.O_RDONLY)
    try:
        out = bytearray()
        while len(out) < n:
            chunk = os.pread(fd, n - len(out), snap.data_offset + offset + len(out))
            if not chunk:
                raise StorageCorrupt(snap.path, snap.data_offset + offset + len(out), "snapshot data truncated")
            out += chunk
        return bytes(out)
    finally:
        os.close(fd)
