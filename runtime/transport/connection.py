"""One framed stream: typed messages in, typed messages out, with the fault table on the sending side.

What lives here: `FramedConnection` and `connect` (open a TCP stream to a peer, secure it with TLS when
given a `DialTls`, and send our hello).

Receiving decodes each frame with a msgspec decoder for the type given (usually a tagged Union): a frame
that does not decode, has a bad version byte or an oversized length closes the connection with one log
line and a counted error, then raises `FrameError`; the peer closing raises `ConnectionClosed`.

Sending asks the fault table for a verdict on the link ``local -> peer``:

- ``drop``: the frame is silently not sent (the caller cannot tell, as on a real network);
- ``duplicate``: the frame is written twice;
- ``delay``: the frame joins this connection's *delay line* and ``send`` returns at once; a flusher task
  (started on first need in the nursery given at construction) writes it when due. A frame's due time is
  never before the previous frame's, and frames sent while the line is non-empty queue behind it, so a
  connection never reorders, and delay adds latency without limiting throughput (the line holds at most
  ``max_delayed`` frames; beyond that ``send`` waits).

What must never live here: reconnection (``peer_link``), request ids (``rpc_*``), or protocol decisions.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

import msgspec
import trio

from runtime.log import get_logger
from runtime.transport.addresses import Address, format_address
from runtime.transport.counters import StreamCounters
from runtime.transport.errors import ConnectionClosed, FrameError
from runtime.transport.faults import PASS, FaultTable
from runtime.transport.frames import DEFAULT_MAX_FRAME, FrameDecoder, encode_frame
from runtime.transport.hello import Hello, hello_frame
from runtime.transport.secure import DialTls, TlsPeer, dial_secure

log = get_logger("transport")

RECEIVE_SIZE = 65536
_NETWORK_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class FramedConnection:
    """A stream carrying frames. One task may receive while others send (sends are serialised)."""

    def __init__(self, stream: trio.abc.Stream, receive_type: Any, *, nursery: trio.Nursery, local: str, peer: str,
                 hello: Hello | None = None, faults: FaultTable | None = None, max_frame: int = DEFAULT_MAX_FRAME,
                 decoder: FrameDecoder | None = None, counters: StreamCounters | None = None,
                 receive_size: int = RECEIVE_SIZE, max_delayed: int = 1024, tls_peer: TlsPeer | None = None) -> None:
        self.local = local  # our node name: the fault table's src
        self.peer = peer  # the peer's node name (or host:port): the fault table's dst
        self.hello = hello  # what the peer said when it opened the connection (listener side)
        self.tls_peer = tls_peer  # listener side, TLS connections: the names the peer's certificate carries
        self.max_frame = max_frame
        self.counters = counters if counters is not None else StreamCounters()
        self._stream = stream
        self._nursery = nursery
        self._faults = faults
        self._receive_size = receive_size
        self._frames = decoder if decoder is not None else FrameDecoder(max_frame)
        self._frames.max_size = max_frame
        self._decoder = msgspec.msgpack.Decoder(receive_type)
        self._encoder = msgspec.msgpack.Encoder()
        self._send_lock = trio.Lock()  # fair: writers get the stream in the order they asked
        self._line_send, self._line_recv = trio.open_memory_channel[tuple[float, bytes, int]](max_delayed)
        self._in_line = 0  # frames waiting in the delay line (or being written from it)
        self._last_due = -math.inf
        self._flush_scope: trio.CancelScope | None = None
        self.closed = False

    @property
    def remote_address(self) -> Address | None:
        stream = getattr(self._stream, "transport_stream", self._stream)  # under TLS: the TCP stream
        sock = getattr(stream, "socket", None)
        try:
            name = sock.getpeername() if sock is not None else None
        except OSError:
            return None
        return (name[0], name[1]) if isinstance(name, tuple) else None

    # -- sending -----------------------------------------------------------------------------------

    async def send(self, message: Any) -> None:
        """Encode and send ``message`` subject to the fault table. Raises `ConnectionClosed` if the
        connection is gone and `FrameError` (``oversized``) if the message exceeds ``max_frame``."""
        if self.closed:
            raise ConnectionClosed(f"connection to {self.peer} is closed")
        try:
            frame = encode_frame(self._encoder.encode(message), self.max_frame)
        except FrameError:
            self.counters.error("oversized_out")
            raise
        verdict = self._faults.verdict(self.local, self.peer) if self._faults is not None else PASS
        if verdict.drop:
            return
        copies = 2 if verdict.duplicate else 1
        data = frame * copies
        if verdict.delay <= 0.0 and self._in_line == 0:
            await self._write(data, copies)
            return
        due = max(trio.current_time() + verdict.delay, self._last_due)
        self._last_due = due
        self._in_line += 1
        try:
            if self._flush_scope is None:
                self._flush_scope = trio.CancelScope()
                self._nursery.start_soon(self._flush, self._flush_scope)
            await self._line_send.send((due, data, copies))
        except trio.ClosedResourceError:
            self._in_line -= 1
            raise ConnectionClosed(f"connection to {self.peer} is closed") from None
        except BaseException:
            self._in_line -= 1
            raise

    async def send_raw(self, frame: bytes) -> None:
        """Write an already-encoded frame, bypassing the fault table (used for the hello)."""
        await self._write(frame, 1)

    async def _flush(self, scope: trio.CancelScope) -> None:
        with scope:
            async for due, data, copies in self._line_recv:
                try:
                    await trio.sleep_until(due)
                    await self._write(data, copies)
                except ConnectionClosed:
                    return
                finally:
                    self._in_line -= 1

    async def _write(self, data: bytes, copies: int) -> None:
        async with self._send_lock:
            if self.closed:
                raise ConnectionClosed(f"connection to {self.peer} is closed")
            try:
                await self._stream.send_all(data)
            except _NETWORK_ERRORS as exc:
                await self.aclose()
                raise ConnectionClosed(f"sending to {self.peer} failed: {exc or type(exc).__name__}") from None
            except trio.Cancelled:
                # Part of a frame may be on the wire: the stream is out of step for good.
                with trio.CancelScope(shield=True):
                    await self.aclose()
                raise
        self.counters.frames_out += copies
        self.counters.bytes_out += len(data)

    # -- receiving ---------------------------------------------------------------------------------

    async def receive(self) -> Any:
        """The next message. Raises `ConnectionClosed` at the end of the stream, `FrameError` on bad input
        (after closing the connection, logging one line and counting the reason)."""
        while True:
            try:
                payload = self._frames.next()
            except FrameError as exc:
                await self._reject(exc)
            if payload is not None:
                break
            if self.closed:
                raise ConnectionClosed(f"connection to {self.peer} is closed")
            try:
                data = await self._stream.receive_some(self._receive_size)
            except _NETWORK_ERRORS as exc:
                await self.aclose()
                raise ConnectionClosed(f"receiving from {self.peer} failed: {exc or type(exc).__name__}") from None
            if not data:
                if self._frames.buffered:
                    detail = f"stream ended inside a frame ({self._frames.buffered} bytes buffered)"
                    await self._reject(FrameError("truncated", detail))
                await self.aclose()
                raise ConnectionClosed(f"{self.peer} closed the connection")
            self.counters.bytes_in += len(data)
            try:
                self._frames.feed(data)
            except FrameError as exc:
                await self._reject(exc)
        self.counters.frames_in += 1
        try:
            return self._decoder.decode(payload)
        except msgspec.DecodeError as exc:
            await self._reject(FrameError("undecodable", str(exc)))

    async def _reject(self, error: FrameError) -> NoReturn:
        if not self.closed:  # a later receive on the closed connection re-raises without counting again
            self.counters.error(error.reason)
            log.warning("closing connection: bad frame", peer=self.peer, reason=error.reason, detail=error.detail)
            await self.aclose()
        raise error

    # -- closing -----------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the stream (idempotent). Frames still in the delay line are lost, as in flight."""
        if self.closed:
            return
        self.closed = True
        if self._flush_scope is not None:
            self._flush_scope.cancel()
        self._line_send.close()
        await self._stream.aclose()

    async def __aenter__(self) -> "FramedConnection":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def connect(address: Address, hello: Hello, receive_type: Any, *, nursery: trio.Nursery,
                  peer: str | None = None, faults: FaultTable | None = None, max_frame: int = DEFAULT_MAX_FRAME,
                  counters: StreamCounters | None = None, tls: DialTls | None = None) -> FramedConnection:
    """Open a TCP stream to ``address`` and send ``hello``. ``peer`` names the remote node for fault
    rules (default ``"host:port"``). A partition rule from us to the peer refuses the connection, as a
    blackholed SYN would, but at once. With ``tls`` the stream is secured first (`dial_secure`: marker
    byte, handshake, the server's certificate checked as the context says). Raises `ConnectionClosed`
    (a failed handshake too); the caller bounds the time."""
    name = peer if peer is not None else format_address(address)
    if faults is not None and faults.blocks(hello.node, name):
        raise ConnectionClosed(f"{hello.node} -> {name} is partitioned by the fault table")
    stream: trio.abc.Stream
    try:
        stream = await trio.open_tcp_stream(address[0], address[1])
    except OSError as exc:
        raise ConnectionClosed(f"cannot connect to {name} at {format_address(address)}: {exc}") from None
    if tls is not None:
        try:
            stream = await dial_secure(stream, tls, name)
        except BaseException:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)
            raise
    conn = FramedConnection(stream, receive_type, nursery=nursery, local=hello.node, peer=name, faults=faults,
                            max_frame=max_frame, counters=counters)
    try:
        await conn.send_raw(hello_frame(hello))
    except BaseException:
        with trio.CancelScope(shield=True):
            await conn.aclose()
        raise
    return conn
