"""The stream wire format: length-prefixed frames of msgpack bytes.

Each frame is::

    +---------+----------------------+------------------+
    | version | length (4 bytes, BE) | payload (length) |
    +---------+----------------------+------------------+

``version`` is `VERSION` (1). The payload is opaque here (msgpack bytes in practice) and at most
``max_size`` bytes: `DEFAULT_MAX_FRAME` (8 MiB) fits Raft appends and snapshot chunks; a connection's
first frame, the hello, has a much smaller limit.

What lives here: `encode_frame` and the incremental `FrameDecoder`, which rejects a bad version byte as
soon as it arrives and an oversized length as soon as the header is complete, so a peer can never make us
buffer a payload we would refuse.

What must never live here: sockets, Trio, or knowledge of what the payloads mean.
"""

from __future__ import annotations

import struct

from runtime.transport.errors import FrameError

VERSION = 1
HEADER = struct.Struct(">BI")  # version byte, payload length
DEFAULT_MAX_FRAME = 8 * 1024 * 1024


def encode_frame(payload: bytes, max_size: int = DEFAULT_MAX_FRAME) -> bytes:
    """One frame carrying ``payload``. Raises `FrameError` (``oversized``) past ``max_size``: the peer
    would refuse it, so it is better refused at the sender where the caller can see why."""
    if len(payload) > max_size:
        raise FrameError("oversized", f"frame of {len(payload)} bytes exceeds the limit of {max_size}")
    return HEADER.pack(VERSION, len(payload)) + payload


class FrameDecoder:
    """Feed it bytes as they arrive; take complete payloads out with `next` (or `drain`).

    ``max_size`` may be changed between frames (a listener reads the hello with a small limit, then
    raises it for the protocol the hello names). After a `FrameError` the decoder is poisoned: every
    later call raises the same error, because the stream can no longer be trusted to be in sync.
    """

    __slots__ = ("max_size", "_buffer", "_error")

    def __init__(self, max_size: int = DEFAULT_MAX_FRAME) -> None:
        self.max_size = max_size
        self._buffer = bytearray()
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a payload."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Add received bytes; checks the header of the frame at the front right away."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        self._check_head()

    def next(self) -> bytes | None:
        """The next complete payload, or None if more bytes are needed."""
        length = self._check_head()
        if length is None:
            return None
        end = HEADER.size + length
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[HEADER.size:end])
        del self._buffer[:end]
        return payload  # the next frame's header is checked when it reaches the front, under the limit then in force

    def drain(self) -> list[bytes]:
        """Every complete payload buffered so far, in order."""
        out = []
        while (payload := self.next()) is not None:
            out.append(payload)
        return out

    def _check_head(self) -> int | None:
        """Validate the header at the front of the buffer; its payload length once it is complete."""
        if self._error is not None:
            raise self._error
        buffer = self._buffer
        if not buffer:
            return None
        if buffer[0] != VERSION:
            self._fail(FrameError("bad_version", f"unsupported frame version {buffer[0]} (expected {VERSION})"))
        if len(buffer) < HEADER.size:
            return None
        _, length = HEADER.unpack_from(buffer)
        if length > self.max_size:
            self._fail(FrameError("oversized", f"frame of {length} bytes exceeds the limit of {self.max_size}"))
        return length

    def _fail(self, error: FrameError) -> None:
        self._error = error
        self._buffer.clear()
        raise error
