"""Blocking file primitives with the durability steps spelled out.

What lives here: `sync` (fdatasync, or F_FULLFSYNC on macOS where plain fsync does not reach the
platter), `fsync_dir`, `make_dirs`, `write_all`, `atomic_write` (temp file + fsync + rename + fsync
of the directory) and `lock_directory`.

What must never live here: knowledge of the log or snapshot formats. These helpers move bytes and
make them durable; they do not know what the bytes mean.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterable

from .errors import StorageLocked

TMP_SUFFIX = ".tmp"


def sync(fd: int) -> None:
    """Make every byte written to ``fd`` durable. fdatasync is enough for an append-only file: it
    also flushes the size change needed to read the new bytes back."""
    if sys.platform == "darwin":  # pragma: no cover - fsync on macOS only reaches the drive cache
        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
    elif hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # pragma: no cover
        os.fsync(fd)


def fsync_dir(directory: str) -> None:
    """Make the directory's entries (created, renamed, unlinked names) durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: str) -> None:
    """Create ``directory`` and any missing parents, each made durable in its own parent, so a
    crash right after the first acknowledged write cannot take the whole directory away."""
    if os.path.isdir(directory):
        return
    parent = os.path.dirname(directory)
    if parent and parent != directory:
        make_dirs(parent)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        return
    fsync_dir(parent or ".")


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def atomic_write(directory: str, name: str, chunks: Iterable[bytes | memoryview]) -> None:
    """Create ``directory/name`` holding ``chunks``, all or nothing, durably: a crash leaves either
    no file (maybe a ``.tmp`` to clean up) or the complete one."""
    final = os.path.join(directory, name)
    tmp = final + TMP_SUFFIX
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in chunks:
            write_all(fd, chunk)
        sync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    fsync_dir(directory)


def lock_directory(directory: str) -> int:
    """Take an exclusive advisory lock on ``directory/LOCK``; the returned fd holds it until closed."""
    fd = os.open(os.path.join(directory, "LOCK"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StorageLocked(f"{directory} is in use by another process") from None
    return fd
