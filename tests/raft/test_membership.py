"""Single-server membership changes (Raft thesis chapter 4): add and remove voters, learners that
catch up and get promoted, one change at a time, and removed servers that cannot disrupt."""

from __future__ import annotations

import pytest

from actors.raft import AppendEntries, ConfChange, InvalidConfChange, ProposalDropped, RaftConfig

from .harness import Cluster


def started(*names: str, **kw: object) -> Cluster:
    cluster = Cluster(list(names), **kw)  # type: ignore[arg-type]
    cluster.campaign(names[0])
    return cluster


def test_add_voter_catches_up_and_counts_for_quorum() -> None:
    cluster = started("a", "b", "c")
    cluster.propose("a", b"x")
    cluster.add_empty("d")
    cluster.conf_change("a", "add_voter", "d")
    cluster.tick(n=2)
    assert cluster.core("a").conf.voters == ("a", "b", "c", "d")
    assert cluster.core("d").conf.voters == ("a", "b", "c", "d")
    assert cluster.values("d") == [b"x"]
    # four voters: a and b alone are no longer a quorum
    cluster.partition(["a", "b"], ["c", "d"])
    cluster.propose("a", b"y")
    assert cluster.core("a").commit_index < cluster.core("a").last_index


def test_learner_catches_up_without_voting_then_is_promoted() -> None:
    cluster = started("a", "b", "c")
    cluster.add_empty("d")
    cluster.conf_change("a", "add_learner", "d")
    cluster.propose("a", b"x")
    assert cluster.values("d") == [b"x"]
    assert cluster.core("d").conf.learners == ("d",)
    # a learner's acknowledgement never makes a quorum
    cluster.partition(["a", "d"], ["b", "c"])
    cluster.propose("a", b"y")
    assert cluster.core("d").last_index == cluster.core("a").last_index
    assert cluster.core("a").commit_index < cluster.core("a").last_index
    # and it never campaigns
    cluster.tick("d", n=100)
    assert cluster.core("d").role == "follower"
    cluster.heal()
    cluster.tick(n=2)
    cluster.conf_change("a", "add_voter", "d")  # promotion
    cluster.tick(n=2)
    assert cluster.core("a").conf.voters == ("a", "b", "c", "d")
    assert cluster.core("a").conf.learners == ()
    assert cluster.values("d") == [b"x", b"y"]


def test_remove_follower() -> None:
    cluster = started("a", "b", "c")
    cluster.conf_change("a", "remove", "c")
    cluster.tick(n=2)
    # c was told about its own removal (so it will not campaign), then dropped from replication
    assert [p.peer for p in cluster.core("a").statistics().peers] == ["b"]
    assert cluster.core("a").conf.voters == ("a", "b")
    assert cluster.core("c").conf.voters == ("a", "b")  # c appended its own removal
    term = cluster.core("a").term
    cluster.tick("c", n=100)
    assert cluster.core("c").term == term and cluster.core("c").role == "follower"
    cluster.crash("c")
    cluster.propose("a", b"x")
    assert cluster.values("b") == [b"x"]


def test_removing_the_leader_hands_over_and_steps_down() -> None:
    cluster = started("a", "b", "c")
    term = cluster.core("a").term
    cluster.conf_change("a", "remove", "a")
    # the change committed, a stepped down and sent TimeoutNow: a successor exists without waiting
    # for an election timeout
    assert cluster.core("a").role == "follower"
    leaders = cluster.leaders()
    assert len(leaders) == 1 and leaders[0] in ("b", "c")
    assert cluster.core(leaders[0]).term == term + 1
    assert cluster.core(leaders[0]).conf.voters == ("b", "c")
    cluster.propose(leaders[0], b"x")
    assert cluster.values("b") == cluster.values("c") == [b"x"]


def test_one_change_at_a_time() -> None:
    cluster = started("a", "b", "c")
    cluster.add_empty("d")
    cluster.add_empty("e")
    core = cluster.core("a")
    core.propose_conf_change(ConfChange(op="add_learner", node="d"))
    with pytest.raises(ProposalDropped, match="not committed yet"):
        core.propose_conf_change(ConfChange(op="add_learner", node="e"))
    cluster.stabilize()
    core.propose_conf_change(ConfChange(op="add_learner", node="e"))
    cluster.stabilize()
    assert core.conf.learners == ("d", "e")


def test_new_leader_accepts_changes_only_after_committing_in_its_term() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.filter = lambda m: isinstance(m, AppendEntries) and m.src == "a"
    cluster.campaign("a")
    assert cluster.leader() == "a"
    with pytest.raises(ProposalDropped, match="not committed an entry of its term"):
        cluster.core("a").propose_conf_change(ConfChange(op="remove", node="c"))
    cluster.filter = None
    cluster.tick(n=2)
    cluster.conf_change("a", "remove", "c")
    assert cluster.core("a").conf.voters == ("a", "b")


def test_invalid_changes_are_refused() -> None:
    cluster = started("a", "b")
    core = cluster.core("a")
    for change, reason in [
        (ConfChange(op="add_voter", node="b"), "already a voter"),
        (ConfChange(op="remove", node="zed"), "not a member"),
        (ConfChange(op="add_learner", node="a"), "is a voter"),
        (ConfChange(op="add_voter", node=""), "empty node id"),
    ]:
        with pytest.raises(InvalidConfChange, match=reason):
            core.propose_conf_change(change)
    solo = started("a")
    with pytest.raises(InvalidConfChange, match="last voter"):
        solo.core("a").propose_conf_change(ConfChange(op="remove", node="a"))


def test_partitioned_removed_server_cannot_disrupt() -> None:
    cluster = started("a", "b", "c", "d")
    cluster.isolate("d")
    cluster.conf_change("a", "remove", "d")  # d never hears of it
    assert cluster.core("a").conf.voters == ("a", "b", "c")
    term = cluster.core("a").term
    # the leader keeps trying to tell d for a while, then forgets it
    cluster.tick("a", "b", "c", n=2 * cluster.config.election_ticks)
    assert [p.peer for p in cluster.core("a").statistics().peers] == ["b", "c"]
    cluster.heal()
    cluster.tick(n=100)
    # d still believes it is a voter and keeps pre-voting, but nobody bumps a term for it
    assert cluster.core("d").conf.voters == ("a", "b", "c", "d")
    assert cluster.leaders() == ["a"] and cluster.core("a").term == term


def test_config_reverts_when_its_entry_is_overwritten() -> None:
    cluster = started("a", "b", "c", "d", "e", config=RaftConfig(pre_vote=False))
    cluster.add_empty("f")
    cluster.partition(["a", "b"], ["c", "d", "e", "f"])
    cluster.conf_change("a", "add_learner", "f")  # reaches b only: uncommitted
    assert cluster.core("b").conf.learners == ("f",)
    cluster.crash("a")
    cluster.heal()
    cluster.isolate("a")
    cluster.tick("b", "c", "d", "e", n=RaftConfig().election_ticks)
    cluster.partition(["c", "d", "e"], ["b"])
    cluster.campaign("c")
    assert cluster.leaders() == ["c"]
    cluster.heal()
    cluster.isolate("a")
    cluster.tick("b", "c", "d", "e", n=2)
    assert cluster.core("b").conf.learners == ()  # the overwritten entry took its config with it
    assert cluster.core("b").log_entries()[2] == cluster.core("c").log_entries()[2]
