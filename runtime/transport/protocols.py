"""What a listener does with a connection once its hello has named a protocol.

What lives here: `StreamProtocol` (a handler, the type its incoming frames decode to, their size
limit, and an optional ``admit`` check of who may speak it: ``admit(hello, tls_peer)`` returns None to
let the connection in, or the reason to refuse it; ``tls_peer`` is the `runtime.transport.secure.TlsPeer`
of a TLS connection, None for plaintext) and `StreamProtocols`, the registry by kind ("raft", "rpc", "gossip"...) that a `StreamListener`
consults. The registry is built outside the listener actor and handed to it, so registrations survive
the listener's restarts, and protocols may register before or after the listener starts.

What must never live here: sockets or the handlers themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from runtime.transport.frames import DEFAULT_MAX_FRAME

if TYPE_CHECKING:
    from runtime.transport.connection import FramedConnection
    from runtime.transport.hello import Hello
    from runtime.transport.secure import TlsPeer

Handler = Callable[["FramedConnection"], Awaitable[None]]
Admit = Callable[["Hello", "TlsPeer | None"], "str | None"]


class StreamProtocol:
    """How to serve one kind of connection: ``handler(conn)`` runs until the connection is done."""

    __slots__ = ("kind", "handler", "receive_type", "max_frame", "admit")

    def __init__(self, kind: str, handler: Handler, receive_type: Any, max_frame: int = DEFAULT_MAX_FRAME,
                 admit: Admit | None = None) -> None:
        self.kind = kind
        self.handler = handler
        self.receive_type = receive_type
        self.max_frame = max_frame
        self.admit = admit


class StreamProtocols:
    """The protocols one listening port serves, by kind."""

    def __init__(self, protocols: list[StreamProtocol] | None = None) -> None:
        self._by_kind: dict[str, StreamProtocol] = {}
        for protocol in protocols or []:
            self.add(protocol)

    def add(self, protocol: StreamProtocol) -> None:
        if protocol.kind in self._by_kind:
            raise ValueError(f"a handler for protocol {protocol.kind!r} is already registered")
        self._by_kind[protocol.kind] = protocol

    def register(self, kind: str, handler: Handler, receive_type: Any, max_frame: int = DEFAULT_MAX_FRAME,
                 admit: Admit | None = None) -> None:
        self.add(StreamProtocol(kind, handler, receive_type, max_frame, admit))

    def remove(self, kind: str) -> None:
        self._by_kind.pop(kind, None)

    def get(self, kind: str) -> StreamProtocol | None:
        return self._by_kind.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)
