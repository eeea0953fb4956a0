"""Log replication: conflict repair with fast backtracking, the Figure 8 commit rule, pipelining
limits, batching limits, and NotLeader on followers (Raft paper sections 5.3 and 5.4)."""

from __future__ import annotations

import msgspec
import pytest

from actors.raft import (
    AppendEntries,
    AppendResp,
    ConfState,
    Entry,
    HardState,
    Heartbeat,
    MemoryStorage,
    NotLeader,
    RaftConfig,
    RaftMessage,
)
from actors.raft.messages import encode_conf

from .harness import Cluster, NodeShell


def storage_with(conf: ConfState, terms: list[int], term: int) -> MemoryStorage:
    """A persisted log whose entry i+1 has term terms[i]; index 1 is the bootstrap config."""
    storage = MemoryStorage()
    entries = [Entry(term=1, index=1, kind="config", data=encode_conf(conf))]
    entries += [Entry(term=t, index=i, data=b"t%di%d" % (t, i)) for i, t in enumerate(terms[1:], start=2)]
    storage.append(entries)
    storage._hard = HardState(term=term)
    return storage


def test_figure7_logs_are_repaired_with_few_round_trips() -> None:
    """Raft paper Figure 7: a leader for term 8 and six followers with missing, extra and
    conflicting entries. Every log ends up equal to the leader's."""
    logs = {
        "leader": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
        "a": [1, 1, 1, 4, 4, 5, 5, 6, 6],
        "b": [1, 1, 1, 4],
        "c": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
        "d": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
        "e": [1, 1, 1, 4, 4, 4, 4],
        "f": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    }
    conf = ConfState(voters=tuple(sorted(logs)))
    cluster = Cluster([], config=RaftConfig(pre_vote=False))
    for name, terms in logs.items():
        cluster.nodes[name] = NodeShell(name, cluster.config, storage_with(conf, terms, term=7))
    cluster.campaign("leader")
    assert cluster.leader() == "leader"
    assert cluster.core("leader").term == 8
    expected = cluster.core("leader").log_entries()[2]
    assert [e.term for e in expected] == [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8]
    for name in logs:
        assert cluster.core(name).log_entries()[2] == expected, name
        assert cluster.core(name).commit_index == 11
    rejects = {name: 0 for name in logs}
    for msg in cluster.delivered:
        if isinstance(msg, AppendResp) and msg.reject:
            rejects[msg.src] += 1
    # f diverges from index 4 on: one round trip per conflicting term (3, then 2), not per entry
    assert rejects["f"] == 2
    assert max(rejects.values()) <= 2


def drop_between(pairs: set[tuple[str, str]], kinds: tuple[type, ...]):
    def rule(msg: RaftMessage) -> bool:
        return (msg.src, msg.dst) in pairs and isinstance(msg, kinds)

    return rule


def test_figure8_old_term_entry_is_not_committed_by_counting() -> None:
    """Raft paper Figure 8. A term-2 entry reaches a majority under the term-4 leader but must not
    commit by counting, because a server with a term-3 entry at that index can still win."""
    names = ["s1", "s2", "s3", "s4", "s5"]
    cfg = RaftConfig(pre_vote=False, max_entries_per_append=1)
    cluster = Cluster(names, config=cfg)
    quiet = (AppendEntries, Heartbeat)
    # (a) s1 leads term 2; its term-2 entries reach s2 only.
    cluster.filter = drop_between({("s1", n) for n in ("s3", "s4", "s5")}, quiet)
    cluster.campaign("s1")
    assert cluster.leader() == "s1" and cluster.core("s1").term == 2
    cluster.propose("s1", b"x")
    assert [e.term for e in cluster.core("s2").log_entries()[2]] == [1, 2, 2]
    # (b) s1 crashes; s5 wins term 3 with s3 and s4 and appends a term-3 entry nobody else gets.
    cluster.crash("s1")
    cluster.filter = drop_between({("s5", n) for n in names}, quiet)
    cluster.campaign("s5")
    assert cluster.leaders() == ["s5"] and cluster.core("s5").term == 3
    # (c) s5 crashes; s1 restarts and wins term 4; its term-2 entries reach s3 but its term-4
    # no-op reaches nobody: the network strips term-4 entries off appends to s2 and s3.
    cluster.crash("s5")
    cluster.restart("s1")

    def term4_to_s2_s3(msg: RaftMessage) -> bool:
        if msg.src == "s5":
            return True
        if msg.src == "s1" and msg.dst in ("s4", "s5") and isinstance(msg, quiet):
            return True
        if isinstance(msg, AppendEntries) and msg.dst in ("s2", "s3"):
            if any(e.term == 4 for e in msg.entries):
                kept = tuple(e for e in msg.entries if e.term != 4)
                cluster.queue.append(msgspec.structs.replace(msg, entries=kept))
                return True
        return False

    cluster.filter = term4_to_s2_s3
    while cluster.core("s1").role != "leader":
        cluster.campaign("s1")
    assert cluster.core("s1").term == 4
    cluster.tick("s1", n=3)
    holders = [n for n in names if cluster.core(n).log_term(3) == 2]
    assert holders == ["s1", "s2", "s3"]  # the term-2 entry is on a majority...
    assert cluster.core("s1").commit_index == 0  # ...but is not committed by counting
    # (d) s1 crashes; s5 (last term 3) can win and overwrites index 2 and 3 everywhere.
    cluster.crash("s1")
    cluster.restart("s5")
    cluster.filter = None
    cluster.tick("s2", "s3", "s4", "s5", n=cfg.election_ticks)
    while cluster.core("s5").role != "leader":
        cluster.campaign("s5")
    cluster.tick("s2", "s3", "s4", "s5", n=2)
    for n in ("s2", "s3", "s4", "s5"):
        assert cluster.core(n).log_term(2) == 3
        assert b"x" not in cluster.values(n)
    assert cluster.core("s5").commit_index == cluster.core("s5").last_index


def test_pipeline_window_is_bounded() -> None:
    cfg = RaftConfig(max_inflight_appends=3, max_entries_per_append=2)
    cluster = Cluster(["a", "b", "c"], config=cfg)
    cluster.campaign("a")
    sent_before = len(cluster.delivered)
    cluster.filter = lambda m: isinstance(m, AppendResp) and m.src == "b"
    for n in range(10):
        cluster.core("a").propose(b"%d" % n)
        cluster.flush("a")
    cluster.stabilize()
    to_b = [m for m in cluster.delivered[sent_before:] if isinstance(m, AppendEntries) and m.dst == "b"]
    assert len(to_b) == 3  # b never acknowledges: the window fills and sending pauses
    assert cluster.core("a").statistics().peers[0].inflight == 3
    assert cluster.core("a").commit_index == cluster.core("a").last_index  # c is enough to commit
    cluster.filter = None
    cluster.tick(n=3)
    assert cluster.core("b").last_index == cluster.core("a").last_index
    assert len(cluster.values("b")) == 10


def test_batches_respect_entry_and_byte_limits() -> None:
    cfg = RaftConfig(max_entries_per_append=5, max_bytes_per_append=100)
    cluster = Cluster(["a", "b", "c"], config=cfg)
    cluster.campaign("a")
    cluster.isolate("c")
    for n in range(30):
        cluster.core("a").propose(b"y" * 30 if n % 2 else b"z")
    cluster.stabilize()
    mark = len(cluster.delivered)
    cluster.heal()
    cluster.tick(n=3)
    appends = [m for m in cluster.delivered[mark:] if isinstance(m, AppendEntries) and m.dst == "c" and m.entries]
    assert appends
    for m in appends:
        assert len(m.entries) <= 5
        assert len(m.entries) == 1 or sum(len(e.data) for e in m.entries) <= 100
    assert cluster.values("c") == cluster.values("a")


def test_follower_refuses_proposals_with_a_leader_hint() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    with pytest.raises(NotLeader) as info:
        cluster.core("b").propose(b"x")
    assert info.value.leader_hint == "a"
    fresh = Cluster(["a", "b", "c"])
    with pytest.raises(NotLeader) as info:
        fresh.core("b").propose(b"x")
    assert info.value.leader_hint is None


def test_proposals_apply_in_order_everywhere() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    indexes = [cluster.propose("a", b"%d" % n) for n in range(20)]
    assert indexes == list(range(3, 23))
    for n in "abc":
        assert cluster.values(n) == [b"%d" % k for k in range(20)]


def test_single_server_cluster_commits_alone() -> None:
    cluster = Cluster(["solo"])
    cluster.campaign("solo")
    assert cluster.leader() == "solo"
    cluster.propose("solo", b"x")
    assert cluster.values("solo") == [b"x"]
