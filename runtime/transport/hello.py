"""The hello: the first frame on every stream, so one listening port can serve several protocols.

Consul multiplexes its server port (8300) by the first byte of a connection. Here the first frame names
the protocol instead, together with who is calling::

    frame(version=1, payload=msgpack({"t": "transport.hello", "kind": "raft", "node": "s1", "dc": "dc1"}))

``kind`` selects the handler on the listener ("raft", "rpc", "gossip", ...); ``node`` is the caller's node
name, which is also the name fault rules use for replies on that connection; ``dc`` its datacenter.

What lives here: `Hello`, its size limit, `hello_frame` (what a client sends) and `read_hello` (what a
listener does first, under its timeout).

What must never live here: the dispatch on ``kind`` (``listener``) or anything a protocol sends later.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
import trio

from runtime.messages import Message
from runtime.transport.errors import FrameError
from runtime.transport.frames import FrameDecoder, encode_frame

HELLO_MAX = 1024  # bytes of hello payload; a hello is three short strings

Kind = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.-]{0,31}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Datacenter = Annotated[str, msgspec.Meta(max_length=64)]


class Hello(Message, tag="transport.hello"):
    """Who is calling, and which protocol it will speak on this connection."""

    kind: Kind
    node: Name
    dc: Datacenter = ""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Hello)


def hello_frame(hello: Hello) -> bytes:
    """The bytes a client sends first."""
    return encode_frame(_encoder.encode(hello), HELLO_MAX)


def decode_hello(payload: bytes) -> Hello:
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise FrameError("bad_hello", str(exc)) from None


async def read_hello(stream: trio.abc.ReceiveStream, receive_size: int = 65536,
                     prefix: bytes = b"") -> tuple[Hello, FrameDecoder]:
    """Read and check the hello. Returns it with the decoder, which may already hold later frames.

    ``prefix``: bytes of the stream the caller already read (the first byte, looked at for a TLS marker).
    The caller bounds the time this takes (slowloris); a peer that closes first is ``truncated``.
    """
    decoder = FrameDecoder(HELLO_MAX)
    if prefix:
        decoder.feed(prefix)
    while (payload := decoder.next()) is None:
        data = await stream.receive_some(receive_size)
        if not data:
            raise FrameError("truncated", f"connection closed after {decoder.buffered} bytes, before a complete hello")
        decoder.feed(data)
    return decode_hello(payload), decoder
