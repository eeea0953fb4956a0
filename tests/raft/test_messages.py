"""Wire format: every Raft message round-trips through msgpack under a stable ``raft.*`` tag."""

from __future__ import annotations

import msgspec
import pytest

from actors.raft import (
    WIRE_TYPES,
    AppendEntries,
    AppendResp,
    ConfState,
    Entry,
    Heartbeat,
    HeartbeatResp,
    InstallSnapshot,
    RaftWire,
    ReadIndexReq,
    ReadIndexResp,
    RequestVote,
    SnapshotMeta,
    SnapshotResp,
    TimeoutNow,
    VoteResp,
)
from actors.raft.messages import decode_conf, encode_conf

SAMPLES = [
    RequestVote(src="a", dst="b", term=3, last_index=7, last_term=2, pre_vote=True),
    VoteResp(src="b", dst="a", term=3, granted=True, pre_vote=True),
    AppendEntries(
        src="a",
        dst="b",
        term=3,
        prev_index=7,
        prev_term=2,
        entries=(Entry(term=3, index=8, data=b"x"), Entry(term=3, index=9, kind="noop")),
        commit=7,
    ),
    AppendResp(src="b", dst="a", term=3, index=7, reject=True, conflict_term=2, conflict_index=5),
    Heartbeat(src="a", dst="b", term=3, commit=7, read_seq=4),
    HeartbeatResp(src="b", dst="a", term=3, read_seq=4),
    InstallSnapshot(
        src="a",
        dst="b",
        term=3,
        meta=SnapshotMeta(index=9, term=3, conf=ConfState(voters=("a", "b"), learners=("c",))),
        offset=0,
        data=b"\x00\x01",
        done=False,
    ),
    SnapshotResp(src="b", dst="a", term=3, index=9, offset=2),
    TimeoutNow(src="a", dst="b", term=3),
    ReadIndexReq(src="b", dst="a", term=3, ctx=b"c1"),
    ReadIndexResp(src="a", dst="b", term=3, ctx=b"c1", index=9),
]


def test_samples_cover_every_wire_type() -> None:
    assert {type(m) for m in SAMPLES} == set(WIRE_TYPES)


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: object) -> None:
    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(msg), type=RaftWire)
    assert decoded == msg


def test_tags_are_stable_and_unique() -> None:
    tags = [t.__struct_config__.tag for t in WIRE_TYPES]
    assert len(set(tags)) == len(tags)
    assert all(isinstance(t, str) and t.startswith("raft.") for t in tags)
    assert AppendEntries.__struct_config__.tag == "raft.append"


def test_unknown_tag_is_rejected_at_the_edge() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.msgpack.decode(msgspec.msgpack.encode({"t": "raft.nope", "src": "a"}), type=RaftWire)


def test_conf_encoding() -> None:
    conf = ConfState(voters=("a", "b"), learners=("c",))
    assert decode_conf(encode_conf(conf)) == conf
    assert conf.members() == ("a", "b", "c")
