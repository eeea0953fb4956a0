"""The client side of RPC: ``await client.call(address, request, timeout)`` over pooled connections.

What lives here: `RpcClient` and `RpcClientActor`. The client keeps one connection per server address
and multiplexes every call to that address over it: each request carries an id, and a reader task hands
each reply to the call waiting for that id, in whatever order replies come.

The client object is the stable handle callers keep; its connections live in the nursery of whoever runs
`RpcClient.run` (normally `RpcClientActor` under the transport supervisor). If that actor restarts, calls
in flight fail with `RpcUnreachable` and the next calls open fresh connections.

A call raises:

- `RpcUnreachable`: no connection (refused, partitioned by the fault table, connect timed out, TLS
  handshake failed or the server's certificate was not the one expected, client not running): the
  request was not sent;
- `RpcConnectionLost` (an `RpcUnreachable`): the connection ended (or was `drop`-ped) after the request
  was written, before the reply; it may have been handled;
- `RpcTimeout`: no reply in time (the request may still have been handled);
- `RpcRemoteError`: the server's handler failed; ``.error`` is the boxed `runtime.messages.Error`;
- `RpcError`: the request could not be sent as one frame, or the reply did not decode.

For callers that tell a dead route from a slow server: ``connect(address)`` opens (or reuses) the pooled
connection without sending anything, so the caller can bound dialing separately from the call;
``probe(address)`` dials a fresh connection and hangs up (does the route work *now*, whatever the pooled
connection is doing); ``heard_since(address, t)`` says whether a reply arrived on the pooled connection
at or after ``t``; ``drop(address)`` closes the pooled connection, failing its waiting calls with
`RpcConnectionLost`.

What must never live here: retries or leader redirection (the caller decides), or the server side.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import msgspec
import trio

from runtime.actor import Actor
from runtime.transport.addresses import Address, AddressBook, format_address, peer_name
from runtime.transport.connection import FramedConnection, connect
from runtime.transport.counters import StreamCounters
from runtime.transport.errors import (ConnectionClosed, FrameError, RpcConnectionLost, RpcError, RpcRemoteError,
                                      RpcTimeout, RpcUnreachable)
from runtime.transport.faults import FaultTable
from runtime.transport.frames import DEFAULT_MAX_FRAME
from runtime.transport.hello import Hello
from runtime.transport.rpc_messages import RpcFailure, RpcReply, RpcRequest, RpcResponse
from runtime.transport.secure import DialTls


class _Slot:
    """Where the reply to one request lands."""

    __slots__ = ("_event", "reply", "error")

    def __init__(self) -> None:
        self._event = trio.Event()
        self.reply: RpcResponse | RpcFailure | None = None
        self.error: RpcError | None = None

    def set(self, reply: RpcResponse | RpcFailure) -> None:
        if not self._event.is_set():
            self.reply = reply
            self._event.set()

    def fail(self, error: RpcError) -> None:
        if not self._event.is_set():
            self.error = error
            self._event.set()

    async def wait(self) -> RpcResponse | RpcFailure:
        await self._event.wait()
        if self.error is not None:
            raise self.error
        assert self.reply is not None
        return self.reply


class _Pooled:
    """One connection to one server address and the calls waiting on it."""

    __slots__ = ("address", "name", "conn", "error", "ready", "pending", "scope", "last_reply")

    def __init__(self, address: Address, name: str) -> None:
        self.address = address
        self.name = name
        self.conn: FramedConnection | None = None
        self.error = ""
        self.ready = trio.Event()  # set once connected or failed
        self.pending: dict[int, _Slot] = {}
        self.scope = trio.CancelScope()  # cancelled by `RpcClient.drop`
        self.last_reply = -math.inf  # trio time of the last reply read from the connection


class RpcClient:
    def __init__(self, *, node: str, dc: str = "", response_type: Any = Any, kind: str = "rpc",
                 faults: FaultTable | None = None, addresses: AddressBook | None = None,
                 connect_timeout: float = 2.0, max_frame: int = DEFAULT_MAX_FRAME, tls: DialTls | None = None) -> None:
        self.hello = Hello(kind=kind, node=node, dc=dc)
        self.tls = tls  # dial every server with TLS (marker byte + handshake) when given
        self.faults = faults
        self.addresses = addresses
        self.connect_timeout = connect_timeout
        self.max_frame = max_frame
        self.counters = StreamCounters()
        self._decoder = msgspec.msgpack.Decoder(response_type)
        self._encoder = msgspec.msgpack.Encoder()
        self._ids = itertools.count(1)
        self._pool: dict[Address, _Pooled] = {}
        self._nursery: trio.Nursery | None = None
        self.calls = 0
        self.timeouts = 0
        self.unreachable = 0
        self.remote_errors = 0
        self.late_replies = 0  # replies that arrived after their call gave up
        self.probes = 0
        self.probe_failures = 0
        self.dropped = 0

    # -- running -----------------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Host the pooled connections until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                task_status.started()
                await trio.sleep_forever()
            finally:
                self._nursery = None

    # -- calling -----------------------------------------------------------------------------------

    async def call(self, address: Address, request: Any, timeout: float = 5.0) -> Any:
        """Send ``request`` to the server at ``address`` and return its decoded response."""
        address = (address[0], address[1])
        self.calls += 1
        body = msgspec.Raw(self._encoder.encode(request))
        with trio.move_on_after(timeout) as scope:
            try:
                reply = await self._exchange(address, body)
            except RpcUnreachable:
                self.unreachable += 1
                raise
        if scope.cancelled_caught:
            self.timeouts += 1
            raise RpcTimeout(f"no reply from {peer_name(address, self.addresses)} within {timeout:g}s")
        if isinstance(reply, RpcFailure):
            self.remote_errors += 1
            raise RpcRemoteError(reply.error)
        try:
            return self._decoder.decode(reply.body)
        except msgspec.DecodeError as exc:
            raise RpcError(f"undecodable reply from {peer_name(address, self.addresses)}: {exc}") from None

    async def connect(self, address: Address) -> None:
        """Make sure a pooled connection to ``address`` is open (dialing it if needed; bounded by
        ``connect_timeout``) without sending anything. Raises `RpcUnreachable`."""
        try:
            await self._connection((address[0], address[1]))
        except RpcUnreachable:
            self.unreachable += 1
            raise

    async def probe(self, address: Address, timeout: float | None = None) -> None:
        """Dial ``address`` on a fresh connection (TCP, TLS if configured, hello), then hang up: whether the
        route to that server works now, whatever the pooled connection is doing. Bounded by ``timeout``
        (default ``connect_timeout``). Raises `RpcUnreachable` if the dial fails."""
        address = (address[0], address[1])
        name = peer_name(address, self.addresses)
        limit = self.connect_timeout if timeout is None else timeout
        self.probes += 1
        error = ""
        async with trio.open_nursery() as nursery:  # hosts the connection's delay line, if faults need one
            try:
                with trio.fail_after(limit):
                    conn = await connect(address, self.hello, RpcReply, nursery=nursery, peer=name,
                                         faults=self.faults, max_frame=self.max_frame, counters=self.counters,
                                         tls=self.tls)
            except ConnectionClosed as exc:
                error = str(exc)
            except trio.TooSlowError:
                error = f"connecting to {name} timed out after {limit:g}s"
            else:
                nursery.cancel_scope.cancel()  # the close below then never waits on a dead route
                await conn.aclose()
        if error:
            self.probe_failures += 1
            raise RpcUnreachable(error)

    def heard_since(self, address: Address, since: float) -> bool:
        """Whether a reply arrived on the pooled connection to ``address`` at or after trio time ``since``."""
        pooled = self._pool.get((address[0], address[1]))
        return pooled is not None and pooled.last_reply >= since

    def drop(self, address: Address, reason: str) -> bool:
        """Close the pooled connection to ``address`` (e.g. its route is known dead); calls waiting on it fail
        at once with `RpcConnectionLost`, the next call dials afresh. False if there was none."""
        pooled = self._pool.get((address[0], address[1]))
        if pooled is None:
            return False
        self.dropped += 1
        pooled.error = reason
        del self._pool[pooled.address]
        pooled.scope.cancel()
        return True

    async def _exchange(self, address: Address, body: msgspec.Raw) -> RpcResponse | RpcFailure:
        pooled = await self._connection(address)
        assert pooled.conn is not None
        request_id = next(self._ids)
        slot = _Slot()
        pooled.pending[request_id] = slot
        try:
            try:
                await pooled.conn.send(RpcRequest(id=request_id, body=body))
            except ConnectionClosed as exc:
                raise RpcUnreachable(str(exc)) from None
            except FrameError as exc:
                raise RpcError(f"request not sent: {exc.detail}") from None
            return await slot.wait()
        finally:
            pooled.pending.pop(request_id, None)

    async def _connection(self, address: Address) -> _Pooled:
        if self._nursery is None:
            raise RpcUnreachable("the RPC client is not running")
        pooled = self._pool.get(address)
        if pooled is None:
            pooled = _Pooled(address, peer_name(address, self.addresses))
            self._pool[address] = pooled
            self._nursery.start_soon(self._hold, pooled)
        await pooled.ready.wait()
        if pooled.conn is None or pooled.conn.closed:
            raise RpcUnreachable(pooled.error or f"connection to {pooled.name} closed")
        return pooled

    async def _hold(self, pooled: _Pooled) -> None:
        """Connect, then read replies until the connection ends; fail whatever is still waiting."""
        try:
            with pooled.scope:
                await self._hold_connection(pooled)
        finally:
            pooled.ready.set()
            if self._pool.get(pooled.address) is pooled:
                del self._pool[pooled.address]
            lost = RpcConnectionLost(f"connection to {pooled.name} lost: {pooled.error or 'client stopped'}")
            for slot in pooled.pending.values():
                slot.fail(lost)

    async def _hold_connection(self, pooled: _Pooled) -> None:
        """Connect, then read replies until the connection ends (or `drop` cancels it)."""
        async with trio.open_nursery() as nursery:  # hosts the connection's delay line
            try:
                with trio.fail_after(self.connect_timeout):
                    conn = await connect(pooled.address, self.hello, RpcReply, nursery=nursery,
                                         peer=pooled.name, faults=self.faults, max_frame=self.max_frame,
                                         counters=self.counters, tls=self.tls)
            except ConnectionClosed as exc:
                pooled.error = str(exc)
                return
            except trio.TooSlowError:
                pooled.error = f"connecting to {pooled.name} timed out after {self.connect_timeout:g}s"
                return
            pooled.conn = conn
            pooled.ready.set()
            try:
                while True:
                    reply = await conn.receive()
                    pooled.last_reply = trio.current_time()
                    slot = pooled.pending.get(reply.id)
                    if slot is None:
                        self.late_replies += 1
                    else:
                        slot.set(reply)
            except (ConnectionClosed, FrameError) as exc:
                pooled.error = str(exc)
            finally:
                nursery.cancel_scope.cancel()
                await conn.aclose()

    def statistics(self) -> dict[str, Any]:
        return {
            "connections": sorted(format_address(a) for a, p in self._pool.items() if p.conn is not None),
            "pending": sum(len(p.pending) for p in self._pool.values()),
            "calls": self.calls,
            "timeouts": self.timeouts,
            "unreachable": self.unreachable,
            "remote_errors": self.remote_errors,
            "late_replies": self.late_replies,
            "probes": self.probes,
            "probe_failures": self.probe_failures,
            "dropped": self.dropped,
            **self.counters.as_dict(),
        }


class RpcClientActor(Actor):
    """Runs an `RpcClient`'s connections under a supervisor; the client object outlives restarts."""

    kind: ClassVar[str] = "rpc.client"
    inbox_size: ClassVar[int | None] = 1  # takes no messages: callers use the client directly

    def __init__(self, client: RpcClient) -> None:
        self.client = client

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.client.run(task_status)

    def statistics(self) -> dict[str, Any]:
        return self.client.statistics()
