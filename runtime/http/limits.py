"""The knobs that keep one HTTP client from hurting the others, and the server's counters.

What lives here: `HttpLimits` (sizes, timeouts, connection caps; all with documented defaults) and
`HttpStatistics` (the snapshot `HttpServer.statistics()` returns).

What must never live here: behaviour. The server reads these values; nothing here does IO.
"""

from __future__ import annotations

import msgspec


class HttpLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-server limits. A connection cap of 0 means "no cap".

    max_body_bytes: largest request body accepted (Content-Length or chunked total). Larger gets
        ``413 Request body too large`` and the connection is closed. Default 4 MiB. A route may declare
        its own limit instead (``Router.add(..., max_body_bytes=...)``), lower or higher.
    max_header_bytes: request line plus all header lines. Larger gets 431 and a close. Default 1 MiB.
        (A head that arrives in the same read as earlier pipelined requests is checked to within
        one read, 64 KiB.)
    header_timeout: seconds a client has to deliver a complete request head, counted from its first
        byte (or from accept for the first request); then 408 and a close. Slowloris protection.
        Default 30.
    idle_timeout: seconds a keep-alive connection may sit between requests (then it is closed
        silently), and the longest gap allowed between two reads of a request body. Default 120.

    Timeouts are checked by a watchdog that ticks every min(1 s, timeout / 4), so they fire up to
    one tick late. They never apply while a handler runs (blocking queries may take minutes).
    max_connections: open connections across all clients; beyond it, 503 and close. Default 4096.
    max_conns_per_client: open connections per client IP (Consul's ``http_max_conns_per_client``);
        beyond it, 429 and close. Default 200.
    hangup_grace: seconds a running handler may still take once its client has sent EOF (closed the
        connection, or only its sending side: TCP cannot tell them apart) before it is cancelled and the
        connection closed unanswered. Enough for an ordinary request from a client that half-closes after
        sending; a client that hung up during a blocking query frees its slot within this plus a
        watchdog tick or two. A reset connection cancels the handler at once. (Go cancels the request
        context on EOF at once; handlers that ignore it still answer.) Default 2.
    """

    max_body_bytes: int = 4 * 1024 * 1024
    max_header_bytes: int = 1024 * 1024
    header_timeout: float = 30.0
    idle_timeout: float = 120.0
    max_connections: int = 4096
    max_conns_per_client: int = 200
    hangup_grace: float = 2.0


class HttpStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of server counters (cumulative ones count since the server object was created)."""

    open_connections: int
    websockets_open: int
    requests_served: int
    client_errors: int  # responses with status 4xx, including refused connections
    server_errors: int  # responses with status 5xx
    connections_refused: int  # over max_connections or max_conns_per_client
    hangups: int = 0  # handlers cancelled because their client went away (reset, or EOF past hangup_grace)
