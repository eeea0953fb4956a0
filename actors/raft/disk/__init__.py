"""Raft's durable storage under ``-data-dir``: a segmented, checksummed write-ahead log plus
snapshot files, behind the same API as `actors.raft.storage.MemoryStorage`.

What lives here: re-exports of the public names (`DiskStorage`, its stats and its errors).

What must never live here: imports of trio, or Raft protocol decisions. Everything in this package
is blocking file IO, meant to be called from one worker thread at a time.
"""

from .errors import StorageCorrupt, StorageError, StorageFailed, StorageLocked
from .storage import DEFAULT_SEGMENT_BYTES, DiskStats, DiskStorage

__all__ = [
    "DEFAULT_SEGMENT_BYTES",
    "DiskStats",
    "DiskStorage",
    "StorageCorrupt",
    "StorageError",
    "StorageFailed",
    "StorageLocked",
]
