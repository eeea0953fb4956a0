"""The exceptions raised by the transports.

What lives here: `TransportError` and its subclasses: `FrameError` (the peer broke the wire format; it
carries a short ``reason`` used as a counter key), `ConnectionClosed` (the stream is gone), and the RPC
errors callers of `RpcClient.call` handle (`RpcUnreachable` and its `RpcConnectionLost`, `RpcTimeout`,
`RpcRemoteError`).

What must never live here: code that raises them, or anything that needs Trio beyond `trio.TooSlowError`.
"""

from __future__ import annotations

import trio

from runtime.messages import Error


class TransportError(Exception):
    """Base of every error the transports raise."""


class FrameError(TransportError):
    """Bytes that break the wire format. ``reason`` is a short stable word used as a counter key:
    ``bad_version``, ``oversized``, ``truncated``, ``undecodable``, ``bad_hello``, ``unknown_kind``,
    ``hello_timeout``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ConnectionClosed(TransportError):
    """The connection is closed: by the peer, by us, by a network error, or refused by a partition."""


class RpcError(TransportError):
    """Base of the errors `RpcClient.call` raises."""


class RpcUnreachable(RpcError):
    """No connection to the server could be made, or it was lost before the reply arrived."""


class RpcConnectionLost(RpcUnreachable):
    """The connection ended after the request was written: unlike a plain `RpcUnreachable` (nothing
    was sent), the request may have been handled, so a caller must not re-send a non-idempotent one."""


class RpcTimeout(RpcError, trio.TooSlowError):
    """No reply within the call's timeout. The request may or may not have been handled."""


class RpcRemoteError(RpcError):
    """The server's handler failed; ``error`` is the boxed `runtime.messages.Error` it sent back."""

    def __init__(self, error: Error) -> None:
        where = " via ".join((f"{error.origin_node} ({error.origin_dc})", *error.relay))
        super().__init__(f"{error.kind} at {where}: {error.message}")
        self.error = error
