"""Feeds bytes to httptools (llhttp) and assembles finished `Request` objects, in order.

What lives here: `RequestAssembler`, one per connection: it owns the ``HttpRequestParser``, receives its
callbacks, enforces the header and body size limits while parsing, and appends each complete request
to ``ready`` (several per read when a client pipelines). The body limit of a request is the server's
``max_body_bytes`` unless ``limit_for`` (the router's `Router.body_limit`) names one for its method and
route; it is looked up once per request, and only for requests that have a body.
`LimitExceeded` is what a callback raises to stop the parser with a specific status.

What must never live here: IO, timeouts, routing or response writing; the server loop does those.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import httptools

from .limits import HttpLimits
from .request import Request
from .router import BodyLimit

LimitFor = Callable[[str, str], "BodyLimit | None"]  # (method, request target) -> the route's body limit

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
        "_limit_for",
        "_limit",
        "_declared",
        "_url",
        "_headers",
        "_body",
        "_body_size",
        "_connection_header",
    )

    def __init__(self, client: tuple[str, int], limits: HttpLimits, limit_for: LimitFor | None = None) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.ready: deque[Request] = deque()
        self.client = client
        self.in_head = False
        self.in_body = False
        self.begun = 0
        self.check_head_size = True
        self._max_body = limits.max_body_bytes
        self._max_head = limits.max_header_bytes
        self._limit_for = limit_for
        self._limit = -1  # body limit of the request being received; -1: not looked up yet
        self._declared: BodyLimit | None = None  # the route's declaration behind _limit, if any
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

    def body_limit(self) -> int:
        """The body limit of the request being received (its route's, else the server's)."""
        limit = self._limit
        if limit < 0:
            declared = None
            if self._limit_for is not None:
                method = self.parser.get_method()
                declared = self._limit_for(
                    _METHODS.get(method) or method.decode("latin-1"), self._url.decode("utf-8", "surrogateescape")
                )
            self._declared = declared
            limit = self._limit = self._max_body if declared is None else declared.max_bytes
        return limit

    def too_large(self) -> str:
        """The 413 text for the request being received (call `body_limit` first)."""
        if self._declared is None:
            return "Request body too large"
        announced = self.pending_header(b"content-length")
        try:
            length = int(announced) if announced is not None else None
        except ValueError:
            length = None
        return self._declared.message(length)

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
        self._limit = -1
        if self.check_head_size:
            size = len(self._url) + 16
            for n, v in self._headers:
                size += len(n) + len(v) + 4
            if size > self._max_head:
                raise LimitExceeded(431, "Request header fields too large")

    def on_body(self, chunk: bytes) -> None:
        size = self._body_size + len(chunk)
        limit = self._limit
        if limit < 0:
            limit = self.body_limit()
        if size > limit:
            raise LimitExceeded(413, self.too_large())
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
