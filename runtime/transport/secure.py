"""TLS on a multiplexed stream port: one marker byte, then a TLS handshake, then the usual hello.

Consul's server port tells a TLS connection from a plaintext one by its first byte (``RPCTLS`` = 0x03,
then ``tls.Server``). Here likewise: a dialler that wants TLS writes `TLS_MARKER` (0x03) and then
starts the handshake; a plaintext dialler starts with its hello frame, whose first byte is the frame
version (1), so the two never collide. After the handshake the hello and every frame travel inside TLS.

What lives here:

- `ListenerTls`: what a listener does about TLS: the serving context (which may require, check if sent,
  or ignore client certificates) and ``require``, which refuses plaintext connections (Consul's
  ``verify_incoming``).
- `DialTls`: how to dial one destination: the context and the ``server_hostname`` its certificate must
  name when the context checks names (Consul's ``verify_server_hostname``: ``server.<dc>.<domain>``).

Both hold a `ContextSource`: a fixed context or a callable answering the current one, asked once per
connection (``.context``), so replacing certificates affects new connections and never established ones.
- `TlsPeer`: what a listener learned about a TLS peer: the DNS names of its verified certificate (empty
  when it sent none). Plaintext connections have no `TlsPeer` at all.
- `accept_secure` and `dial_secure`: the two sides of the marker and handshake.

What must never live here: which names a protocol demands of its peers (a protocol's ``admit`` hook in
``protocols``), or building contexts (``runtime.tls.contexts``).
"""

from __future__ import annotations

import ssl
from typing import NamedTuple

import trio

from runtime.tls.contexts import ContextSource, current_context, peer_dns_names
from runtime.tls.handshake import HandshakeFailed, dial_tls, serve_tls
from runtime.transport.errors import ConnectionClosed, FrameError

TLS_MARKER = b"\x03"


class ListenerTls(NamedTuple):
    source: ContextSource
    require: bool = False  # refuse plaintext connections

    @property
    def context(self) -> ssl.SSLContext:
        """The serving context for a connection accepted now."""
        return current_context(self.source)


class DialTls(NamedTuple):
    source: ContextSource
    server_hostname: str | None = None

    @property
    def context(self) -> ssl.SSLContext:
        """The dialling context for a connection opened now."""
        return current_context(self.source)


class TlsPeer(NamedTuple):
    names: frozenset[str]  # DNS SANs of the verified peer certificate; empty: none presented


async def accept_secure(stream: trio.SocketStream, tls: ListenerTls,
                        timeout: float) -> tuple[trio.abc.Stream, TlsPeer | None, bytes]:
    """Read the first byte; for the marker, complete a TLS handshake. Returns (the stream to read the
    hello from, the TLS peer or None for plaintext, bytes already read that belong to the hello).

    Raises `FrameError`: ``truncated`` (closed at once), ``plaintext_refused`` (``require`` and no
    marker), ``tls_<reason>`` (the handshake failed; see `HandshakeFailed`). The caller bounds the time
    of the first read; ``timeout`` bounds the handshake."""
    first = await stream.receive_some(1)
    if not first:
        raise FrameError("truncated", "connection closed before the first byte")
    if first != TLS_MARKER:
        if tls.require:
            raise FrameError("plaintext_refused", "this port accepts TLS connections only (verify_incoming)")
        return stream, None, first
    try:
        secured = await serve_tls(stream, tls.context, timeout=timeout)
    except HandshakeFailed as exc:
        raise FrameError(f"tls_{exc.reason}", f"TLS handshake failed: {exc.detail}") from None
    return secured, TlsPeer(peer_dns_names(secured)), b""


async def dial_secure(stream: trio.abc.Stream, tls: DialTls, name: str, timeout: float = 10.0) -> trio.abc.Stream:
    """Send the marker and complete the client handshake; raises `ConnectionClosed` naming ``name``."""
    try:
        await stream.send_all(TLS_MARKER)
        return await dial_tls(stream, tls.context, server_hostname=tls.server_hostname, timeout=timeout)
    except HandshakeFailed as exc:
        await trio.aclose_forcefully(stream)
        raise ConnectionClosed(f"TLS handshake with {name} failed: {exc.detail}") from None
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        await trio.aclose_forcefully(stream)
        raise ConnectionClosed(f"TLS handshake with {name} failed: {exc or type(exc).__name__}") from None
