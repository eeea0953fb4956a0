"""The datagram endpoint actor: one UDP socket for gossip, with the fault table and a size limit.

What lives here: `SendDatagram` (the inbox message other actors send it) and `DatagramEndpoint`. The
endpoint binds (readiness once bound, ``address`` known even for port 0), then:

- sends: `DatagramEndpoint.send` (or a `SendDatagram` through its ``drop`` inbox) asks the fault table
  about ``our node -> the node at that address`` (named by the `AddressBook`, else ``"host:port"``):
  dropped datagrams vanish, duplicated ones go out twice, delayed ones are sent later by their own task
  and may overtake each other, as datagrams do;
- receives: every datagram is handed as ``(address, bytes)`` to ``on_datagram`` (runs on the receive
  path: must not block) and/or put on the ``inbox`` channel (dropped and counted when full);
- never crashes on input: oversized datagrams are dropped and counted both ways, socket errors on
  receive (such as ICMP port unreachable reported by Linux) are counted, and a callback that raises on
  garbage is counted and logged, and the loop goes on. The bytes are opaque here: decoding (and
  decryption) is the protocol's job.

What must never live here: SWIM, message decoding, or retries.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import msgspec
import trio

from runtime.actor import Actor, Overflow
from runtime.log import get_logger
from runtime.transport.addresses import Address, AddressBook, format_address, peer_name
from runtime.transport.faults import PASS, FaultTable

log = get_logger("transport")

# memberlist's UDPBufferSize: fits a typical 1500-byte MTU with headers, so datagrams are not fragmented.
DEFAULT_MAX_DATAGRAM = 1400


class SendDatagram(msgspec.Struct, frozen=True, kw_only=True):
    """Ask the endpoint to send ``payload`` to ``address`` (a local mailbox message, never serialised)."""

    address: tuple[str, int]
    payload: bytes


class DatagramEndpoint(Actor):
    kind: ClassVar[str] = "udp"
    Inbox: ClassVar[Any] = SendDatagram
    inbox_size: ClassVar[int | None] = 1024
    overflow: ClassVar[Overflow] = "drop"  # gossip loss is information; a slow socket never stalls SWIM

    def __init__(self, host: str, port: int, *, node: str,
                 on_datagram: Callable[[Address, bytes], None] | None = None,
                 inbox: trio.MemorySendChannel[tuple[Address, bytes]] | None = None,
                 faults: FaultTable | None = None, addresses: AddressBook | None = None,
                 max_size: int = DEFAULT_MAX_DATAGRAM, max_delayed: int = 4096,
                 on_bound: Callable[[Address], None] | None = None) -> None:
        self.host = host
        self.port = port
        self.node = node
        self.on_datagram = on_datagram
        self.inbox = inbox
        self.faults = faults
        self.addresses = addresses
        self.max_size = max_size
        self.max_delayed = max_delayed  # datagrams held back by delay faults at once; more are lost
        self.on_bound = on_bound
        self.address: Address | None = None
        self._sock: trio.socket.SocketType | None = None
        self._nursery: trio.Nursery | None = None
        self._delayed = 0
        self.counts: dict[str, int] = dict.fromkeys(
            ("sent", "received", "oversized_out", "oversized_in", "send_errors", "receive_errors",
             "handler_errors", "inbox_full", "delay_overflow"), 0)

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        resolved = await trio.socket.getaddrinfo(self.host, self.port, type=trio.socket.SOCK_DGRAM)
        family, _, _, _, sockaddr = resolved[0]
        with trio.socket.socket(family, trio.socket.SOCK_DGRAM) as sock:
            await sock.bind(sockaddr)
            name = sock.getsockname()
            self.address = (name[0], name[1])
            self._sock = sock
            try:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._receive_loop, sock)
                    if self.on_bound is not None:
                        self.on_bound(self.address)
                    task_status.started()
                    await self.serve_inbox()
            finally:
                self._sock = None
                self._nursery = None

    async def handle(self, message: SendDatagram) -> bool:
        return await self.send(message.address, message.payload)

    # -- sending -----------------------------------------------------------------------------------

    async def send(self, address: Address, payload: bytes) -> bool:
        """Send one datagram subject to the fault table. False if it could not be sent (too large, socket
        error, endpoint not running); a datagram the fault table drops counts as sent, as on a network."""
        if len(payload) > self.max_size:
            self.counts["oversized_out"] += 1
            return False
        if self._sock is None or self._nursery is None:
            return False
        address = (address[0], address[1])
        faults = self.faults
        verdict = faults.verdict(self.node, peer_name(address, self.addresses)) if faults is not None else PASS
        if verdict.drop:
            return True
        copies = 2 if verdict.duplicate else 1
        if verdict.delay > 0.0:
            if self._delayed >= self.max_delayed:
                self.counts["delay_overflow"] += 1
                return True
            self._delayed += 1
            self._nursery.start_soon(self._send_later, verdict.delay, address, payload, copies)
            return True
        return await self._sendto(address, payload, copies)

    async def _send_later(self, delay: float, address: Address, payload: bytes, copies: int) -> None:
        try:
            await trio.sleep(delay)
            await self._sendto(address, payload, copies)
        finally:
            self._delayed -= 1

    async def _sendto(self, address: Address, payload: bytes, copies: int) -> bool:
        sock = self._sock
        if sock is None:
            return False
        try:
            for _ in range(copies):
                await sock.sendto(payload, address)
                self.counts["sent"] += 1
        except OSError as exc:
            self.counts["send_errors"] += 1
            log.debug("datagram not sent", to=format_address(address), error=str(exc))
            return False
        return True

    # -- receiving ---------------------------------------------------------------------------------

    async def _receive_loop(self, sock: trio.socket.SocketType) -> None:
        while True:
            try:
                data, source = await sock.recvfrom(self.max_size + 1)
            except OSError:
                self.counts["receive_errors"] += 1
                continue
            if len(data) > self.max_size:
                self.counts["oversized_in"] += 1
                continue
            self.counts["received"] += 1
            self._deliver((source[0], source[1]), data)

    def _deliver(self, source: Address, data: bytes) -> None:
        if self.on_datagram is not None:
            try:
                self.on_datagram(source, data)
            except Exception as exc:
                self.counts["handler_errors"] += 1
                log.warning("datagram handler failed", source=format_address(source), size=len(data),
                            error=f"{type(exc).__name__}: {exc}")
        if self.inbox is not None:
            try:
                self.inbox.send_nowait((source, data))
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                self.counts["inbox_full"] += 1

    def statistics(self) -> dict[str, Any]:
        return {
            "address": format_address(self.address) if self.address else f"{self.host}:{self.port}",
            "max_size": self.max_size,
            "delayed": self._delayed,
            **self.counts,
        }
