"""Snapshots: compaction, chunked InstallSnapshot to a lagging follower, retries, and restart
from a snapshot (Raft paper section 7)."""

from __future__ import annotations

import pytest

from actors.raft import InstallSnapshot, RaftConfig, SnapshotResp

from .harness import Cluster

CFG = RaftConfig(trailing_logs=2, snapshot_chunk_bytes=16)


def lagging_cluster() -> Cluster:
    cluster = Cluster(["a", "b", "c"], config=CFG)
    cluster.campaign("a")
    cluster.isolate("c")
    for n in range(30):
        cluster.core("a").propose(b"value-%02d" % n)
    cluster.stabilize()
    cluster.nodes["a"].take_snapshot()
    cluster.nodes["b"].take_snapshot()
    return cluster


def test_compaction_keeps_trailing_entries() -> None:
    cluster = lagging_cluster()
    a = cluster.core("a")
    stats = a.statistics()
    assert stats.snapshot_index == a.applied_index == 32
    assert stats.first_index == 31  # snapshot index - trailing_logs + 1
    assert a.log_term(29) is None
    assert cluster.nodes["a"].storage.log_base() == (30, 2)


def test_lagging_follower_catches_up_through_chunked_snapshot() -> None:
    cluster = lagging_cluster()
    mark = len(cluster.delivered)
    cluster.heal()
    cluster.tick(n=3)
    chunks = [m for m in cluster.delivered[mark:] if isinstance(m, InstallSnapshot)]
    assert len(chunks) > 3  # the snapshot is bigger than 16 bytes: several chunks
    assert [m.offset for m in chunks] == sorted(m.offset for m in chunks)
    assert chunks[-1].done and not any(m.done for m in chunks[:-1])
    c = cluster.core("c")
    assert c.statistics().snapshot_index == 32
    assert cluster.values("c") == cluster.values("a")
    assert cluster.nodes["c"].storage.snapshot_meta().index == 32
    # replication continues normally afterwards
    cluster.propose("a", b"after")
    assert cluster.values("c")[-1] == b"after"
    peer = {p.peer: p for p in cluster.core("a").statistics().peers}["c"]
    assert peer.state == "replicate" and peer.match == cluster.core("a").last_index


def test_lost_chunk_is_resent() -> None:
    cluster = lagging_cluster()
    dropped: list[InstallSnapshot] = []

    def drop_second_chunk(msg: object) -> bool:
        if isinstance(msg, InstallSnapshot) and msg.offset == 16 and not dropped:
            dropped.append(msg)
            return True
        return False

    cluster.filter = drop_second_chunk
    cluster.heal()
    cluster.tick(n=2)
    assert dropped and cluster.core("c").statistics().snapshot_index == 0
    cluster.tick(n=CFG.election_ticks)  # the leader re-requests the chunk after a quiet election timeout
    assert cluster.core("c").statistics().snapshot_index == 32
    assert cluster.values("c") == cluster.values("a")


def test_unavailable_snapshot_is_reported_and_retried() -> None:
    cluster = lagging_cluster()
    storage = cluster.nodes["a"].storage
    real = storage.snapshot_chunk
    refusals: list[int] = []

    def flaky(index: int, offset: int, max_bytes: int):
        if not refusals:
            refusals.append(index)
            return None  # as if the snapshot file vanished: the shell calls report_snapshot(ok=False)
        return real(index, offset, max_bytes)

    storage.snapshot_chunk = flaky  # type: ignore[method-assign]
    cluster.heal()
    cluster.tick()
    assert refusals == [32]
    peer = {p.peer: p for p in cluster.core("a").statistics().peers}["c"]
    assert peer.state == "probe"
    cluster.tick(n=3)
    assert cluster.values("c") == cluster.values("a")


def test_follower_answers_stale_snapshot_without_restoring() -> None:
    cluster = lagging_cluster()
    cluster.heal()
    cluster.tick(n=3)
    c = cluster.core("c")
    meta = cluster.nodes["a"].storage.snapshot_meta()
    c.step(InstallSnapshot(src="a", dst="c", term=c.term, meta=meta, offset=0, data=b"junk", done=True))
    rd = c.ready()
    assert rd.snapshot is None
    assert [type(m) for m in rd.messages] == [SnapshotResp] and rd.messages[0].done
    c.advance(rd)


def test_restart_from_snapshot() -> None:
    cluster = lagging_cluster()
    cluster.heal()
    cluster.tick(n=3)
    before = cluster.values("b")
    cluster.crash("b")
    b = cluster.restart("b")
    assert b.fsm.values == before[: len(b.fsm.values)]
    assert b.core.statistics().snapshot_index == 32
    cluster.tick(n=2)
    assert cluster.values("b") == before


def test_compact_limits() -> None:
    cluster = Cluster(["a"], config=RaftConfig(snapshot_threshold=3))
    cluster.campaign("a")
    a = cluster.core("a")
    assert not a.snapshot_due()
    for n in range(3):
        cluster.propose("a", b"%d" % n)
    assert a.snapshot_due()
    with pytest.raises(ValueError, match="only 5 is applied"):
        a.compact(6)
    result = a.compact(5)
    assert result.meta.index == 5 and result.meta.conf.voters == ("a",)
    assert a.compact(4) == result.__class__(meta=result.meta, first_index=result.first_index)
