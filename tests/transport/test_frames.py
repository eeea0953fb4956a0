"""The frame codec and the hello: round trips across any split of the byte stream, and early rejection.

Pure codec tests; what must never live here: sockets or listener behaviour.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.transport.errors import FrameError
from runtime.transport.frames import HEADER, VERSION, FrameDecoder, encode_frame
from runtime.transport.hello import HELLO_MAX, Hello, decode_hello, hello_frame

from .helpers import encode, raw_frame


def test_frame_layout_is_version_length_payload() -> None:
    assert encode_frame(b"abc") == bytes([VERSION]) + (3).to_bytes(4, "big") + b"abc"
    assert encode_frame(b"") == b"\x01\x00\x00\x00\x00"


@settings(max_examples=200, deadline=None)
@given(payloads=st.lists(st.binary(max_size=300), max_size=8), data=st.data())
def test_any_split_or_merge_of_the_stream_yields_the_same_payloads(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    decoder = FrameDecoder()
    out: list[bytes] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        decoder.feed(stream[start:cut])
        out.extend(decoder.drain())
        start = cut
    assert out == payloads
    assert decoder.buffered == 0


def test_one_byte_at_a_time() -> None:
    decoder = FrameDecoder()
    got = []
    for byte in encode_frame(b"hello") + encode_frame(b"") + encode_frame(b"x" * 1000):
        decoder.feed(bytes([byte]))
        got.extend(decoder.drain())
    assert got == [b"hello", b"", b"x" * 1000]


def test_bad_version_is_rejected_at_the_first_byte() -> None:
    decoder = FrameDecoder()
    with pytest.raises(FrameError, match="unsupported frame version 71") as caught:
        decoder.feed(b"G")  # "GET / HTTP/1.1" on the wrong port
    assert caught.value.reason == "bad_version"
    with pytest.raises(FrameError, match="bad_version"):  # poisoned: the stream is out of step for good
        decoder.feed(encode_frame(b"ok"))


def test_oversized_length_is_rejected_from_the_header_alone() -> None:
    decoder = FrameDecoder(max_size=1024)
    header = HEADER.pack(VERSION, 2**32 - 1)
    decoder.feed(header[:4])  # header not complete yet: no verdict
    with pytest.raises(FrameError, match="frame of 4294967295 bytes exceeds the limit of 1024") as caught:
        decoder.feed(header[4:] + b"payload bytes that must not be kept")
    assert caught.value.reason == "oversized"
    assert decoder.buffered == 0  # nothing of the payload was kept


def test_oversized_header_fails_before_the_payload_arrives() -> None:
    decoder = FrameDecoder(max_size=10)
    with pytest.raises(FrameError) as caught:
        decoder.feed(HEADER.pack(VERSION, 11))
    assert caught.value.reason == "oversized"


def test_a_frame_exactly_at_the_limit_passes_and_the_sender_refuses_one_byte_more() -> None:
    decoder = FrameDecoder(max_size=4)
    decoder.feed(encode_frame(b"abcd", max_size=4))
    assert decoder.drain() == [b"abcd"]
    with pytest.raises(FrameError, match="oversized"):
        encode_frame(b"abcde", max_size=4)


def test_the_limit_can_rise_between_frames() -> None:
    """A listener reads the hello with a small limit, then raises it for the protocol."""
    decoder = FrameDecoder(max_size=8)
    decoder.feed(encode_frame(b"hello") + encode_frame(b"y" * 100))
    assert decoder.next() == b"hello"
    decoder.max_size = 1000
    assert decoder.next() == b"y" * 100


def test_hello_round_trip_and_limits() -> None:
    hello = Hello(kind="raft", node="s1", dc="dc1")
    frame = hello_frame(hello)
    decoder = FrameDecoder(HELLO_MAX)
    decoder.feed(frame)
    assert decode_hello(decoder.next() or b"") == hello
    assert frame[0] == VERSION


@pytest.mark.parametrize("payload, detail", [
    (b"\xc1", "invalid"),  # not msgpack at all
    (encode({"t": "transport.hello", "kind": "raft"}), "missing required field `node`"),
    (encode({"t": "transport.hello", "kind": "RAFT!", "node": "s1"}), "kind"),
    (encode({"t": "transport.hello", "kind": "raft", "node": ""}), "node"),
    (encode({"t": "raft.append", "kind": "raft", "node": "s1"}), "Invalid value 'raft.append'"),
])
def test_bad_hellos_are_frame_errors(payload: bytes, detail: str) -> None:
    with pytest.raises(FrameError, match=detail) as caught:
        decode_hello(payload)
    assert caught.value.reason == "bad_hello"
    assert raw_frame(payload)[0] == VERSION
