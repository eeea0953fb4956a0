"""The server side of RPC: answers requests arriving on "rpc" connections of a `StreamListener`.

What lives here: `RpcServer`. Register it with ``protocols.add(server.protocol())``; the listener then
runs `RpcServer.serve` for every connection whose hello says "rpc". Each request is handled in its own
task (at most ``max_inflight`` per connection; beyond that the connection is not read, which pushes back
on the client), so a slow request never holds up the others on the same connection.

``handle(request)`` receives the decoded request and returns the response. An exception becomes a boxed
`runtime.messages.Error` naming this node and datacenter, sent back as `RpcFailure`; the connection stays
up. An `RpcRemoteError` raised by a handler that forwarded the request elsewhere is relayed unchanged
with this node appended to its ``relay`` path. A request body that does not decode gets a ``DecodeError``
failure; an envelope that does not decode closes the connection (the stream cannot be trusted).

What must never live here: what requests mean (the handler's business) or outgoing connections.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import msgspec
import trio

from runtime.messages import Error
from runtime.transport.connection import FramedConnection
from runtime.transport.errors import ConnectionClosed, FrameError, RpcRemoteError
from runtime.transport.frames import DEFAULT_MAX_FRAME
from runtime.transport.protocols import StreamProtocol
from runtime.transport.rpc_messages import RpcFailure, RpcRequest, RpcResponse

RpcHandler = Callable[[Any], Awaitable[Any]]


class RpcServer:
    def __init__(self, handle: RpcHandler, request_type: Any, *, node: str, dc: str = "", kind: str = "rpc",
                 max_inflight: int = 64, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.handle = handle
        self.node = node
        self.dc = dc
        self.kind = kind
        self.max_inflight = max_inflight
        self.max_frame = max_frame
        self._decoder = msgspec.msgpack.Decoder(request_type)
        self._encoder = msgspec.msgpack.Encoder()
        self.requests = 0
        self.failures = 0
        self.inflight = 0

    def protocol(self) -> StreamProtocol:
        """The registration for a `StreamProtocols` table."""
        return StreamProtocol(self.kind, self.serve, RpcRequest, self.max_frame)

    async def serve(self, conn: FramedConnection) -> None:
        """Answer requests on ``conn`` until it closes. Requests still running then are cancelled."""
        error: FrameError | None = None
        slots = trio.Semaphore(self.max_inflight)
        async with trio.open_nursery() as nursery:
            try:
                while True:
                    request = await conn.receive()
                    await slots.acquire()
                    nursery.start_soon(self._answer, conn, request, slots)
            except ConnectionClosed:
                pass
            except FrameError as exc:
                error = exc
            finally:
                nursery.cancel_scope.cancel()
        if error is not None:
            raise error

    async def _answer(self, conn: FramedConnection, request: RpcRequest, slots: trio.Semaphore) -> None:
        self.requests += 1
        self.inflight += 1
        try:
            reply = await self._reply(request)
            try:
                await conn.send(reply)
            except FrameError as exc:  # the answer is too large for a frame: say so instead
                await conn.send(self._failure(request.id, "FrameError", exc.detail))
        except ConnectionClosed:
            pass  # the reader notices too and ends the connection
        finally:
            self.inflight -= 1
            slots.release()

    async def _reply(self, request: RpcRequest) -> RpcResponse | RpcFailure:
        try:
            body = self._decoder.decode(request.body)
        except msgspec.DecodeError as exc:
            return self._failure(request.id, "DecodeError", f"undecodable request: {exc}")
        try:
            result = await self.handle(body)
            return RpcResponse(id=request.id, body=msgspec.Raw(self._encoder.encode(result)))
        except RpcRemoteError as exc:
            self.failures += 1
            return RpcFailure(id=request.id, error=exc.error.with_hop(self.node))
        except Exception as exc:
            return self._failure(request.id, type(exc).__name__, str(exc))

    def _failure(self, request_id: int, kind: str, message: str) -> RpcFailure:
        self.failures += 1
        error = Error(origin_node=self.node, origin_dc=self.dc, kind=kind, message=message)
        return RpcFailure(id=request_id, error=error)

    def statistics(self) -> dict[str, Any]:
        return {"requests": self.requests, "failures": self.failures, "inflight": self.inflight}
