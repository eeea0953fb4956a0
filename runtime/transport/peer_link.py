"""The peer link actor: one ordered outgoing stream to one remote peer, kept up by reconnecting.

What lives here: `LinkConfig` and `PeerLink`. A protocol (Raft, typically) runs one link per peer and
sends it messages through its `ActorRef`. The link:

- holds them in a bounded inbox with overflow ``"drop"``: a slow or absent peer never stalls the sender;
  a message that does not fit is dropped and counted (the cell's ``dropped``);
- connects to the peer (over TLS when given a `DialTls`) with a hello (``protocol``, our node, our
  datacenter) and writes the messages in order on one connection, through the fault table;
- after an error, calls ``on_unreachable(peer)`` (Raft's ``report_unreachable``: a lost peer is
  information, not a crash), discards what queued up meanwhile (it is stale by the time the peer is back;
  counted as ``discarded``) and retries after an exponential backoff with seeded jitter;
- optionally reads frames the peer sends back on the same connection and hands each to ``on_message``
  (which runs on the receive path and must not block).

The callbacks run inside the link's tasks; an exception in one is a bug and crashes the link, which its
supervisor restarts. Messages should be sent with ``send``/``send_nowait``; ``request`` answers None once
the message is written.

What must never live here: what the messages mean, retries of individual messages, or the listener side.
"""

from __future__ import annotations

import random
from typing import Any, Callable, ClassVar

import msgspec
import trio

from runtime import clock
from runtime.actor import Actor, Overflow
from runtime.log import get_logger
from runtime.rng import derive
from runtime.transport.addresses import Address, format_address
from runtime.transport.connection import FramedConnection, connect
from runtime.transport.counters import StreamCounters
from runtime.transport.errors import ConnectionClosed, FrameError
from runtime.transport.faults import FaultTable
from runtime.transport.frames import DEFAULT_MAX_FRAME
from runtime.transport.hello import Hello
from runtime.transport.secure import DialTls

log = get_logger("transport")


class LinkConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Reconnection and size settings of a peer link. Times in seconds."""

    # A connect that takes longer is a failure; on a LAN a healthy peer answers in milliseconds.
    connect_timeout: float = 2.0
    # Wait after the n-th consecutive failure: backoff_initial * 2**(n-1), at most backoff_max, then
    # scaled by a seeded factor in [1 - backoff_jitter, 1 + backoff_jitter] so links retry out of step.
    backoff_initial: float = 0.05
    backoff_max: float = 5.0
    backoff_jitter: float = 0.2
    # A connection that stayed up this long resets the backoff; one that fails sooner keeps it growing,
    # so a peer that accepts and closes at once is not hammered.
    stable_after: float = 5.0
    # A write the peer does not take within this long (it stopped reading) counts as a lost connection.
    write_timeout: float = 10.0
    max_frame: int = DEFAULT_MAX_FRAME


class PeerLink(Actor):
    kind: ClassVar[str] = "peer"
    Inbox: ClassVar[Any] = None  # any msgspec-encodable message (the protocol's wire union)
    inbox_size: ClassVar[int | None] = 256  # subclass to change: the inbox belongs to the cell, built from the class
    overflow: ClassVar[Overflow] = "drop"

    def __init__(self, peer: str, address: Address, *, node: str, dc: str = "", protocol: str = "raft",
                 faults: FaultTable | None = None, rng: random.Random | None = None,
                 config: LinkConfig | None = None,
                 on_unreachable: Callable[[str], None] | None = None,
                 on_connected: Callable[[str], None] | None = None,
                 on_message: Callable[[Any], None] | None = None, receive_type: Any = msgspec.Raw,
                 tls: DialTls | None = None) -> None:
        self.peer = peer
        self.tls = tls  # dial with TLS (marker byte + handshake) when given
        self.address = (address[0], address[1])
        self.hello = Hello(kind=protocol, node=node, dc=dc)
        self.faults = faults
        self.rng = rng if rng is not None else derive(0, f"link:{node}->{peer}")
        self.config = config or LinkConfig()
        self.on_unreachable = on_unreachable
        self.on_connected = on_connected
        self.on_message = on_message
        self.receive_type = receive_type
        self.counters = StreamCounters()
        self.connected = False
        self.connects = 0
        self.sent = 0
        self.received = 0
        self.discarded = 0  # queued while the peer was unreachable, then thrown away as stale
        self.lost = 0  # being written when the connection broke
        self.oversized = 0  # larger than max_frame: never sendable
        self.failures = 0  # consecutive
        self.backoff = 0.0
        self.last_error: str | None = None
        self._conn: FramedConnection | None = None

    # -- the loop ----------------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            error = await self._session()
            self._down(error)
            self._discard_queued()
            self.backoff = self.backoff_for(self.failures)
            await trio.sleep(self.backoff)

    async def _session(self) -> str:
        """Connect and pump until the connection fails; return why it ended."""
        ended: list[str] = []
        async with trio.open_nursery() as nursery:
            try:
                with trio.fail_after(self.config.connect_timeout):
                    conn = await connect(self.address, self.hello, self.receive_type, nursery=nursery,
                                         peer=self.peer, faults=self.faults, max_frame=self.config.max_frame,
                                         counters=self.counters, tls=self.tls)
            except ConnectionClosed as exc:
                return str(exc)
            except trio.TooSlowError:
                return f"connecting to {format_address(self.address)} timed out after {self.config.connect_timeout:g}s"
            started = clock.now()
            self._up(conn)
            nursery.start_soon(self._sending, conn, ended, nursery.cancel_scope)
            nursery.start_soon(self._receiving, conn, ended, nursery.cancel_scope)
        self._conn = None
        if clock.now() - started >= self.config.stable_after:
            self.failures = 0
        return ended[0] if ended else "connection closed"

    async def _sending(self, conn: FramedConnection, ended: list[str], scope: trio.CancelScope) -> None:
        receive = self.cell.inbox_recv
        try:
            while True:
                item = await receive.receive()
                try:
                    await self.dispatch(item)
                except BaseException:  # the connection failed (or the session ended) while writing it
                    self.lost += 1
                    raise
        except ConnectionClosed as exc:
            ended.append(str(exc))
        finally:
            scope.cancel()
            await conn.aclose()

    async def _receiving(self, conn: FramedConnection, ended: list[str], scope: trio.CancelScope) -> None:
        try:
            while True:
                message = await conn.receive()
                self.received += 1
                if self.on_message is not None:
                    self.on_message(message)
        except (ConnectionClosed, FrameError) as exc:
            ended.append(str(exc))
        finally:
            scope.cancel()
            await conn.aclose()

    async def handle(self, message: Any) -> None:
        conn = self._conn
        if conn is None:
            raise ConnectionClosed(f"no connection to {self.peer}")
        try:
            with trio.fail_after(self.config.write_timeout):
                await conn.send(message)
        except trio.TooSlowError:
            raise ConnectionClosed(f"{self.peer} took no data for {self.config.write_timeout:g}s") from None
        except FrameError as exc:  # too big to ever send: drop this one, keep the connection
            self.oversized += 1
            log.warning("message too large for the link, dropped", peer=self.peer, detail=exc.detail)
            return
        self.sent += 1

    # -- state changes -----------------------------------------------------------------------------

    def _up(self, conn: FramedConnection) -> None:
        self._conn = conn
        self.connected = True
        self.connects += 1
        self.last_error = None
        self.backoff = 0.0
        if self.connects > 1:
            log.info("peer reachable again", peer=self.peer, address=format_address(self.address))
        if self.on_connected is not None:
            self.on_connected(self.peer)

    def _down(self, error: str) -> None:
        was_connected = self.connected
        self.connected = False
        self.failures += 1
        self.last_error = error
        if was_connected or self.failures == 1:
            log.warning("peer unreachable", peer=self.peer, address=format_address(self.address), error=error)
        if self.on_unreachable is not None:
            self.on_unreachable(self.peer)

    def _discard_queued(self) -> None:
        receive = self.cell.inbox_recv
        while True:
            try:
                receive.receive_nowait()
            except trio.WouldBlock:
                return
            self.discarded += 1

    def backoff_for(self, failures: int) -> float:
        """The wait after ``failures`` consecutive failures (draws one jitter value from the link's rng)."""
        cfg = self.config
        base = min(cfg.backoff_max, cfg.backoff_initial * 2 ** min(max(failures, 1) - 1, 60))
        return base * (1.0 + cfg.backoff_jitter * (2.0 * self.rng.random() - 1.0))

    def statistics(self) -> dict[str, Any]:
        inbox_full = self.cell.dropped
        return {
            "peer": self.peer,
            "address": format_address(self.address),
            "connected": self.connected,
            "reconnects": max(0, self.connects - 1),
            "sent": self.sent,
            "received": self.received,
            "dropped": inbox_full + self.discarded + self.lost + self.oversized,
            "inbox_full": inbox_full,
            "discarded": self.discarded,
            "lost": self.lost,
            "oversized": self.oversized,
            "failures": self.failures,
            "backoff": round(self.backoff, 3),
            "last_error": self.last_error,
            **self.counters.as_dict(),
        }
