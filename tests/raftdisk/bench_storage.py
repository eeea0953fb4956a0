"""Benchmark for Raft's durable log (not a test; pytest does not collect it).

Compares `DiskStorage` (segmented append-only files, one fdatasync per batch) with stdlib sqlite3
in WAL mode with synchronous=FULL (one COMMIT per batch), both storing the same thing per batch: N
entries of 200 bytes plus a hard state, made durable before the next batch starts. A third line,
the raw floor, is one os.write of the same number of bytes plus one fdatasync, with no encoding.
Prints entries/s and batches/s per batch size (the median of ``--repeats`` runs, interleaved so
that a noisy neighbour on the disk hurts every store alike), then the time to reopen a log and load
it back.

    .venv/bin/python tests/raftdisk/bench_storage.py --seconds 2 --dir /path/on/the/data/disk
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from actors.raft.disk import DiskStorage  # noqa: E402
from actors.raft.disk.files import sync  # noqa: E402
from actors.raft.messages import Entry, HardState  # noqa: E402
from actors.raft.ready import Ready  # noqa: E402

ENTRY_BYTES = 200


def batches(size: int, payload: bytes):  # noqa: ANN201
    """Endless Readies of ``size`` entries each, with a hard state, continuing the log."""
    index = 0
    while True:
        entries = tuple(Entry(term=1, index=index + k + 1, data=payload) for k in range(size))
        index += size
        yield Ready(entries=entries, hard_state=HardState(term=1, vote="a", commit=index))


class DiskTarget:
    name = "segmented files"

    def __init__(self, directory: str) -> None:
        self.storage = DiskStorage(directory)

    def write(self, rd: Ready) -> None:
        self.storage.save_ready(rd)

    def close(self) -> None:
        self.storage.close()

    @staticmethod
    def load(directory: str) -> int:
        with DiskStorage(directory) as storage:
            return len(storage.entries())


class SqliteTarget:
    name = "sqlite3 WAL, synchronous=FULL"

    def __init__(self, directory: str) -> None:
        self.db = sqlite3.connect(os.path.join(directory, "raft.db"), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS log (idx INTEGER PRIMARY KEY, term INTEGER, kind TEXT, data BLOB)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, term INTEGER, vote TEXT, commit_ INTEGER)"
        )

    def write(self, rd: Ready) -> None:
        db = self.db
        db.execute("BEGIN")
        db.execute("DELETE FROM log WHERE idx >= ?", (rd.entries[0].index,))
        db.executemany("INSERT INTO log VALUES (?, ?, ?, ?)", [(e.index, e.term, e.kind, e.data) for e in rd.entries])
        hs = rd.hard_state
        assert hs is not None
        db.execute("INSERT OR REPLACE INTO meta VALUES ('hard', ?, ?, ?)", (hs.term, hs.vote, hs.commit))
        db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def load(directory: str) -> int:
        db = sqlite3.connect(os.path.join(directory, "raft.db"))
        rows = db.execute("SELECT idx, term, kind, data FROM log ORDER BY idx").fetchall()
        entries = [Entry(term=t, index=i, kind=k, data=d) for i, t, k, d in rows]
        db.close()
        return len(entries)


class RawTarget:
    name = "raw write+fdatasync floor"

    def __init__(self, directory: str) -> None:
        self.fd = os.open(os.path.join(directory, "raw"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(self, rd: Ready) -> None:
        os.write(self.fd, b"\0" * (len(rd.entries) * (ENTRY_BYTES + 20) + 30))
        sync(self.fd)

    def close(self) -> None:
        os.close(self.fd)

    load = None


def measure(target_cls, base: str, size: int, seconds: float) -> tuple[float, float]:  # noqa: ANN001
    directory = tempfile.mkdtemp(dir=base)
    try:
        target = target_cls(directory)
        source = batches(size, os.urandom(ENTRY_BYTES))
        for _ in range(20):  # warm up
            target.write(next(source))
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            target.write(next(source))
            n += 1
            if n % 16 == 0 and time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - start
        target.close()
        return n * size / elapsed, n / elapsed
    finally:
        shutil.rmtree(directory)


def measure_load(target_cls, base: str, count: int) -> tuple[float, float]:  # noqa: ANN001
    """(seconds to write ``count`` entries in batches of 64, seconds to reopen and load them)."""
    directory = tempfile.mkdtemp(dir=base)
    try:
        target = target_cls(directory)
        source = batches(64, os.urandom(ENTRY_BYTES))
        start = time.perf_counter()
        for _ in range(count // 64):
            target.write(next(source))
        written = time.perf_counter() - start
        target.close()
        start = time.perf_counter()
        loaded = target_cls.load(directory)
        assert loaded == count // 64 * 64, loaded
        return written, time.perf_counter() - start
    finally:
        shutil.rmtree(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (the median is shown)")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where to write (use the data disk)")
    parser.add_argument("--load-entries", type=int, default=64 * 1600, help="log size for the reopen test")
    args = parser.parse_args()
    python = sys.version.split()[0]
    print(f"python {python}, sqlite {sqlite3.sqlite_version}, dir {args.dir}, {ENTRY_BYTES}-byte entries")
    print(f"{'store':32} {'batch':>5} {'entries/s':>11} {'batches/s':>10}   (median of {args.repeats})")
    targets = (DiskTarget, SqliteTarget, RawTarget)
    for size in (1, 16, 64):
        runs: dict[type, list[float]] = {t: [] for t in targets}
        for _ in range(args.repeats):
            for target in targets:
                runs[target].append(measure(target, args.dir, size, args.seconds)[1])
        for target in targets:
            bps = statistics.median(runs[target])
            print(f"{target.name:32} {size:>5} {bps * size:>11,.0f} {bps:>10,.0f}")
    print(f"\nreopen and load {args.load_entries:,} entries:")
    for target in (DiskTarget, SqliteTarget):
        written, loaded = measure_load(target, args.dir, args.load_entries)
        print(f"{target.name:32} write {written:6.2f} s   load {loaded:6.3f} s")


if __name__ == "__main__":
    main()
