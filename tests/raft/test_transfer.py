"""Leadership transfer (Raft thesis section 3.10): catch the target up, send TimeoutNow, abort
after an election timeout; proposals are refused meanwhile."""

from __future__ import annotations

import pytest

from actors.raft import NotLeader, ProposalDropped, RequestVote, TimeoutNow, TransferRefused

from .harness import Cluster


def started() -> Cluster:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    return cluster


def test_transfer_to_an_up_to_date_follower() -> None:
    cluster = started()
    term = cluster.core("a").term
    cluster.core("a").transfer_leadership("b")
    cluster.stabilize()
    assert cluster.leaders() == ["b"]
    assert cluster.core("b").term == term + 1
    # the election overrode c's leader lease: its vote request was marked as a transfer
    votes = [m for m in cluster.delivered if isinstance(m, RequestVote) and m.src == "b"]
    assert votes and all(m.transfer and not m.pre_vote for m in votes)


def test_transfer_to_a_lagging_follower_catches_it_up_first() -> None:
    cluster = started()
    cluster.isolate("c")
    for n in range(5):
        cluster.core("a").propose(b"%d" % n)
    cluster.stabilize()
    cluster.heal()
    mark = len(cluster.delivered)
    cluster.core("a").transfer_leadership("c")
    cluster.stabilize()
    assert cluster.leaders() == ["c"]
    sent = [type(m).__name__ for m in cluster.delivered[mark:] if m.src == "a" and m.dst == "c"]
    assert sent.index("AppendEntries") < sent.index("TimeoutNow")
    cluster.tick(n=2)
    assert cluster.values("c") == [b"%d" % n for n in range(5)]


def test_transfer_aborts_after_an_election_timeout() -> None:
    cluster = started()
    cluster.isolate("b")
    a = cluster.core("a")
    a.transfer_leadership("b")
    cluster.stabilize()
    with pytest.raises(ProposalDropped, match="transfer"):
        a.propose(b"x")
    assert a.statistics().transfer_target == "b"
    cluster.tick("a", "c", n=cluster.config.election_ticks)
    assert a.statistics().transfer_target is None
    assert cluster.leaders() == ["a"]
    cluster.propose("a", b"x")
    assert cluster.values("c") == [b"x"]
    assert not any(isinstance(m, TimeoutNow) for m in cluster.delivered)


def test_transfer_preconditions() -> None:
    cluster = started()
    with pytest.raises(NotLeader):
        cluster.core("b").transfer_leadership("c")
    with pytest.raises(TransferRefused):
        cluster.core("a").transfer_leadership("zed")
    cluster.core("a").transfer_leadership("a")  # already there: nothing to do
    assert cluster.core("a").statistics().transfer_target is None
