"""Table tests of the pure pieces: suspicion maths, health score, broadcast queue, config, wire messages."""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.swim import config
from actors.swim.awareness import Awareness
from actors.swim.broadcast import TransmitLimitedQueue, retransmit_limit
from actors.swim.core import SwimCore
from actors.swim.effects import SendPacket
from actors.swim.messages import (
    COMPOUND_OVERHEAD,
    Ack,
    Alive,
    Compound,
    Dead,
    IndirectPingReq,
    Nack,
    Ping,
    PushNodeState,
    PushPull,
    Suspect,
    User,
    encode,
    encoded_size,
    packet_decoder,
    stream_decoder,
)
from actors.swim.suspicion import (
    Suspicion,
    expected_confirmations,
    remaining_suspicion_time,
    suspicion_timeout,
)

# --- suspicion ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mult, n, interval, expected",
    [
        (4, 0, 1.0, 4.0),  # log10 of fewer than 10 nodes is floored at 1
        (4, 1, 1.0, 4.0),
        (4, 5, 1.0, 4.0),
        (4, 10, 1.0, 4.0),
        (4, 50, 1.0, 6.792),  # 4 * 1.698 (log10 50 = 1.69897, truncated to thousandths)
        (4, 100, 1.0, 8.0),
        (4, 200, 1.0, 9.204),  # 4 * 2.301
        (4, 1000, 1.0, 12.0),
        (6, 100, 5.0, 60.0),  # WAN: 6 * 2 * 5 s
        (3, 5, 0.1, 0.3),  # dev / local
    ],
)
def test_minimum_suspicion_timeout(mult, n, interval, expected):
    assert suspicion_timeout(mult, n, interval) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("mult, n, k", [(4, 1, 0), (4, 3, 0), (4, 4, 2), (4, 5, 2), (4, 100, 2), (6, 5, 0), (6, 6, 4),
                                        (2, 50, 0), (1, 50, 0)])
def test_expected_confirmations(mult, n, k):
    assert expected_confirmations(mult, n) == k


@pytest.mark.parametrize(
    "confirmations, k, elapsed, minimum, maximum, remaining",
    [
        (0, 3, 0.0, 2.0, 30.0, 30.0),  # nobody agrees yet: the whole maximum
        (1, 3, 2.0, 2.0, 30.0, 14.0),  # 30 - 28 * log 2 / log 4 = 16, minus 2 elapsed
        (2, 3, 3.0, 2.0, 30.0, 4.81),  # 30 - 28 * log 3 / log 4 = 7.8105... -> 7.810, minus 3 elapsed
        (3, 3, 4.0, 2.0, 30.0, -2.0),  # all k in: the minimum, already overdue
        (4, 3, 5.0, 2.0, 30.0, -3.0),  # more than k never goes below the minimum
        (0, 2, 0.0, 4.0, 24.0, 24.0),  # N = 5 on a LAN
        (1, 2, 0.0, 4.0, 24.0, 11.381),
        (2, 2, 0.0, 4.0, 24.0, 4.0),
        (0, 0, 1.5, 4.0, 24.0, 2.5),  # k = 0 (tiny cluster): straight to the minimum
    ],
)
def test_remaining_suspicion_time(confirmations, k, elapsed, minimum, maximum, remaining):
    assert remaining_suspicion_time(confirmations, k, elapsed, minimum, maximum) == pytest.approx(remaining, abs=1e-9)


def test_suspicion_counts_each_confirmer_once_and_stops_at_k():
    s = Suspicion(start=10.0, from_="a", k=2, min_timeout=4.0, max_timeout=24.0)
    assert s.deadline == 34.0
    assert not s.confirm("a")  # the accuser itself
    assert s.confirm("b") and s.deadline == pytest.approx(21.381)
    assert not s.confirm("b")
    assert s.confirm("c") and s.deadline == pytest.approx(14.0)
    assert not s.confirm("d")  # k reached
    assert s.confirmations == 2


# --- awareness -----------------------------------------------------------------------------------------


def test_awareness_saturates_and_scales():
    a = Awareness(8)
    assert [a.apply_delta(d) for d in (1, 2, -1, 10, -3, -100)] == [1, 3, 2, 7, 4, 0]
    a.apply_delta(3)
    assert a.scale(0.5) == 2.0


# --- broadcast queue ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mult, n, limit", [(4, 1, 4), (4, 9, 4), (4, 10, 8), (4, 99, 8), (4, 100, 12),
                                            (4, 200, 12), (3, 1000, 12)])
def test_retransmit_limit(mult, n, limit):
    assert retransmit_limit(mult, n) == limit


def test_broadcast_is_sent_at_most_the_limit():
    q = TransmitLimitedQueue(retransmit_mult=2)
    q.queue("a", "alive-a", 10)
    sends = [q.get_broadcasts(0, 100, num_nodes=5) for _ in range(5)]  # limit = 2 * ceil(log10 6) = 2
    assert sends == [["alive-a"], ["alive-a"], [], [], []]
    assert len(q) == 0


def test_newer_broadcast_about_the_same_node_replaces_the_older():
    q = TransmitLimitedQueue(retransmit_mult=4)
    q.queue("a", "suspect-a", 10)
    q.get_broadcasts(0, 100, 5)
    q.queue("a", "alive-a", 10)
    q.queue("b", "alive-b", 10)
    assert len(q) == 2
    assert q.transmits("a") == 0  # the replacement starts afresh
    assert sorted(q.get_broadcasts(0, 100, 5)) == ["alive-a", "alive-b"]


def test_budget_is_filled_least_transmitted_first_then_newest():
    q = TransmitLimitedQueue(retransmit_mult=10)
    q.queue("old", "old", 40)
    assert q.get_broadcasts(0, 100, 5) == ["old"]  # old: 1 transmit
    q.queue("mid", "mid", 40)
    q.queue("new", "new", 40)
    assert q.get_broadcasts(0, 100, 5) == ["new", "mid"]  # 80 bytes: "old" does not fit
    assert q.get_broadcasts(5, 100, 5) == ["new", "mid"]  # all sent once: newest first, 2 * 45 bytes fit


def test_budget_skips_what_does_not_fit_and_takes_smaller_ones():
    q = TransmitLimitedQueue(retransmit_mult=10)
    q.queue("small", "small", 10)
    q.queue("big", "big", 90)
    assert q.get_broadcasts(0, 50, 5) == ["small"]
    assert q.get_broadcasts(2, 50, 5) == ["small"]  # big (92 with overhead) never fits in 50
    assert q.get_broadcasts(0, 0, 5) == []


def test_prune_keeps_the_least_transmitted():
    q = TransmitLimitedQueue(retransmit_mult=10)
    for key in "abc":
        q.queue(key, key, 10)
    q.get_broadcasts(0, 10, 5)  # c goes once
    q.prune(2)
    assert sorted(q.get_broadcasts(0, 100, 5)) == ["a", "b"]


# --- config ------------------------------------------------------------------------------------------------


def test_lan_defaults_mirror_memberlist():
    c = config.lan()
    assert (c.probe_interval, c.probe_timeout, c.indirect_checks, c.suspicion_mult, c.suspicion_max_timeout_mult,
            c.retransmit_mult, c.gossip_interval, c.gossip_nodes, c.gossip_to_the_dead_time, c.push_pull_interval,
            c.awareness_max_multiplier, c.udp_buffer_size) == (1.0, 0.5, 3, 4, 6, 4, 0.2, 3, 30.0, 30.0, 8, 1400)
    assert c.validate() == []


def test_presets_override_lan_and_are_valid():
    for preset in (config.lan, config.wan, config.local, config.sim):
        assert preset().validate() == []
    assert (config.wan().probe_interval, config.wan().suspicion_mult) == (5.0, 6)
    s = config.sim()
    assert s.probe_interval == pytest.approx(0.1) and s.suspicion_mult == 4
    assert s.probe_timeout / s.probe_interval == pytest.approx(0.5)


def test_validate_names_every_problem():
    bad = msgspec.structs.replace(config.lan(), probe_timeout=1.5, gossip_nodes=-1, retransmit_mult=0)
    problems = bad.validate()
    assert len(problems) == 3
    assert any("probe_timeout" in p for p in problems)


# --- messages -------------------------------------------------------------------------------------------------

PACKETS = [
    Ping(seq=1, node="n1", source_node="n2", source_addr=("10.0.0.2", 8301)),
    IndirectPingReq(seq=2, target=("10.0.0.3", 8301), node="n3", nack=True, source_node="n2"),
    Ack(seq=3, payload=b"rtt"),
    Nack(seq=4),
    Alive(incarnation=5, node="n1", addr=("10.0.0.1", 8301), meta=b"\xff\x80"),
    Suspect(incarnation=6, node="n1", from_="n2"),
    Dead(incarnation=7, node="n1", from_="n1"),
    User(payload=b"event"),
]


@pytest.mark.parametrize("msg", PACKETS, ids=lambda m: type(m).__name__)
def test_packet_messages_round_trip(msg):
    assert packet_decoder.decode(encode(msg)) == msg


def test_wire_tags_and_field_names_are_stable():
    assert encode(Suspect(incarnation=1, node="a", from_="b")) == (
        b"\x84\xa1t\xacswim.suspect\xabincarnation\x01\xa4node\xa1a\xa4from\xa1b")
    tags = [msgspec.msgpack.decode(encode(m))["t"] for m in PACKETS]
    assert tags == ["swim.ping", "swim.ping_req", "swim.ack", "swim.nack", "swim.alive", "swim.suspect",
                    "swim.dead", "swim.user"]


def test_compound_and_push_pull_round_trip():
    c = Compound(parts=tuple(PACKETS))
    assert packet_decoder.decode(encode(c)) == c
    pp = PushPull(join=True, reply=False, states=(
        PushNodeState(name="a", addr=("h", 1), incarnation=3, state="suspect", meta=b"m"),), user_state=b"u")
    assert stream_decoder.decode(encode(pp)) == pp


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=60), st.binary(max_size=300)), min_size=1, max_size=120),
       st.integers(0, 2**32))
def test_packets_never_exceed_the_udp_budget(members, seed):
    """Whatever is queued, every packet the core emits encodes within udp_buffer_size."""
    core = SwimCore("me", ("10.0.0.1", 8301), config.lan(), random.Random(seed))
    core.on_deadline(0.0)
    for i, (name, meta) in enumerate(members):
        core.on_packet(0.0, ("10.0.0.2", 1), Alive(incarnation=1, node=f"{name}-{i}", addr=("10.1.0.1", i), meta=meta))
    core.on_packet(0.0, ("10.0.0.2", 1), Ping(seq=9, node="me"))
    now = 0.0
    for _ in range(30):
        now = core.next_deadline()
        core.on_deadline(now)
    for effect in core.poll():
        if type(effect) is SendPacket:
            assert len(encode(effect.msg)) <= 1400


def test_compound_overhead_covers_the_envelope():
    parts = (Nack(seq=1),) * 20
    assert encoded_size(Compound(parts=parts)) <= COMPOUND_OVERHEAD + sum(encoded_size(p) for p in parts)
