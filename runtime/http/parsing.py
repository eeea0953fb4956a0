"""Feeds bytes to httptools (llhttp) and assembles finished `Request` objects, in order.

What lives here: `RequestAssembler`, one per connection: it owns the ``HttpRequestParser``, receives its
callbacks, enforces the header and body size limits while parsing, and appends each complete request
to ``ready`` (several per read when a client pipelines).
`LimitExceeded` is what a callback raises to stop the parser with a specific status.

What must never live here: IO, timeouts, routing or response writing; the server loop does those.
"""

from __future__ import annotations

from collections import deque

import httptools

from .limits import HttpLimits
from .request import Request

_METHODS = {
    m.encode(): m
    for m in ("GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE")
}


class LimitExceeded(Exception):
    """Raised inside a parser callback; the server answers ``status`` with ``message`` and closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RequestAssembler:
    """httptools callback target that turns a byte stream into a queue of `Request` objects.

    State the server reads after each ``feed``: ``ready`` (complete requests), ``in_head`` (a request
    has started but its head is incomplete), ``in_body`` (head done, body still arriving), ``begun``
    (how many requests have started, so the server can treat each one once).

    The callbacks do as little as possible, because they run for every request: rarer questions
    (``Expect``, ``Content-Length`` of a request still waiting for its body) are answered on demand
    by `pending_header`. The head size is only summed when the server sets ``check_head_size``
    (when the bytes being fed could hold an oversized head at all).
    """

    __slots__ = (
        "parser",
        "ready",
        "client",
        "in_head",
        "in_body",
        "begun",
        "check_head_size",
        "_max_body",
        "_max_head",
        "_url",
        "_headers",
        "_body",
        "_body_size",
        "_connection_header",
    )

    def __init__(self, client: tuple[str, int], limits: HttpLimits) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.ready: deque[Request] = deque()
        self.client = client
        self.in_head = False
        self.in_body = False
        self.begun = 0
        self.check_head_size = True
        self._max_body = limits.max_body_bytes
        self._max_head = limits.max_header_bytes
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: bytes | bytearray = b""
        self._body_size = 0
        self._connection_header = False

    def feed(self, data: bytes) -> None:
        """Parse ``data``. Raises httptools' errors, `HttpParserUpgrade`, or wraps `LimitExceeded`."""
        self.parser.feed_data(data)

    def pending_header(self, name: bytes) -> bytes | None:
        """Last value of header ``name`` (lowercase) of the request being received, or None."""
        found = None
        for n, v in self._headers:
            if len(n) == len(name) and n.lower() == name:
                found = v
        return found

    def pending_http11(self) -> bool:
        return self.parser.get_http_version() == "1.1"

    # -- httptools callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.begun += 1
        self.in_head = True
        self._url = b""
        self._headers = []
        self._connection_header = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        if len(name) == 10 and name.lower() == b"connection":
            self._connection_header = True

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.in_body = True
        self._body = b""
        self._body_size = 0
        if self.check_head_size:
            size = len(self._url) + 16
            for n, v in self._headers:
                size += len(n) + len(v) + 4
            if size > self._max_head:
                raise LimitExceeded(431, "Request header fields too large")

    def on_body(self, chunk: bytes) -> None:
        size = self._body_size + len(chunk)
        if size > self._max_body:
            raise LimitExceeded(413, "Request body too large")
        self._body_size = size
        body = self._body
        if not body:
            self._body = chunk
        elif isinstance(body, bytearray):
            body += chunk
        else:
            self._body = bytearray(body) + chunk

    def on_message_complete(self) -> None:
        self.in_body = False
        parser = self.parser
        method = parser.get_method()
        body = self._body
        keep_alive = parser.should_keep_alive()
        # HTTP/1.0 only keeps a connection alive when asked to with a Connection header, so without
        # one a keep-alive request is HTTP/1.1 (get_http_version formats a string: skip it).
        if keep_alive and not self._connection_header:
            version = "1.1"
        else:
            version = parser.get_http_version()
        self.ready.append(
            Request(
                _METHODS.get(method) or method.decode("latin-1"),
                self._url.decode("utf-8", "surrogateescape"),
                self._headers,
                body if type(body) is bytes else bytes(body),
                self.client,
                version,
                keep_alive,
            )
        )
