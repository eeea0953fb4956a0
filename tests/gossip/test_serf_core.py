"""The Serf layer over SWIM, sans-IO: statuses, intents, leave and force-leave, user events, name
conflicts and keyring queries, on the deterministic `SerfNet`."""

from __future__ import annotations

import msgspec
import pytest

from actors.gossip.crypto import Keyring, encode_key
from actors.gossip.serf_core import SerfConfig
from actors.gossip.serf_effects import JoinResult, KeyringChanged, QueryDone, UserEventDelivered
from actors.gossip.serf_messages import KeyringReply
from actors.swim.effects import LeaveCompleted
from tests.gossip.serfnet import SerfNet

KEY_A = bytes(range(16))
KEY_B = bytes(range(16, 48))


def cluster(n: int, seed: int = 1, **kw) -> SerfNet:
    net = SerfNet(seed, **kw)
    for i in range(n):
        net.add(f"n{i}")
    for i in range(1, n):
        net.nodes[f"n{i}"].join(net.now, [net.nodes["n0"].addr])
        net.pump()
    net.advance(2.0)
    return net


def test_join_converges_with_tags_and_join_results() -> None:
    net = SerfNet(2)
    net.add("n0", tags={"role": "consul", "dc": "dc1", "port": "8300"})
    for i in range(1, 4):
        net.add(f"n{i}")
        net.nodes[f"n{i}"].join(net.now, [net.nodes["n0"].addr])
        net.pump()
    net.advance(2.0)
    for key in net.nodes:
        assert net.statuses(key) == {f"n{i}": "alive" for i in range(4)}
    assert net.nodes["n3"].member("n0").tags == {"role": "consul", "dc": "dc1", "port": "8300"}
    assert net.of_kind("n1", JoinResult) == [JoinResult(contacted=1, failed=())]


def test_join_to_nobody_reports_the_failed_seed() -> None:
    net = SerfNet(3)
    core = net.add("n0")
    core.join(net.now, [("10.9.9.9", 7946)])
    net.pump()
    assert net.of_kind("n0", JoinResult) == [JoinResult(contacted=0, failed=(("10.9.9.9", 7946),))]


def test_graceful_leave_is_leaving_then_left_never_failed() -> None:
    net = cluster(4)
    net.nodes["n3"].leave(net.now)
    net.pump()
    assert net.statuses("n3")["n3"] == "leaving"
    net.advance(0.2)
    seen = {net.statuses(k)["n3"] for k in ("n0", "n1", "n2")}
    assert seen <= {"leaving", "left"}
    net.advance(3.0)
    assert net.of_kind("n3", LeaveCompleted)
    assert net.statuses("n3")["n3"] == "left"
    for key in ("n0", "n1", "n2"):
        assert net.statuses(key)["n3"] == "left"
    net.down.add("n3")
    net.advance(10.0)
    for key in ("n0", "n1", "n2"):
        assert net.statuses(key)["n3"] == "left"


def test_failure_then_force_leave_moves_failed_to_left_everywhere_and_prune_forgets() -> None:
    net = cluster(5)
    net.down.add("n4")
    net.advance(10.0)
    for key in ("n0", "n1", "n2", "n3"):
        assert net.statuses(key)["n4"] == "failed"
    net.nodes["n0"].force_leave(net.now, "n4")
    net.pump()
    net.advance(1.0)
    for key in ("n0", "n1", "n2", "n3"):
        assert net.statuses(key)["n4"] == "left"
    net.down.add("n3")
    net.advance(10.0)
    net.nodes["n1"].force_leave(net.now, "n3", prune=True)
    net.pump()
    net.advance(1.0)
    for key in ("n0", "n1", "n2"):
        assert "n3" not in net.statuses(key)
    with pytest.raises(KeyError):
        net.nodes["n0"].force_leave(net.now, "nobody")


def test_force_leave_of_a_live_member_is_refuted() -> None:
    net = cluster(4)
    net.nodes["n0"].force_leave(net.now, "n2")
    net.pump()
    net.advance(2.0)
    for key in net.nodes:
        assert net.statuses(key)["n2"] == "alive"
    assert net.nodes["n2"].counters["intents_refuted"] >= 1


def test_user_events_reach_everyone_once_and_newcomers_ignore_old_ones() -> None:
    net = cluster(4)
    net.nodes["n1"].fire(net.now, "deploy", b"v1")
    net.pump()
    net.advance(2.0)
    for key in net.nodes:
        got = [(e.name, e.payload) for e in net.of_kind(key, UserEventDelivered)]
        assert got == [("deploy", b"v1")], key
    late = net.add("n9")
    late.join(net.now, [net.nodes["n0"].addr])
    net.pump()
    net.advance(2.0)
    assert net.of_kind("n9", UserEventDelivered) == []
    net.nodes["n2"].fire(net.now, "restart", b"")
    net.pump()
    net.advance(2.0)
    assert [e.name for e in net.of_kind("n9", UserEventDelivered)] == ["restart"]
    assert [e.name for e in net.of_kind("n0", UserEventDelivered)] == ["deploy", "restart"]


def test_user_event_size_limit() -> None:
    net = cluster(2)
    with pytest.raises(ValueError, match="512-byte limit"):
        net.nodes["n0"].fire(net.now, "big", b"x" * 600)


def test_coalescing_keeps_the_newest_event_per_name() -> None:
    net = SerfNet(5, serf_config=SerfConfig(user_coalesce_period=1.0, user_quiescent_period=0.5))
    core = net.add("n0")
    for i in range(3):
        core.fire(net.now, "deploy", str(i).encode(), coalesce=True)
    core.fire(net.now, "other", b"x", coalesce=True)
    core.fire(net.now, "urgent", b"!", coalesce=False)
    net.pump()
    assert [e.name for e in net.of_kind("n0", UserEventDelivered)] == ["urgent"]
    net.advance(0.6)
    assert [(e.name, e.payload) for e in net.of_kind("n0", UserEventDelivered)] == [
        ("urgent", b"!"), ("deploy", b"2"), ("other", b"x")]


def test_name_conflict_refuses_the_newcomer_and_leaves_the_cluster_alone() -> None:
    net = cluster(3)
    impostor = net.add("n1", addr=("10.0.0.99", 7946))
    impostor.join(net.now, [net.nodes["n0"].addr])
    net.pump()
    (result,) = net.of_kind("n1@10.0.0.99", JoinResult)
    assert result.contacted == 0 and "conflicting node name" in result.conflict and "10.0.0.2:7946" in result.conflict
    assert [m.name for m in impostor.members()] == ["n1"]
    net.advance(3.0)
    for key in ("n0", "n1", "n2"):
        assert net.nodes[key].member("n1").address == "10.0.0.2"
        assert net.statuses(key)["n1"] == "alive"


def test_keyring_queries_apply_on_every_member() -> None:
    net = SerfNet(7)
    for i in range(4):
        net.add(f"n{i}", keyring=Keyring([KEY_A]))
    for i in range(1, 4):
        net.nodes[f"n{i}"].join(net.now, [net.nodes["n0"].addr])
        net.pump()
    net.advance(2.0)
    qid = net.nodes["n2"].query(net.now, "_serf_install-key", encode_key(KEY_B).encode())
    net.advance(1.0)
    (done,) = net.of_kind("n2", QueryDone)
    assert done.result.id == qid and not done.result.timed_out
    assert set(done.result.responses) == {"n0", "n1", "n2", "n3"}
    replies = [msgspec.msgpack.decode(r, type=KeyringReply) for r in done.result.responses.values()]
    assert all(r.ok and r.keys == [encode_key(KEY_A), encode_key(KEY_B)] for r in replies)
    assert all(net.of_kind(k, KeyringChanged) for k in net.nodes)
    net.nodes["n0"].query(net.now, "_serf_remove-key", encode_key(KEY_A).encode())
    net.advance(1.0)
    (done,) = net.of_kind("n0", QueryDone)
    replies = [msgspec.msgpack.decode(r, type=KeyringReply) for r in done.result.responses.values()]
    assert all(not r.ok and "primary" in r.message for r in replies)


def test_query_times_out_with_what_arrived() -> None:
    net = cluster(3)
    net.down.add("n2")
    net.nodes["n0"].query(net.now, "_serf_list-keys", b"")
    net.pump()
    net.advance(5.0)
    (done,) = net.of_kind("n0", QueryDone)
    assert done.result.timed_out and set(done.result.responses) == {"n0", "n1"} and done.result.expected == 3
    replies = [msgspec.msgpack.decode(r, type=KeyringReply) for r in done.result.responses.values()]
    assert all(not r.ok and "encryption not enabled" in r.message for r in replies)


def test_a_seeded_run_repeats_exactly() -> None:
    def run() -> list:
        net = cluster(5, seed=11)
        net.down.add("n4")
        net.advance(8.0)
        return [sorted(net.statuses(k).items()) for k in ("n0", "n1", "n2", "n3")] + [net.now]

    assert run() == run()


def test_a_stale_intent_arriving_after_a_prune_is_ignored() -> None:
    from actors.gossip.membership import MemberTable
    from actors.swim.effects import Member, MemberState

    table = MemberTable("me")
    member = Member(name="x", addr=("10.0.0.5", 1), state=MemberState.DEAD, incarnation=0, meta=b"", state_change=0.0)
    table.on_swim_event(0.0, "join", member)
    table.on_swim_event(1.0, "failed", member)
    assert table.leave_intent(2.0, 5, "x", False, self_leaving=False) == "apply"
    assert table.get("x").status == "left"
    assert table.leave_intent(3.0, 6, "x", True, self_leaving=False) == "apply"
    assert table.get("x") is None
    assert table.leave_intent(4.0, 5, "x", False, self_leaving=False) == "ignore"  # would replace the prune in flight
    assert table.leave_intent(4.0, 6, "me", False, self_leaving=False) == "refute"
