"""Transcript tests of `SwimCore`: each drives a few cores by hand and checks what they send and decide."""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.swim.config import lan
from actors.swim.core import SwimCore, push_pull_scale
from actors.swim.effects import JoinCompleted, LeaveCompleted, MemberState, NameConflict, SendStream, UserMessage
from actors.swim.messages import Ack, Alive, Dead, Ping, PushNodeState, PushPull, Suspect, User
from tests.swim.bench import QUIET, Bench, parts

ALIVE, SUSPECT, DEAD, LEFT = MemberState.ALIVE, MemberState.SUSPECT, MemberState.DEAD, MemberState.LEFT


def state(bench: Bench, observer: str, subject: str) -> MemberState:
    return bench[observer].member(subject).state


def fail_probe_of(b: Bench, prober: str) -> tuple[str, float]:
    """Let `prober` probe someone and lose every packet of that probe; return (target, probe start)."""
    ping = b.advance_until_probe(prober)
    start = b.now
    target = b.dest(ping)
    b.advance(prober, until=start + QUIET.probe_interval - 1e-9)
    b.drop_outbox(prober)
    b.advance(prober, until=start + QUIET.probe_interval)
    return target, start


# --- probing -----------------------------------------------------------------------------------------


def test_probe_answered_by_ack_needs_no_indirect_probe():
    b = Bench(["a", "b", "c"])
    b.introduce()
    ping = b.advance_until_probe("a")
    start = b.now
    msg = parts(ping.msg)[0]
    target = b.dest(ping)
    assert msg.node == target and msg.source_node == "a"

    b.deliver("a", ping)
    ack = b.take(target, "Ack")
    assert parts(ack.msg)[0].seq == msg.seq
    b.deliver(target, ack)

    b.advance("a", until=start + QUIET.probe_interval - 1e-9)
    assert b.take_all("a", "IndirectPingReq") == []
    stats = b["a"].statistics()
    assert (stats.probes_sent, stats.acks_received, stats.probes_failed) == (1, 1, 0)
    assert b["a"].health_score == 0


def test_ping_for_another_name_is_ignored():
    b = Bench(["a", "b"])
    b.introduce()
    b["b"].on_packet(0.0, b["a"].addr, Ping(seq=7, node="someone-else"))
    b.collect()
    assert b.outbox["b"] == []


def test_indirect_probe_succeeds_when_direct_path_is_lost():
    b = Bench(["a", "b", "c", "d"])
    b.introduce()
    ping = b.advance_until_probe("a")
    start = b.now
    seq = parts(ping.msg)[0].seq
    target = b.dest(ping)
    b.drop_outbox("a")  # the direct ping is lost

    b.advance("a", until=start + QUIET.probe_timeout)
    reqs = b.take_all("a", "IndirectPingReq")
    helpers = sorted(b.dest(r) for r in reqs)
    assert helpers == sorted(set("abcd") - {"a", target})
    assert all(parts(r.msg)[0].nack for r in reqs)
    fallback = b.take("a", "Ping", stream=True)
    assert b.dest(fallback) == target

    helper = b.dest(reqs[0])
    b.deliver("a", reqs[0])
    relay_ping = b.take(helper, "Ping")
    assert b.dest(relay_ping) == target and parts(relay_ping.msg)[0].node == target
    b.deliver(helper, relay_ping)
    b.deliver(target, b.take(target, "Ack"))
    relayed = b.take(helper, "Ack")
    assert b.dest(relayed) == "a" and parts(relayed.msg)[0].seq == seq
    b.deliver(helper, relayed)

    b.advance("a", until=start + QUIET.probe_interval - 1e-9)
    assert state(b, "a", target) is ALIVE
    stats = b["a"].statistics()
    assert (stats.acks_received, stats.probes_failed, stats.indirect_probes_sent) == (1, 0, 2)


def test_tcp_fallback_ack_saves_the_probe():
    b = Bench(["a", "b"])
    b.introduce()
    ping = b.advance_until_probe("a")
    start = b.now
    b.drop_outbox("a")
    b.advance("a", until=start + QUIET.probe_timeout)
    fallback = b.take("a", "Ping", stream=True)
    [reply] = b.deliver("a", fallback)
    assert type(reply) is Ack
    b["a"].on_stream(b.now, b["b"].addr, reply)
    b.advance("a", until=start + QUIET.probe_interval - 1e-9)
    assert state(b, "a", "b") is ALIVE
    assert b["a"].statistics().acks_received == 1


@pytest.mark.parametrize("deliver_nacks, expected_health", [(True, 0), (False, 2)])
def test_helpers_nack_and_missing_nacks_count_against_the_prober(deliver_nacks, expected_health):
    b = Bench(["a", "b", "c", "d"])
    b.introduce()
    ping = b.advance_until_probe("a")
    start = b.now
    seq = parts(ping.msg)[0].seq
    target = b.dest(ping)
    b.drop_outbox("a")
    b.advance("a", until=start + QUIET.probe_timeout)
    reqs = b.take_all("a", "IndirectPingReq")
    b.drop_outbox("a")  # the TCP fallback fails too
    for req in reqs:
        helper = b.dest(req)
        b.deliver("a", req)
        b.take(helper, "Ping")  # the target never answers
        b.advance(helper, until=b.now + QUIET.probe_timeout * QUIET.nack_timeout_ratio)
        nack = b.take(helper, "Nack")
        assert b.dest(nack) == "a" and parts(nack.msg)[0].seq == seq
        if deliver_nacks:
            b.deliver(helper, nack)
    b.advance("a", until=start + QUIET.probe_interval)
    assert state(b, "a", target) is SUSPECT
    assert b["a"].statistics().nacks_received == (2 if deliver_nacks else 0)
    assert b["a"].health_score == expected_health


def test_nack_arrives_before_the_round_closes_at_default_settings():
    # helper receives the request at probe_timeout, nacks after 0.8 * probe_timeout: 0.9 s < 1 s round
    assert QUIET.probe_timeout * (1 + QUIET.nack_timeout_ratio) < QUIET.probe_interval


# --- Lifeguard: local health ----------------------------------------------------------------------


def test_health_rises_on_failed_probes_scales_the_round_and_falls_on_success():
    b = Bench(["a", "b", "c", "d", "e", "f", "g"])  # three alive helpers even with two suspects
    b.introduce()
    _, start = fail_probe_of(b, "a")
    assert b["a"].health_score == 3  # three helpers promised nacks, none came

    # The next round started as the last one closed, and is four times as long: the ping now waits
    # 4 * probe_timeout before going indirect, and the round lasts 4 * probe_interval.
    second = b.now
    assert second == pytest.approx(start + QUIET.probe_interval)
    b.take("a", "Ping")
    b.advance("a", until=second + 4 * QUIET.probe_timeout - 1e-6)
    assert b.take_all("a", "IndirectPingReq") == []
    b.advance("a", until=second + 4 * QUIET.probe_timeout)
    assert len(b.take_all("a", "IndirectPingReq")) == 3
    b.drop_outbox("a")
    b.advance("a", until=second + 4 * QUIET.probe_interval)
    assert b["a"].health_score == 6

    third = b.now
    b.drop_outbox("a")
    b.advance("a", until=third + 7 * QUIET.probe_interval)
    assert b["a"].health_score == 7  # saturates at awareness_max_multiplier - 1
    assert b["a"].statistics().probes_failed == 3

    # Now the network heals: every answered probe lowers the score by one.
    for expected in (6, 5, 4):
        ping = b.advance_until_probe("a")
        target = b.dest(ping)
        b.deliver("a", ping)
        b.deliver(target, b.take(target, "Ack"))
        assert b["a"].health_score == expected


def test_without_lifeguard_health_never_moves():
    b = Bench(["a", "b", "c", "d", "e"], config=QUIET.without_lifeguard())
    b.introduce()
    fail_probe_of(b, "a")
    assert b["a"].health_score == 0
    assert all(not parts(r.msg)[0].nack for r in b.take_all("a", "IndirectPingReq"))


# --- suspicion -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "confirmers, timeout",
    [
        ((), 24.0),  # N=5: min = 4 * max(1, log10 5) * 1 s = 4 s, max = 6 * min = 24 s, k = 2
        (("c",), 11.381),  # 24 - 20 * log(2)/log(3) = 11.3814..., truncated to the millisecond
        (("c", "d"), 4.0),  # k confirmations: the minimum
        (("c", "d", "e"), 4.0),  # more than k change nothing
        (("c", "c"), 11.381),  # the same confirmer twice counts once
        (("a",), 24.0),  # the node that raised the suspicion cannot confirm it
    ],
)
def test_suspicion_timeout_shrinks_with_independent_confirmations(confirmers, timeout):
    b = Bench(["a", "b", "c", "d", "e"])
    b.introduce()
    target, start = fail_probe_of(b, "a")
    suspected_at = start + QUIET.probe_interval
    assert state(b, "a", target) is SUSPECT
    others = [n for n in "bcde" if n != target]
    names = {"c": others[0], "d": others[1], "e": others[2], "a": "a"}
    for who in confirmers:
        b["a"].on_packet(b.now, b["b"].addr, Suspect(incarnation=0, node=target, from_=names[who]))
    b.collect()
    b.advance("a", until=suspected_at + timeout - 1e-6)
    assert state(b, "a", target) is SUSPECT
    b.advance("a", until=suspected_at + timeout)
    assert state(b, "a", target) is DEAD
    assert ("a", "failed", target) in b.events


def test_without_lifeguard_suspicion_lasts_exactly_the_minimum():
    b = Bench(["a", "b", "c", "d", "e"], config=QUIET.without_lifeguard())
    b.introduce()
    target, start = fail_probe_of(b, "a")
    b.advance("a", until=start + 1 + 4.0 - 1e-6)
    assert state(b, "a", target) is SUSPECT
    b.advance("a", until=start + 1 + 4.0)
    assert state(b, "a", target) is DEAD


def test_suspected_node_refutes_with_higher_incarnation_and_survives():
    b = Bench(["a", "b", "c"])
    b.introduce()
    b["a"].on_packet(0.0, b["c"].addr, Suspect(incarnation=0, node="b", from_="c"))
    b.collect()
    assert state(b, "a", "b") is SUSPECT

    b["b"].on_packet(0.0, b["c"].addr, Suspect(incarnation=0, node="b", from_="c"))
    b.collect()
    assert b["b"].incarnation == 1
    assert b["b"].health_score == 1  # having to refute is a sign we are slow
    assert b["b"].statistics().refutes == 1

    # The refutation rides b's next packet, whatever it is.
    for _ in range(50):
        b.advance("b")
        carried = [(e, p) for e in b.outbox["b"] for p in parts(e.msg) if type(p) is Alive]
        if carried:
            break
    effect, alive = carried[0]
    assert alive == Alive(incarnation=1, node="b", addr=b["b"].addr)
    b["a"].on_packet(b.now, b["b"].addr, effect.msg)
    b.collect()
    assert state(b, "a", "b") is ALIVE
    assert b["a"].member("b").incarnation == 1
    assert ("a", "alive", "b") in b.events
    # The old accusation is now stale and can no longer kill b.
    b["a"].on_packet(b.now, b["c"].addr, Dead(incarnation=0, node="b", from_="c"))
    assert state(b, "a", "b") is ALIVE


def test_dead_about_ourselves_is_refuted_too():
    b = Bench(["a", "b"])
    b.introduce()
    b["b"].on_packet(0.0, b["a"].addr, Dead(incarnation=4, node="b", from_="a"))
    assert b["b"].incarnation == 5
    assert b["b"].member("b").state is ALIVE


def test_stale_suspicion_is_ignored():
    b = Bench(["a", "b"])
    b.introduce()
    b["a"].on_packet(0.0, b["b"].addr, Alive(incarnation=3, node="b", addr=b["b"].addr))
    b["a"].on_packet(0.0, b["b"].addr, Suspect(incarnation=2, node="b", from_="x"))
    assert state(b, "a", "b") is ALIVE


def test_stale_accusation_is_answered_with_the_newer_alive():
    b = Bench(["a", "b", "c"])
    b.introduce()
    b["a"].on_packet(0.0, b["b"].addr, Alive(incarnation=2, node="b", addr=b["b"].addr))
    b.collect()
    b.drop_outbox("a")
    b["a"].on_packet(0.1, b["c"].addr, Suspect(incarnation=1, node="b", from_="x"))
    b["a"].on_packet(0.2, b["c"].addr, Dead(incarnation=1, node="b", from_="x"))  # rate limited
    b.collect()
    [correction] = b.outbox["a"]
    assert b.dest(correction) == "c"
    assert parts(correction.msg)[0] == Alive(incarnation=2, node="b", addr=b["b"].addr)
    assert state(b, "a", "b") is ALIVE and b["a"].statistics().corrections == 1


def test_no_stale_correction_in_memberlist_mode():
    b = Bench(["a", "b", "c"], config=msgspec.structs.replace(QUIET, correct_stale_gossip=False))
    b.introduce()
    b["a"].on_packet(0.0, b["b"].addr, Alive(incarnation=2, node="b", addr=b["b"].addr))
    b["a"].on_packet(0.1, b["c"].addr, Suspect(incarnation=1, node="b", from_="x"))
    b.collect()
    assert b["a"].statistics().corrections == 0


@pytest.mark.parametrize("recheck", [True, False])
def test_held_suspicion_is_gossiped_again_halfway_to_the_minimum(recheck):
    cfg = msgspec.structs.replace(QUIET, correct_stale_gossip=recheck)
    b = Bench(["a", "b", "c", "d", "e"], config=cfg)
    b.introduce()
    b.advance("a", until=0.5)
    b["a"].on_packet(b.now, b["c"].addr, Suspect(incarnation=0, node="b", from_="c"))
    b.collect()

    def suspects_sent() -> list:
        sent = [p for e in b.outbox["a"] for p in parts(e.msg) if type(p) is Suspect and p.node == "b"]
        b.drop_outbox("a")
        return sent

    b.advance("a", until=0.5 + 2.0 - 1e-6)  # N=5: minimum 4 s, recheck at 2 s
    first = suspects_sent()
    assert len([p for p in first if p.from_ == "c"]) == 4  # its retransmit quota, long used up
    b.advance("a", until=0.5 + 3.9)
    again = [p for p in suspects_sent() if p.from_ == "c"]
    assert len(again) == (4 if recheck else 0)  # same accuser: not a new confirmation


def test_ping_to_a_suspect_carries_the_suspicion():
    b = Bench(["a", "b"])
    b.introduce()
    b["a"].on_packet(0.0, ("10.9.9.9", 1), Suspect(incarnation=0, node="b", from_="x"))
    b.collect()
    ping = b.advance_until_probe("a")
    assert [type(p) for p in parts(ping.msg)][:2] == [Suspect, Ping]
    assert parts(ping.msg)[0] == Suspect(incarnation=0, node="b", from_="a")
    # ... so the suspect refutes the moment it reads the ping, and the refutation rides the ack.
    b.deliver("a", ping)
    assert b["b"].incarnation == 1
    ack = b.take("b", "Ack")
    assert Alive(incarnation=1, node="b", addr=b["b"].addr) in parts(ack.msg)
    b.deliver("b", ack)
    assert state(b, "a", "b") is ALIVE


def test_no_buddy_system_without_lifeguard():
    b = Bench(["a", "b"], config=QUIET.without_lifeguard())
    b.introduce()
    b["a"].on_packet(0.0, ("10.9.9.9", 1), Suspect(incarnation=0, node="b", from_="x"))
    b.collect()
    ping = b.advance_until_probe("a")
    assert [p for p in parts(ping.msg) if type(p) is Suspect and p.from_ == "a"] == []


# --- dissemination -----------------------------------------------------------------------------


def test_each_broadcast_is_sent_retransmit_mult_times_log_n():
    b = Bench(["a", "b", "c", "d", "e"])
    b.introduce()
    b.advance("a", until=1.0)
    b.drop_outbox("a")
    b["a"].update_meta(b.now, b"v2")
    b.collect()
    b.advance("a", until=20.0)
    carried = [p for e in b.outbox["a"] for p in parts(e.msg) if type(p) is Alive and p.node == "a"]
    assert len(carried) == 4 * 1  # RetransmitMult * ceil(log10(5 + 1))
    assert all(p.meta == b"v2" and p.incarnation == 1 for p in carried)


def test_gossip_goes_to_gossip_nodes_peers_per_round():
    b = Bench([f"n{i}" for i in range(10)])
    b.introduce()
    b["n0"].update_meta(0.0, b"x")
    b.collect()
    b.drop_outbox("n0")
    b.advance("n0", until=b["n0"].next_deadline())  # find the first gossip tick
    while not b.outbox["n0"]:
        b.advance("n0")
    first = b.outbox["n0"]
    gossip = [e for e in first if type(parts(e.msg)[0]) is Alive]
    assert len(gossip) == 3 and len({e.addr for e in gossip}) == 3


def test_recently_dead_members_still_receive_gossip_then_stop():
    b = Bench(["a", "b"])
    b.introduce()
    b["a"].on_packet(1.0, ("10.9.9.9", 1), Dead(incarnation=0, node="b", from_="x"))
    b.collect()
    b.advance("a", until=2.0)
    assert any(type(p) is Dead for e in b.outbox["a"] if b.dest(e) == "b" for p in parts(e.msg))
    b.advance("a", until=31.5)  # gossip_to_the_dead_time is 30 s
    b.drop_outbox("a")
    b["a"].update_meta(b.now, b"news")
    b.advance("a", until=40.0)
    assert b.outbox["a"] == []  # nobody left to gossip to


def test_user_broadcasts_are_gossiped_and_delivered_upward():
    b = Bench(["a", "b"])
    b.introduce()
    b["a"].broadcast_user("event:deploy", b"v1")
    b["a"].broadcast_user("event:deploy", b"v2")  # supersedes v1 while queued
    while not b.outbox["a"]:
        b.advance("a")
    user = [p for e in b.outbox["a"] for p in parts(e.msg) if type(p) is User]
    assert user == [User(payload=b"v2")]
    b.deliver("a", b.outbox["a"][0])
    assert UserMessage(payload=b"v2") in b.notices["b"]


# --- push-pull ---------------------------------------------------------------------------------------


def _pushed(name: str, addr, incarnation: int, st: str, meta: bytes = b"") -> PushNodeState:
    return PushNodeState(name=name, addr=addr, incarnation=incarnation, state=st, meta=meta)


@pytest.mark.parametrize(
    "local, remote, expected, event",
    [
        (None, ("alive", 0), (ALIVE, 0), "join"),  # unknown member is learned
        (None, ("suspect", 2), None, None),  # no news about strangers unless they are alive
        (None, ("dead", 2), None, None),
        (("alive", 1), ("alive", 2), (ALIVE, 2), None),  # newer incarnation wins
        (("alive", 2), ("alive", 1), (ALIVE, 2), None),  # older loses
        (("alive", 1), ("suspect", 1), (SUSPECT, 1), "suspect"),  # equal incarnation suspicion sticks
        (("alive", 1), ("dead", 1), (SUSPECT, 1), "suspect"),  # remote dead only makes us suspect
        (("alive", 1), ("left", 1), (LEFT, 1), "left"),  # a leave is taken as said
        (("alive", 2), ("dead", 1), (ALIVE, 2), None),  # stale accusation
        (("suspect", 1), ("alive", 1), (SUSPECT, 1), None),  # equal incarnation cannot clear it
        (("suspect", 1), ("alive", 2), (ALIVE, 2), "alive"),  # a refutation does
        (("dead", 1), ("alive", 2), (ALIVE, 2), "join"),  # a comeback is a join
        (("left", 3), ("alive", 3), (LEFT, 3), None),
    ],
)
def test_push_pull_merge_rules(local, remote, expected, event):
    core = SwimCore("me", ("10.0.0.1", 1), QUIET, random.Random(1))
    core.on_deadline(0.0)
    x_addr = ("10.0.0.2", 1)
    if local is not None:
        st, inc = local
        core.on_stream(0.0, x_addr, PushPull(join=False, reply=True, states=(_pushed("x", x_addr, inc, "alive"),)))
        if st == "suspect":
            core.on_packet(0.0, x_addr, Suspect(incarnation=inc, node="x", from_="y"))
        elif st in ("dead", "left"):
            core.on_packet(0.0, x_addr, Dead(incarnation=inc, node="x", from_="x" if st == "left" else "y"))
    core.poll()
    core.on_stream(1.0, x_addr, PushPull(join=False, reply=True, states=(_pushed("x", x_addr, remote[1], remote[0]),)))
    m = core.member("x")
    if expected is None:
        assert m is None
    else:
        assert (m.state, m.incarnation) == expected
    kinds = [e.kind for e in core.poll() if hasattr(e, "kind")]
    assert kinds == ([event] if event else [])


def test_push_pull_request_is_answered_with_local_state_and_merged():
    a = SwimCore("a", ("10.0.0.1", 1), QUIET, random.Random(1))
    b = SwimCore("b", ("10.0.0.2", 1), QUIET, random.Random(2))
    a.join(0.0, [b.addr])
    [send] = [e for e in a.poll() if type(e) is SendStream]
    assert send.msg.join and not send.msg.reply
    [reply] = b.on_stream(0.0, a.addr, send.msg)
    assert reply.reply and [s.name for s in reply.states] == ["b"]  # state before the merge
    assert b.member("a").state is ALIVE
    a.on_stream(0.0, b.addr, reply)
    assert a.member("b").state is ALIVE
    assert JoinCompleted(contacted=1, failed=()) in a.poll()


def test_join_reports_seeds_that_failed():
    a = SwimCore("a", ("10.0.0.1", 1), QUIET, random.Random(1))
    seeds = [("10.0.0.2", 1), ("10.0.0.3", 1)]
    a.join(0.0, seeds + [a.addr])  # our own address is skipped
    sends = [e for e in a.poll() if type(e) is SendStream]
    assert [s.addr for s in sends] == seeds
    a.on_stream_failed(0.5, seeds[0], sends[0].msg)
    assert not [e for e in a.poll() if type(e) is JoinCompleted]
    a.on_stream(0.6, seeds[1], PushPull(join=True, reply=True, states=(_pushed("c", seeds[1], 0, "alive"),)))
    assert JoinCompleted(contacted=1, failed=(seeds[0],)) in a.poll()


def test_join_without_seeds_completes_at_once():
    a = SwimCore("a", ("10.0.0.1", 1), QUIET, random.Random(1))
    a.join(0.0, [])
    assert JoinCompleted(contacted=0, failed=()) in a.poll()


def test_restarted_node_learns_its_old_incarnation_and_outbids_it():
    b = Bench(["a", "b"])
    b.introduce()
    b["a"].on_packet(0.0, b["b"].addr, Alive(incarnation=3, node="b", addr=b["b"].addr))
    b["a"].on_packet(0.0, b["b"].addr, Dead(incarnation=3, node="b", from_="a"))
    b.collect()
    assert state(b, "a", "b") is DEAD

    reborn = SwimCore("b", b["b"].addr, QUIET, random.Random(9))  # fresh process, incarnation 0
    reborn.join(1.0, [b["a"].addr])
    [send] = [e for e in reborn.poll() if type(e) is SendStream]
    [reply] = b["a"].on_stream(1.0, reborn.addr, send.msg)
    assert state(b, "a", "b") is DEAD  # incarnation 0 cannot revive incarnation 3
    reborn.on_stream(1.0, b["a"].addr, reply)
    assert reborn.incarnation == 4
    b["a"].on_packet(1.1, reborn.addr, Alive(incarnation=4, node="b", addr=reborn.addr))
    b.collect()
    assert state(b, "a", "b") is ALIVE and b["a"].member("b").incarnation == 4
    assert ("a", "join", "b") in b.events


def test_push_pull_interval_scales_above_32_nodes():
    assert [push_pull_scale(30.0, n) for n in (1, 32, 33, 64, 65, 128, 1000)] == [
        30.0, 30.0, 60.0, 60.0, 90.0, 90.0, 180.0]


# --- leave, failure, names, reaping ----------------------------------------------------------------


def test_leave_is_recorded_as_left_not_failed():
    b = Bench(["a", "b", "c"])
    b.introduce()
    b["a"].leave(1.0)
    b.collect()
    assert b["a"].member("a").state is LEFT
    delivered = []
    for _ in range(100):
        b.advance("a")
        delivered += [e for e in b.outbox["a"] if any(type(p) is Dead for p in parts(e.msg))]
        b.drop_outbox("a")
        if LeaveCompleted() in b.notices["a"]:
            break
    assert LeaveCompleted() in b.notices["a"]
    assert len(delivered) == 4  # the leave got its full retransmit quota first
    for effect in delivered:
        b.deliver("a", effect)
    assert state(b, "b", "a") is LEFT and state(b, "c", "a") is LEFT
    kinds = {e[1] for e in b.events if e[2] == "a" and e[0] != "a"}
    assert kinds == {"left"}
    # Someone still gossiping an old alive cannot bring a leaver back ...
    b["b"].on_packet(b.now, b["c"].addr, Alive(incarnation=0, node="a", addr=b["a"].addr))
    assert state(b, "b", "a") is LEFT
    # ... and the leaver does not refute its own leave.
    b["a"].on_packet(b.now, b["c"].addr, Suspect(incarnation=0, node="a", from_="c"))
    assert b["a"].incarnation == 0


def test_leave_alone_completes_at_once():
    a = SwimCore("a", ("10.0.0.1", 1), QUIET, random.Random(1))
    a.leave(0.0)
    assert LeaveCompleted() in a.poll()


def test_name_conflict_is_reported_once_and_never_flips():
    b = Bench(["a", "b"])
    b.introduce()
    impostor = ("10.6.6.6", 8301)
    for inc in (5, 6, 7):
        b["a"].on_packet(0.0, impostor, Alive(incarnation=inc, node="b", addr=impostor))
    conflicts = [e for e in b["a"].poll() if type(e) is NameConflict]
    assert len(conflicts) == 1
    assert conflicts[0].existing.addr == b["b"].addr and conflicts[0].claimant_addr == impostor
    assert b["a"].member("b").addr == b["b"].addr and b["a"].member("b").incarnation == 0


def test_dead_name_can_be_reclaimed_from_a_new_address_after_reclaim_time():
    b = Bench(["a", "b"])
    b.introduce()
    b["a"].on_packet(1.0, b["b"].addr, Dead(incarnation=0, node="b", from_="a"))
    new_addr = ("10.7.7.7", 8301)
    b["a"].on_packet(1.0 + 29.0, new_addr, Alive(incarnation=0, node="b", addr=new_addr))
    assert b["a"].member("b").addr == b["b"].addr  # too early: a conflict
    b["a"].on_packet(1.0 + 31.0, new_addr, Alive(incarnation=0, node="b", addr=new_addr))
    m = b["a"].member("b")
    assert (m.addr, m.state) == (new_addr, ALIVE)  # any incarnation, the old one is gone


def test_dead_and_left_members_are_reaped_after_their_timeouts():
    cfg = msgspec.structs.replace(QUIET, reconnect_timeout=100.0, tombstone_timeout=50.0, reap_interval=10.0)
    b = Bench(["a", "b", "c"], config=cfg)
    b.introduce()
    b["a"].on_packet(0.0, b["b"].addr, Dead(incarnation=0, node="b", from_="x"))
    b["a"].on_packet(0.0, b["c"].addr, Dead(incarnation=0, node="c", from_="c"))
    b.collect()
    b.advance("a", until=59.0)  # the reaper runs every 10 s; "older than 50 s" first holds at 60 s
    assert b["a"].member("c") is not None
    b.advance("a", until=61.0)
    assert b["a"].member("c") is None and b["a"].member("b") is not None
    b.advance("a", until=111.0)
    assert b["a"].member("b") is None
    assert [e[2] for e in b.events if e[1] == "reaped"] == ["c", "b"]


def test_update_meta_bumps_incarnation_and_others_see_an_update():
    b = Bench(["a", "b"])
    b.introduce()
    b["a"].update_meta(1.0, b"role=server")
    assert b["a"].incarnation == 1
    b["b"].on_packet(1.0, b["a"].addr, Alive(incarnation=1, node="a", addr=b["a"].addr, meta=b"role=server"))
    b.collect()
    assert ("b", "update", "a") in b.events
    assert b["b"].member("a").meta == b"role=server"


def test_invalid_config_is_refused_with_reasons():
    bad = msgspec.structs.replace(lan(), probe_timeout=2.0)
    with pytest.raises(ValueError, match="probe_timeout"):
        SwimCore("a", ("h", 1), bad, random.Random(0))


def test_next_deadline_asks_for_a_start_before_first_input():
    core = SwimCore("a", ("h", 1), QUIET, random.Random(0))
    assert core.next_deadline() == float("-inf")
    core.on_deadline(5.0)
    assert 5.0 <= core.next_deadline() <= 5.0 + QUIET.probe_interval
    assert [e.kind for e in core.poll()] == ["join"]  # we see ourselves join


def test_metadata_is_limited_to_512_bytes():
    with pytest.raises(ValueError, match="at most 512"):
        SwimCore("a", ("h", 1), QUIET, random.Random(0), meta=b"x" * 513)
    core = SwimCore("a", ("h", 1), QUIET, random.Random(0), meta=b"x" * 512)
    with pytest.raises(ValueError, match="513 bytes"):
        core.update_meta(0.0, b"x" * 513)


# --- robustness: arbitrary message sequences ------------------------------------------------------

_names = st.sampled_from(["me", "n1", "n2", "n3"])
_addrs = st.sampled_from([("10.0.0.1", 1), ("10.0.0.2", 1), ("10.0.0.3", 1), ("10.0.0.9", 1)])
_incs = st.integers(0, 6)
_messages = st.one_of(
    st.builds(Alive, incarnation=_incs, node=_names, addr=_addrs, meta=st.sampled_from([b"", b"m"])),
    st.builds(Suspect, incarnation=_incs, node=_names, from_=_names),
    st.builds(Dead, incarnation=_incs, node=_names, from_=_names),
    st.builds(Ping, seq=st.integers(0, 5), node=_names),
    st.builds(Ack, seq=st.integers(0, 5)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 3), _addrs, _messages), max_size=60))
def test_arbitrary_gossip_keeps_incarnations_monotone(steps):
    """Whatever arrives in whatever order: no crash, our incarnation never falls, we never consider
    ourselves anything but alive, and a member's incarnation never falls while it stays at one address."""
    core = SwimCore("me", ("10.0.0.1", 1), QUIET, random.Random(3))
    now = 0.0
    seen: dict[tuple[str, tuple], int] = {}
    mine = core.incarnation
    for dt, src, msg in steps:
        now += dt
        if now >= core.next_deadline():
            core.on_deadline(now)
        core.on_packet(now, src, msg)
        core.poll()
        assert core.incarnation >= mine
        mine = core.incarnation
        assert core.member("me").state is ALIVE
        for m in core.members():
            key = (m.name, m.addr)
            assert m.incarnation >= seen.get(key, 0)
            seen[key] = m.incarnation
