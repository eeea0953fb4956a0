"""The stream path of gossip: one short TCP exchange per push-pull or fallback ping.

An exchange is one request frame and its answers: the initiator connects (hello kind ``gossip``),
writes one envelope, and reads answers until the listener closes; the listener reads one envelope,
hands it to the shell, writes what the shell answers, and closes. Both sides are bounded by the pool's
``tcp_timeout``. Every frame is one `wire` envelope (sealed when the pool has a keyring), carried as a
msgpack ``bin`` so the framing never sees plaintext.

A listener that cannot accept the message (wrong key, encryption on one side only, garbage) answers with a
`Refusal` in clear before closing, so the initiator can say *why* its join failed instead of "EOF".

What lives here: `exchange` (initiator side), `ExchangeFailed`, and `register_protocol`, which installs the
listener side in the pool's `StreamProtocols`.

What must never live here: protocol decisions (the shell's core makes them) or the listening socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from actors.gossip.inputs import Pending, StreamRequest
from actors.gossip.wire import Refusal, WireError
from actors.swim.messages import Addr
from runtime.transport.connection import FramedConnection, connect
from runtime.transport.errors import ConnectionClosed, FrameError
from runtime.transport.hello import Hello

if TYPE_CHECKING:
    from actors.gossip.pool import PoolState

KIND = "gossip"
MAX_FRAME = 4 * 1024 * 1024  # a push-pull of a few thousand members with their recent events


class ExchangeFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def exchange(state: "PoolState", addr: Addr, msg: object) -> list[object]:
    """Send ``msg`` to ``addr`` over a fresh stream and return the answers; raises `ExchangeFailed`."""
    settings = state.settings
    timeout = settings.swim.tcp_timeout
    hello = Hello(kind=KIND, node=settings.member_name, dc=settings.datacenter)
    replies: list[object] = []
    failure: str | None = None
    with trio.move_on_after(timeout) as scope:
        async with trio.open_nursery() as nursery:  # hosts the connection's delay line (fault table)
            try:
                conn = await connect(addr, hello, bytes, nursery=nursery, peer=state.addresses.name(addr),
                                     faults=state.faults, max_frame=MAX_FRAME)
                async with conn:
                    await conn.send(state.codec.encode(msg))
                    failure = await _read_answers(state, conn, replies)
            except ConnectionClosed as err:
                failure = str(err)
            except OSError as err:
                failure = f"network error: {err}"
            except FrameError as err:
                failure = f"bad frame from the remote agent: {err.detail}"
            except WireError as err:
                failure = f"cannot read the remote agent's answer: {err.detail}"
    if scope.cancelled_caught:
        failure = f"no answer within {timeout:g}s"
    if failure is not None:
        raise ExchangeFailed(failure)
    if not replies:
        raise ExchangeFailed("the remote agent closed the connection without answering")
    return replies


async def _read_answers(state: "PoolState", conn: FramedConnection, replies: list[object]) -> str | None:
    """Read until the listener closes; a `Refusal` ends the exchange with its reason."""
    while True:
        try:
            data = await conn.receive()
        except ConnectionClosed:
            return None
        reply = state.codec.decode_stream(data)
        if type(reply) is Refusal:
            return f"the remote agent refused our message: {reply.reason}"
        replies.append(reply)


def register_protocol(state: "PoolState") -> None:
    """Serve ``gossip`` streams on the pool's listener (idempotent across agent rebuilds)."""
    if state.protocols.get(KIND) is None:
        state.protocols.register(KIND, _handler(state), bytes, MAX_FRAME)


def _handler(state: "PoolState"):  # type: ignore[no-untyped-def]
    async def serve(conn: FramedConnection) -> None:
        source = conn.remote_address or ("?", 0)
        state.counters["streams_in"] += 1
        with trio.move_on_after(state.settings.swim.tcp_timeout):
            data = await conn.receive()
            try:
                msg = state.codec.decode_stream(data)
            except WireError as err:
                state.drop(err.reason, source, err.detail)
                await conn.send(state.codec.refusal(err.detail))
                return
            if type(msg) is Refusal:
                return
            request = StreamRequest(source, msg, Pending())
            await state.inputs_send.send(request)
            for reply in await request.reply.wait():
                await conn.send(state.codec.encode(reply))

    return serve
