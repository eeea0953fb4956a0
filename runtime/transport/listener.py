"""The stream listener actor: one TCP port serving several protocols, chosen by each connection's hello.

What lives here: `StreamLimits` and `StreamListener`. The listener binds (readiness is signalled only once
bound, so ``nursery.start`` returns with ``address`` known even for port 0), accepts connections, reads
each hello under ``hello_timeout`` (a slow or silent client cannot hold a connection open), and runs the
handler registered for the hello's kind with a `FramedConnection`.

With a `ListenerTls` the first byte decides: the TLS marker starts a handshake (within ``hello_timeout``
too) and the hello is read inside TLS; anything else is plaintext, refused when ``tls.require`` is set
(Consul's ``verify_incoming``). A protocol's ``admit`` hook then sees the hello and the TLS peer (the
names its verified certificate carries) and may refuse the connection (``unauthorized``).

Connection caps are checked on accept, before any byte is read (TLS included): past ``max_connections`` in
all, or past ``max_conns_per_client`` from one IP address (Consul's ``rpc_max_conns_per_client`` on the
server port), the connection is closed at once, counted (``too_many_connections`` /
``too_many_client_connections``) and logged.

Bad input ends *that* connection, never the listener: a bad hello, an unknown kind, a timeout, a bad
frame or a handler that raises closes the connection with one log line and a counted reason. A socket
error on the listening socket itself crashes the actor, and its supervisor restarts it.

What must never live here: protocol handlers (they are registered in `StreamProtocols` by their owners)
or outgoing connections (``peer_link``, ``rpc_client``).
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any, Callable, ClassVar

import msgspec
import trio

from runtime.actor import Actor
from runtime.log import get_logger
from runtime.transport.addresses import Address, format_address
from runtime.transport.connection import RECEIVE_SIZE, FramedConnection
from runtime.transport.counters import StreamCounters
from runtime.transport.errors import ConnectionClosed, FrameError
from runtime.transport.faults import FaultTable
from runtime.transport.hello import read_hello
from runtime.transport.protocols import StreamProtocol, StreamProtocols
from runtime.transport.secure import ListenerTls, TlsPeer, accept_secure

log = get_logger("transport")

_NETWORK_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class StreamLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-listener limits. Times in seconds."""

    # How long a new connection may take to send its hello. Peers send it with their first write, so
    # anything slower is a stuck or hostile client (slowloris).
    hello_timeout: float = 5.0
    # Open connections at once; more are closed on accept. Servers keep one per peer per protocol,
    # so this is generous for any real cluster and still bounds memory.
    max_connections: int = 4096
    # Open connections from one client IP address; more are closed on accept. 0: no cap. The server port
    # sets Consul's ``limits.rpc_max_conns_per_client`` (100) here; other listeners keep 0.
    max_conns_per_client: int = 0
    receive_size: int = RECEIVE_SIZE


class StreamListener(Actor):
    kind: ClassVar[str] = "listener"
    inbox_size: ClassVar[int | None] = 1  # takes no messages

    def __init__(self, host: str, port: int, protocols: StreamProtocols, *, node: str,
                 faults: FaultTable | None = None, limits: StreamLimits | None = None,
                 on_bound: Callable[[Address], None] | None = None, tls: ListenerTls | None = None) -> None:
        self.host = host
        self.tls = tls
        self.port = port
        self.protocols = protocols
        self.node = node
        self.faults = faults
        self.limits = limits or StreamLimits()
        self.on_bound = on_bound
        self.address: Address | None = None
        self.counters = StreamCounters()
        self.accepted = 0
        self.open_by_kind: Counter[str] = Counter()
        self._open = 0
        self._per_client: Counter[str] = Counter()  # open connections by client IP address

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        name = listeners[0].socket.getsockname()
        self.address = (name[0], name[1])
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(trio.serve_listeners, self._serve, listeners, handler_nursery=nursery))
            if self.on_bound is not None:
                self.on_bound(self.address)
            task_status.started()

    def statistics(self) -> dict[str, Any]:
        return {
            "address": format_address(self.address) if self.address else f"{self.host}:{self.port}",
            "protocols": self.protocols.kinds(),
            "tls": "off" if self.tls is None else ("required" if self.tls.require else "optional"),
            "connections": self._open,
            "clients": len(self._per_client),
            "open": {kind: n for kind, n in sorted(self.open_by_kind.items()) if n},
            "accepted": self.accepted,
            **self.counters.as_dict(),
        }

    # -- one connection ----------------------------------------------------------------------------

    async def _serve(self, stream: trio.SocketStream) -> None:
        """Serve one accepted connection; never raises (trio.serve_listeners closes the stream)."""
        self.accepted += 1
        if self._open >= self.limits.max_connections:
            self._refuse(stream, FrameError("too_many_connections", f"{self._open} connections already open"))
            return
        ip = _remote_ip(stream)
        cap = self.limits.max_conns_per_client
        if cap and self._per_client[ip] >= cap:
            self._refuse(stream, FrameError("too_many_client_connections",
                                            f"{self._per_client[ip]} connections already open from {ip}"))
            return
        self._open += 1
        self._per_client[ip] += 1
        try:
            secured: trio.abc.Stream = stream
            peer: TlsPeer | None = None
            try:
                with trio.fail_after(self.limits.hello_timeout):
                    prefix = b""
                    if self.tls is not None:
                        secured, peer, prefix = await accept_secure(stream, self.tls, self.limits.hello_timeout)
                    hello, frames = await read_hello(secured, self.limits.receive_size, prefix)
            except trio.TooSlowError:
                self._refuse(stream, FrameError("hello_timeout", f"no hello within {self.limits.hello_timeout:g}s"))
                return
            except FrameError as exc:
                self._refuse(stream, exc)
                return
            except _NETWORK_ERRORS as exc:
                self._refuse(stream, FrameError("reset", f"connection lost before the hello: {exc}"))
                return
            protocol = self.protocols.get(hello.kind)
            if protocol is None:
                served = ", ".join(self.protocols.kinds()) or "none"
                detail = f"no handler for protocol {hello.kind!r} (serving: {served})"
                self._refuse(stream, FrameError("unknown_kind", detail))
                return
            refusal = protocol.admit(hello, peer) if protocol.admit is not None else None
            if refusal is not None:
                self._refuse(stream, FrameError("unauthorized", f"{hello.kind} from {hello.node}: {refusal}"))
                return
            self.open_by_kind[hello.kind] += 1
            self.cell.tree.touch()
            try:
                async with trio.open_nursery() as nursery:  # hosts the connection's delay line, if faults need one
                    conn = FramedConnection(secured, protocol.receive_type, nursery=nursery, local=self.node,
                                            peer=hello.node, hello=hello, faults=self.faults, tls_peer=peer,
                                            max_frame=protocol.max_frame, decoder=frames, counters=self.counters,
                                            receive_size=self.limits.receive_size)
                    await self._run_handler(protocol, conn)
            finally:
                self.open_by_kind[hello.kind] -= 1
                self.cell.tree.touch()
        finally:
            self._open -= 1
            self._per_client[ip] -= 1
            if not self._per_client[ip]:
                del self._per_client[ip]

    async def _run_handler(self, protocol: StreamProtocol, conn: FramedConnection) -> None:
        try:
            await protocol.handler(conn)
        except (FrameError, ConnectionClosed):
            pass  # counted and logged by the connection where it was detected
        except Exception as exc:
            self.counters.error("handler_error")
            log.warning("connection handler failed", protocol=protocol.kind, peer=conn.peer,
                        error=f"{type(exc).__name__}: {exc}")
        finally:
            await conn.aclose()

    def _refuse(self, stream: trio.SocketStream, error: FrameError) -> None:
        self.counters.error(error.reason)
        remote = _remote(stream)
        log.warning("connection refused", remote=remote, reason=error.reason, detail=error.detail)


def _remote_ip(stream: trio.SocketStream) -> str:
    try:
        name = stream.socket.getpeername()
    except OSError:
        return "?"
    return name[0] if isinstance(name, tuple) else str(name)


def _remote(stream: trio.SocketStream) -> str:
    try:
        name = stream.socket.getpeername()
    except OSError:
        return "?"
    return format_address((name[0], name[1])) if isinstance(name, tuple) else str(name)
