"""Elections: one leader per term, split votes, PreVote, CheckQuorum and the leader lease.

Each test pins down a few sentences of the Raft paper (section 5.2, 5.4.1) or the thesis (sections
4.2.3 and 9.6). The network is `harness.Cluster`: messages are delivered in FIFO order until quiet.
"""

from __future__ import annotations

import pytest

from actors.raft import NotLeader, RaftConfig, RequestVote

from .harness import Cluster


def elect(cluster: Cluster, max_ticks: int = 200) -> str:
    for _ in range(max_ticks):
        cluster.tick()
        leaders = cluster.leaders()
        if leaders:
            assert len(leaders) == 1
            return leaders[0]
    raise AssertionError("no leader elected")


def test_single_leader_elected_by_timeout() -> None:
    cluster = Cluster(["a", "b", "c"])
    leader = elect(cluster)
    terms = cluster.terms()
    assert len(set(terms.values())) == 1
    core = cluster.core(leader)
    # the new leader's no-op commits everywhere: index 1 is the bootstrap config, 2 the no-op
    assert all(cluster.core(n).commit_index == 2 for n in "abc")
    assert all(cluster.core(n).leader == leader for n in "abc")
    assert core.statistics().role == "leader"


@pytest.mark.parametrize("seed", range(12))
def test_five_servers_elect_exactly_one_leader(seed: int) -> None:
    cluster = Cluster(["a", "b", "c", "d", "e"], seed=seed)
    leader = elect(cluster)
    for _ in range(30):
        cluster.tick()
        assert cluster.leaders() == [leader]


def test_split_vote_resolves() -> None:
    cluster = Cluster(["a", "b", "c", "d"], config=RaftConfig(pre_vote=False))
    cluster.partition(["a", "c"], ["b", "d"])
    cluster.core("a").campaign()
    cluster.core("b").campaign()
    cluster.stabilize()
    # two of four votes each: nobody has the three a quorum needs
    assert cluster.leaders() == []
    assert {cluster.core(n).role for n in "ab"} == {"candidate"}
    assert cluster.core("a").term == cluster.core("b").term == 2
    cluster.heal()
    leader = elect(cluster)
    assert cluster.core(leader).term >= 3
    assert len({cluster.core(n).term for n in "abcd"}) == 1


def test_candidate_with_stale_log_cannot_win() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    cluster.isolate("c")
    cluster.propose("a", b"x")
    cluster.heal()
    cluster.crash("a")
    cluster.tick("b", "c", n=cluster.config.election_ticks)  # leases expire
    cluster.core("c").campaign()
    cluster.stabilize()
    assert cluster.core("c").role != "leader"  # b refuses: its log holds x, c's does not
    cluster.core("b").campaign()
    cluster.stabilize()
    assert cluster.leaders() == ["b"]
    cluster.tick("b", "c")
    assert cluster.values("c") == [b"x"]


def test_prevote_keeps_a_partitioned_server_from_bumping_terms() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    term = cluster.core("a").term
    cluster.isolate("c")
    cluster.tick(n=100)
    assert cluster.core("c").term == term  # PreVote failed over and over, no term bump
    assert cluster.core("c").role == "pre_candidate"
    cluster.heal()
    cluster.tick(n=3)
    assert cluster.leaders() == ["a"]
    assert set(cluster.terms().values()) == {term}


def test_without_prevote_a_rejoining_server_disrupts_the_leader() -> None:
    """The contrast case: why PreVote is on by default."""
    cluster = Cluster(["a", "b", "c"], config=RaftConfig(pre_vote=False, check_quorum=False))
    cluster.campaign("a")
    term = cluster.core("a").term
    cluster.isolate("c")
    cluster.tick(n=100)
    assert cluster.core("c").term > term + 1
    cluster.heal()
    cluster.tick(n=40)
    assert cluster.core("a").term > term  # the old leader was deposed by the higher term


def test_check_quorum_isolated_leader_steps_down() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    cluster.isolate("a")
    # Contact is judged per election period; the period in which the partition began still had
    # contact, so the leader steps down at the end of the next one: within 2 * election_ticks.
    steps = 0
    while cluster.core("a").role == "leader":
        cluster.tick("a")
        steps += 1
    assert cluster.config.election_ticks < steps <= 2 * cluster.config.election_ticks
    assert cluster.core("a").role == "follower"
    assert cluster.core("a").leader is None
    with pytest.raises(NotLeader):
        cluster.core("a").propose(b"x")


def test_without_check_quorum_isolated_leader_keeps_believing() -> None:
    cluster = Cluster(["a", "b", "c"], config=RaftConfig(check_quorum=False))
    cluster.campaign("a")
    cluster.isolate("a")
    cluster.tick("a", n=100)
    assert cluster.core("a").role == "leader"


def test_leader_lease_ignores_vote_requests() -> None:
    cluster = Cluster(["a", "b", "c"], config=RaftConfig(pre_vote=False))
    cluster.campaign("a")
    term = cluster.core("a").term
    cluster.isolate("c")
    cluster.core("c").campaign()  # real vote at term + 1
    cluster.stabilize()
    cluster.heal()
    vote = RequestVote(
        src="c", dst="b", term=term + 1, last_index=cluster.core("c").last_index, last_term=term
    )
    cluster.core("b").step(vote)
    cluster.flush("b")
    assert cluster.core("b").term == term  # b heard from a leader recently: ignored
    assert not any(m.dst == "c" for m in cluster.queue)


def test_prevote_is_ignored_inside_the_lease() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    term = cluster.core("a").term
    cluster.core("c").campaign()  # c thinks the leader died: PreVote only
    cluster.stabilize()
    assert cluster.core("c").term == term
    assert cluster.leaders() == ["a"]


def test_restart_keeps_term_and_vote() -> None:
    cluster = Cluster(["a", "b", "c"], config=RaftConfig(pre_vote=False))
    cluster.isolate("c")
    cluster.campaign("a")
    assert cluster.core("b").statistics().vote == "a"
    term = cluster.core("b").term
    cluster.crash("b")
    b = cluster.restart("b")
    assert (b.core.term, b.core.statistics().vote) == (term, "a")
    # c asks b for a vote in the same term, with a longer log: b already voted for a
    b.core.step(RequestVote(src="c", dst="b", term=term, last_index=99, last_term=term))
    answers = [m for m in b.core.ready().messages if m.dst == "c"]
    assert len(answers) == 1 and answers[0].granted is False


def test_failover_after_leader_crash() -> None:
    cluster = Cluster(["a", "b", "c"])
    first = elect(cluster)
    cluster.propose(first, b"before")
    cluster.crash(first)
    for _ in range(60):
        cluster.tick()
        if cluster.leaders():
            break
    second = cluster.leader()
    assert second != first
    cluster.propose(second, b"after")
    survivors = [n for n in "abc" if n != first]
    assert all(cluster.values(n) == [b"before", b"after"] for n in survivors)
    cluster.restart(first)
    cluster.tick(n=3)
    assert cluster.values(first) == [b"before", b"after"]
