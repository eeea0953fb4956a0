"""TLS handshakes over Trio streams, bounded in time, with one kind of failure.

What lives here: `HandshakeFailed` (``reason`` is a short word for counters: ``timeout``, ``tls_error``,
``closed``; ``detail`` says what happened), `serve_tls` (the accepting side) and `dial_tls` (the
connecting side). Both wrap the given stream in a ``trio.SSLStream`` and complete the handshake before
returning it, so a caller never holds a half-open TLS stream. On failure the transport stream is left
for the caller to close (after it has counted or logged the failure).

The streams are made ``https_compatible``: closing one does not wait for the peer's ``close_notify``
(a stuck peer cannot hold our close up), and an end of stream without one reads as a plain EOF. The
protocols carried here frame their own messages, so a truncation cannot pass for a complete message.

What must never live here: decisions about *whether* to use TLS, or which names a peer must have.
"""

from __future__ import annotations

import ssl

import trio


class HandshakeFailed(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return cause.verify_message or str(cause)
    if isinstance(cause, ssl.SSLError):
        return cause.reason or str(cause)
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    return str(exc) or type(exc).__name__


async def _handshake(stream: trio.SSLStream[trio.abc.Stream], timeout: float) -> trio.SSLStream[trio.abc.Stream]:
    failure: HandshakeFailed | None = None
    with trio.move_on_after(timeout) as scope:
        try:
            await stream.do_handshake()
        except trio.BrokenResourceError as exc:
            failure = HandshakeFailed("tls_error", _describe(exc))
        except trio.ClosedResourceError:
            failure = HandshakeFailed("closed", "the stream was closed during the TLS handshake")
    if scope.cancelled_caught:
        failure = HandshakeFailed("timeout", f"no TLS handshake within {timeout:g}s")
    if failure is not None:
        raise failure
    return stream


async def serve_tls(transport: trio.abc.Stream, context: ssl.SSLContext, *,
                    timeout: float = 5.0) -> trio.SSLStream[trio.abc.Stream]:
    """Complete the server side of a handshake on ``transport``; raises `HandshakeFailed`."""
    stream = trio.SSLStream(transport, context, server_side=True, https_compatible=True)
    return await _handshake(stream, timeout)


async def dial_tls(transport: trio.abc.Stream, context: ssl.SSLContext, *, server_hostname: str | None = None,
                   timeout: float = 5.0) -> trio.SSLStream[trio.abc.Stream]:
    """Complete the client side of a handshake on ``transport``; ``server_hostname`` is sent as SNI and,
    when the context checks host names, must be named by the server's certificate. Raises `HandshakeFailed`."""
    stream = trio.SSLStream(transport, context, server_hostname=server_hostname, https_compatible=True)
    return await _handshake(stream, timeout)
