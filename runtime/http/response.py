"""What a handler returns (or raises): `Response`, its JSON and text builders, and `HTTPError`.

Error bodies are always plain text (``text/plain; charset=utf-8``), never JSON, because that is what
Consul clients expect to read back.

What must never live here: wire encoding (see ``serialize``), routing, IO, or anything Consul specific.
"""

from __future__ import annotations

from typing import Any, Mapping

import msgspec

TEXT_PLAIN = "text/plain; charset=utf-8"
APPLICATION_JSON = "application/json"

_json_encode = msgspec.json.Encoder().encode


class Response:
    """Status, body bytes, extra headers and content type.

    ``headers`` is a plain dict owned by the response (after-hooks add to it). ``Content-Length`` and
    ``Connection`` are the server's business and are ignored if set here; set the content type through
    ``content_type``. ``Content-Type`` is only sent when the body is non-empty.

    ``repeated`` (off by default) says that many responses with this very status and these headers are
    expected at about the same time (one answer shared by many waiters): the server then keeps the
    encoded head in a small cache keyed by everything it is made of, and encodes it once.
    """

    __slots__ = ("status", "body", "headers", "content_type", "repeated")

    def __init__(
        self,
        status: int = 200,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        content_type: str = APPLICATION_JSON,
    ) -> None:
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = {} if headers is None else headers
        self.content_type = content_type
        self.repeated = False

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)}B>"


def json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None, pretty: bool = False
) -> Response:
    """Encode ``obj`` with msgspec; ``pretty`` gives 4-space indentation and a trailing newline."""
    body = _json_encode(obj)
    if pretty:
        body = msgspec.json.format(body, indent=4) + b"\n"
    return Response(status, body, headers)


def text_response(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode(), headers, TEXT_PLAIN)


class HTTPError(Exception):
    """Raise from a handler (or hook) to answer ``status`` with ``message`` as plain text."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers) if headers else {}

    def response(self) -> Response:
        return text_response(self.message, self.status, dict(self.headers))
