"""DNS over TCP framing (RFC 1035 4.2.2): each message is preceded by its length in two bytes.

What lives here: `receive_exactly` and `receive_message` (read one framed message from a stream) and
`frame` (prefix a message with its length), shared by the TCP server and the TCP recursor client.

What must never live here: timeouts or limits policy; callers bound the reads.
"""

from __future__ import annotations

import trio

MAX_MESSAGE = 65535


async def receive_exactly(stream: trio.abc.ReceiveStream, count: int) -> bytes | None:
    """``count`` bytes, or None if the peer closed first."""
    buf = bytearray()
    while len(buf) < count:
        chunk = await stream.receive_some(count - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


async def receive_message(stream: trio.abc.ReceiveStream) -> bytes | None:
    prefix = await receive_exactly(stream, 2)
    if prefix is None:
        return None
    return await receive_exactly(stream, int.from_bytes(prefix, "big"))


def frame(message: bytes) -> bytes:
    if len(message) > MAX_MESSAGE:
        raise ValueError(f"a DNS message of {len(message)} bytes cannot be framed")
    return len(message).to_bytes(2, "big") + message
