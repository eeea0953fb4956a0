"""The Ready contract, crash semantics, and robustness of `step` against arbitrary input."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.raft import (
    AppendEntries,
    AppendResp,
    ConfState,
    Entry,
    Heartbeat,
    HeartbeatResp,
    InstallSnapshot,
    MemoryStorage,
    RaftConfig,
    RaftCore,
    ReadIndexReq,
    ReadIndexResp,
    RequestVote,
    SnapshotMeta,
    SnapshotResp,
    TimeoutNow,
    VoteResp,
)

from .harness import Cluster


def test_vote_is_in_the_same_ready_as_the_vote_response() -> None:
    core = RaftCore("b", RaftConfig(), random.Random(1), storage_view=MemoryStorage.bootstrapped(ConfState(voters=("a", "b", "c"))))
    core.step(RequestVote(src="a", dst="b", term=5, last_index=1, last_term=1))
    rd = core.ready()
    assert rd.hard_state is not None and (rd.hard_state.term, rd.hard_state.vote) == (5, "a")
    assert [type(m) for m in rd.messages] == [VoteResp] and rd.messages[0].granted
    core.advance(rd)
    assert not core.has_ready()


def test_appended_entries_travel_with_the_acknowledgement() -> None:
    core = RaftCore("b", RaftConfig(), random.Random(1), storage_view=MemoryStorage.bootstrapped(ConfState(voters=("a", "b"))))
    core.step(
        AppendEntries(
            src="a", dst="b", term=2, prev_index=1, prev_term=1, entries=(Entry(term=2, index=2, data=b"x"),), commit=2
        )
    )
    rd = core.ready()
    assert [e.index for e in rd.entries] == [2]
    assert [e.index for e in rd.committed_entries] == [1, 2]  # persisted by this same Ready first
    assert isinstance(rd.messages[0], AppendResp) and rd.messages[0].index == 2
    assert rd.soft_state is not None and rd.soft_state.leader == "a"
    core.advance(rd)
    assert core.applied_index == 2 and not core.has_ready()


def test_applied_entries_are_always_persisted_first() -> None:
    cluster = Cluster(["a", "b", "c"], config=RaftConfig(max_entries_per_append=2))
    for name, node in cluster.nodes.items():
        def check(node_id: str, entry: Entry, digest: bytes, storage: MemoryStorage = node.storage) -> None:
            base = storage.log_base()[0]
            stored = storage.entries()
            assert base < entry.index <= base + len(stored)
            assert stored[entry.index - base - 1] == entry

        node.on_apply = check
    cluster.campaign("a")
    for n in range(10):
        cluster.propose("a", b"%d" % n)
    cluster.tick(n=2)
    assert all(len(cluster.values(n)) == 10 for n in "abc")


def test_crash_loses_what_was_not_persisted() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    index = cluster.core("a").propose(b"lost")  # never handed out in a Ready
    cluster.crash("a")
    a = cluster.restart("a")
    assert a.core.last_index == index - 1
    cluster.tick("b", "c", n=3 * cluster.config.election_ticks)
    leader = cluster.leader()
    cluster.tick(n=2)
    assert all(b"lost" not in cluster.values(n) for n in "abc")
    assert cluster.core("a").leader == leader


def test_core_may_be_stepped_between_ready_and_advance() -> None:
    cluster = Cluster(["a", "b", "c"])
    cluster.campaign("a")
    a = cluster.core("a")
    a.propose(b"1")
    rd1 = a.ready()
    a.propose(b"2")
    rd2 = a.ready()
    assert [e.data for e in rd1.entries] == [b"1"] and [e.data for e in rd2.entries] == [b"2"]
    node = cluster.nodes["a"]
    for rd in (rd1, rd2):
        node.storage.save_ready(rd)
        for m in rd.messages:
            cluster.send(m)
        a.advance(rd)
    cluster.stabilize()
    assert cluster.values("b") == [b"1", b"2"]


# -- arbitrary input -------------------------------------------------------------------------------

small = st.integers(min_value=-2, max_value=8)
peer = st.sampled_from(["a", "b", "c", "x"])
entry = st.builds(
    Entry,
    term=small,
    index=small,
    kind=st.sampled_from(["normal", "config", "noop"]),
    data=st.binary(max_size=4),
)
meta = st.builds(SnapshotMeta, index=small, term=small, conf=st.just(ConfState(voters=("a", "b", "c"))))
common = dict(src=peer, dst=st.sampled_from(["b", "b", "b", "a"]), term=small)
message = st.one_of(
    st.builds(RequestVote, **common, last_index=small, last_term=small, pre_vote=st.booleans(), transfer=st.booleans()),
    st.builds(VoteResp, **common, granted=st.booleans(), pre_vote=st.booleans()),
    st.builds(AppendEntries, **common, prev_index=small, prev_term=small, entries=st.lists(entry, max_size=3).map(tuple), commit=small),
    st.builds(AppendResp, **common, index=small, reject=st.booleans(), conflict_term=small, conflict_index=small),
    st.builds(Heartbeat, **common, commit=small, read_seq=small),
    st.builds(HeartbeatResp, **common, read_seq=small),
    st.builds(InstallSnapshot, **common, meta=meta, offset=small, data=st.binary(max_size=4), done=st.booleans()),
    st.builds(SnapshotResp, **common, index=small, offset=small, done=st.booleans(), reject=st.booleans()),
    st.builds(TimeoutNow, **common),
    st.builds(ReadIndexReq, **common, ctx=st.binary(max_size=2)),
    st.builds(ReadIndexResp, **common, ctx=st.binary(max_size=2), index=small, error=st.text(max_size=3)),
    st.none(),
    st.integers(),
)
action = st.one_of(message, st.just("tick"), st.just("propose"), st.just("read"))


@settings(max_examples=300, deadline=None)
@given(actions=st.lists(action, max_size=40), leader=st.booleans())
def test_step_never_raises_on_arbitrary_input(actions: list[object], leader: bool) -> None:
    storage = MemoryStorage.bootstrapped(ConfState(voters=("a", "b", "c")))
    core = RaftCore("b", RaftConfig(), random.Random(0), storage_view=storage)
    if leader:
        core.campaign()
        core.step(VoteResp(src="a", dst="b", term=2, granted=True, pre_vote=True))
        core.step(VoteResp(src="a", dst="b", term=2, granted=True))
        assert core.role == "leader"
    for act in actions:
        if act == "tick":
            core.tick()
        elif act == "propose":
            if core.role == "leader" and core.statistics().transfer_target is None:
                core.propose(b"p")
        elif act == "read":
            core.read_index(b"r")
        else:
            core.step(act)
        if core.has_ready():
            core.advance(core.ready())
        assert core.commit_index <= core.last_index
        assert core.applied_index <= core.commit_index
