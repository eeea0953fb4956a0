"""Errors raised by Raft's durable storage.

What lives here: `StorageError` and its three kinds, each carrying what an operator needs to act
(the file, the byte offset, the reason) so the agent can print one clear line and stop.

What must never live here: recovery policy. Whether to refuse, truncate or carry on is decided in
`actors.raft.disk.storage`; these classes only describe the outcome.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error `DiskStorage` raises on purpose."""


class StorageCorrupt(StorageError):
    """The data directory holds damage that recovery must not paper over: a bad record followed by
    good ones, a bad record in a sealed segment, a missing segment, a snapshot that fails its
    checksum. Starting anyway could silently drop entries this server acknowledged, so it refuses.
    ``path`` is the damaged file and ``offset`` the byte where the damage starts (None when the
    problem is a whole file, e.g. a missing one)."""

    def __init__(self, path: str, offset: int | None, reason: str) -> None:
        where = path if offset is None else f"{path} at byte {offset}"
        super().__init__(f"raft storage is corrupt: {where}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class StorageFailed(StorageError):
    """A write or fsync failed. After a failed fsync the kernel may already have dropped the dirty
    pages (PostgreSQL's "fsyncgate"), so retrying cannot make the data durable: the storage refuses
    every further write and the process must restart, recovering from what reached the disk."""


class StorageLocked(StorageError):
    """Another process holds the data directory open."""
