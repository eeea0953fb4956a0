"""Tests of the pure Serf pieces: Lamport clock, user-event buffer, tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.swim.serf import (
    ConsulTags,
    EventBuffer,
    LamportClock,
    UserEventMsg,
    check_user_event,
    decode_tags,
    encode_tags,
)
from actors.swim.messages import encode


def test_lamport_clock_increments_and_witnesses():
    c = LamportClock()
    assert c.increment() == 1 and c.increment() == 2
    c.witness(1)  # older: nothing
    assert c.time() == 2
    c.witness(2)  # equal: step past it
    assert c.time() == 3
    c.witness(10)
    assert c.time() == 11 and c.increment() == 12


def test_event_buffer_deduplicates_by_time_name_and_payload():
    buf = EventBuffer(LamportClock(), size=8)
    assert buf.observe(5, "deploy", b"v1")
    assert not buf.observe(5, "deploy", b"v1")  # duplicate
    assert buf.observe(5, "deploy", b"v2")  # same time, other payload
    assert buf.observe(5, "restart", b"v1")  # same time, other name
    assert buf.observe(6, "deploy", b"v1")  # same name and payload, other time
    assert buf.clock.time() == 7  # witnessed
    assert buf.recent() == [(5, "deploy", b"v1"), (5, "deploy", b"v2"), (5, "restart", b"v1"), (6, "deploy", b"v1")]


def test_event_buffer_forgets_and_refuses_events_older_than_its_window():
    buf = EventBuffer(LamportClock(), size=8)
    assert buf.observe(3, "e", b"")
    assert buf.observe(11, "e", b"")  # same slot (11 % 8 == 3) evicts time 3
    assert buf.clock.time() == 12
    assert not buf.observe(3, "e", b"")  # 3 < 12 - 8: too old, even though its slot was reused
    assert buf.observe(5, "e", b"")  # 5 >= 4: still inside the window
    assert [t for t, _, _ in buf.recent()] == [5, 11]


def test_event_buffer_ignores_events_before_the_join_time():
    buf = EventBuffer(LamportClock(), size=8)
    buf.ignore_before(20)
    assert not buf.observe(19, "old", b"")
    assert buf.observe(20, "new", b"")


def test_user_event_size_limit():
    check_user_event("deploy", b"x" * 400)
    with pytest.raises(ValueError, match="512-byte"):
        check_user_event("deploy", b"x" * 510)
    with pytest.raises(ValueError, match="once encoded"):
        check_user_event("deploy", b"x" * 490)  # fits raw, not with the envelope
    assert encode(UserEventMsg(ltime=1, name="n", payload=b"p"))[:1] == b"\x85"


def test_tags_round_trip_with_magic_byte_and_stable_order():
    tags = {"role": "consul", "dc": "dc1", "port": "8300", "id": "0b4d", "vsn": "2"}
    meta = encode_tags(tags)
    assert meta[0] == 0xFF
    assert decode_tags(meta) == tags
    assert encode_tags(dict(reversed(list(tags.items())))) == meta


def test_decode_tags_legacy_role_and_garbage():
    assert decode_tags(b"consul") == {"role": "consul"}
    assert decode_tags(b"") == {"role": ""}
    assert decode_tags(b"\xff\x93\x01") == {}


def test_encoded_tags_are_limited_to_memberlist_meta_size():
    with pytest.raises(ValueError, match="at most 512"):
        encode_tags({"k": "v" * 600})


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=8))
def test_tags_round_trip_property(tags):
    assert decode_tags(encode_tags(tags)) == tags


def test_consul_tags_typed_view():
    server = ConsulTags(role="consul", dc="dc1", id="abcd", port=8300, vsn=2, vsn_min=2, vsn_max=3,
                        build="1.17.0", extra={"expect": "3"})
    tags = server.to_tags()
    assert tags == {"expect": "3", "role": "consul", "dc": "dc1", "id": "abcd", "build": "1.17.0",
                    "port": "8300", "vsn": "2", "vsn_min": "2", "vsn_max": "3"}
    again = ConsulTags.from_tags(decode_tags(encode_tags(tags)))
    assert again == server and again.is_server
    client = ConsulTags.from_tags({"role": "node", "dc": "dc2"})
    assert not client.is_server and client.port is None
    with pytest.raises(ValueError, match="'port'"):
        ConsulTags.from_tags({"role": "consul", "dc": "dc1", "port": "eighty"})
