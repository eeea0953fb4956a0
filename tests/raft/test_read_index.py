"""ReadIndex (Raft thesis section 6.4): a quorum heartbeat round before a read point is released,
forwarding from followers, and the new-leader barrier (Consul issue #2644)."""

from __future__ import annotations

from actors.raft import AppendEntries, HeartbeatResp, ReadState

from .harness import Cluster


def started(names=("a", "b", "c")) -> Cluster:
    cluster = Cluster(list(names))
    cluster.campaign(names[0])
    return cluster


def test_leader_releases_read_after_a_quorum_heartbeat_round() -> None:
    cluster = started()
    cluster.propose("a", b"x")
    a = cluster.nodes["a"]
    a.core.read_index(b"r1")
    cluster.flush("a")
    assert a.read_states == []  # not before a majority confirmed leadership
    cluster.stabilize()
    assert a.read_states == [ReadState(ctx=b"r1", index=a.core.commit_index)]


def test_read_waits_for_a_quorum() -> None:
    cluster = started()
    cluster.filter = lambda m: isinstance(m, HeartbeatResp)
    a = cluster.nodes["a"]
    a.core.read_index(b"r1")
    cluster.stabilize()
    cluster.tick("a", n=3)
    assert a.read_states == []
    assert a.core.statistics().pending_reads == 1
    cluster.filter = None
    cluster.tick("a")
    assert [rs.ctx for rs in a.read_states] == [b"r1"]


def test_isolated_leader_never_answers_and_fails_reads_when_stepping_down() -> None:
    cluster = started()
    cluster.isolate("a")
    a = cluster.nodes["a"]
    a.core.read_index(b"r1")
    cluster.stabilize()
    cluster.tick("a", n=2 * cluster.config.election_ticks)
    assert a.core.role == "follower"
    assert a.read_states == [ReadState(ctx=b"r1", index=0, error="leadership lost")]


def test_new_leader_queues_reads_until_it_commits_in_its_term() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.filter = lambda m: isinstance(m, AppendEntries) and m.src == "a"
    cluster.campaign("a")
    a = cluster.nodes["a"]
    a.core.read_index(b"early")
    cluster.stabilize()
    cluster.tick("a", n=3)  # heartbeats get answered, but the barrier holds
    assert a.read_states == []
    assert a.core.statistics().pending_reads == 1
    cluster.filter = None
    cluster.tick("a", n=2)
    assert len(a.read_states) == 1
    rs = a.read_states[0]
    assert rs.ctx == b"early" and rs.error == ""
    assert a.core.log_term(rs.index) == a.core.term  # at or after the leader's own no-op


def test_follower_forwards_to_the_leader() -> None:
    cluster = started()
    cluster.propose("a", b"x")
    b = cluster.nodes["b"]
    b.core.read_index(b"fwd")
    cluster.stabilize()
    assert b.read_states == [ReadState(ctx=b"fwd", index=cluster.core("a").commit_index)]


def test_without_a_leader_reads_fail_at_once() -> None:
    cluster = Cluster(["a", "b", "c"])
    b = cluster.nodes["b"]
    b.core.read_index(b"r")
    cluster.flush("b")
    assert b.read_states == [ReadState(ctx=b"r", index=0, error="no leader")]


def test_single_voter_reads_immediately() -> None:
    cluster = started(("solo",))
    node = cluster.nodes["solo"]
    node.core.read_index(b"r")
    cluster.flush("solo")
    assert node.read_states == [ReadState(ctx=b"r", index=node.core.commit_index)]
