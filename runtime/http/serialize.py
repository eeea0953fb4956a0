"""Turns a `Response` into HTTP/1.1 bytes.

What lives here: status lines, header encoding (with CR/LF injection refused), ``Content-Length``
framing, the ``Connection`` header, a few canned byte strings the server sends without a router, and a
small cache of encoded heads for `Response.repeated` answers (one write that wakes 10,000 watchers
of one key makes 10,000 equal heads).

What must never live here: IO, routing, or decisions about *whether* to keep a connection alive.
"""

from __future__ import annotations

from http import HTTPStatus

from .response import TEXT_PLAIN, Response

_STATUS_LINES: dict[int, str] = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n" for s in HTTPStatus}
# Names a response may not set itself: the server frames the message.
_OWNED = frozenset({"content-length", "connection", "transfer-encoding", "content-type"})

CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"


def status_line(status: int) -> str:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} Unknown\r\n"
    return line


_HEADS: dict[tuple, bytes] = {}  # encoded heads of `Response.repeated` responses, by what they are made of
_HEADS_LIMIT = 256  # then the cache starts afresh: it only has to span one burst of equal answers


def encode_response(
    resp: Response, keep_alive: bool = True, http10: bool = False, head_only: bool = False
) -> bytes:
    """The full response as bytes (head and body; body omitted for HEAD but still counted).

    Raises ValueError when a header name or value contains CR or LF.
    """
    body = resp.body
    if resp.repeated:
        # Everything the head is made of; equal keys give equal heads, so a hit is always right.
        key = (resp.status, resp.content_type, len(body), keep_alive, http10, *resp.headers.items())
        try:
            head = _HEADS.get(key)
        except TypeError:  # an unhashable header value: encode as usual
            head = None
            key = None
        if head is None:
            head = encode_head(resp, keep_alive, http10)
            if key is not None:
                if len(_HEADS) >= _HEADS_LIMIT:
                    _HEADS.clear()
                _HEADS[key] = head
    else:
        head = encode_head(resp, keep_alive, http10)
    if head_only or not body:
        return head
    return head + body


def encode_head(resp: Response, keep_alive: bool = True, http10: bool = False) -> bytes:
    """Status line and headers, with the blank line that ends them."""
    body = resp.body
    parts = [status_line(resp.status)]
    content_type = resp.content_type
    if resp.headers:
        for name, value in resp.headers.items():
            value = str(value)
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                raise ValueError(f"illegal character in response header {name!r}")
            if name.lower() in _OWNED:
                if name.lower() == "content-type":
                    content_type = value
                continue
            parts.append(f"{name}: {value}\r\n")
    if body:
        parts.append(f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n")
    else:
        parts.append("Content-Length: 0\r\n")
    if not keep_alive:
        parts.append("Connection: close\r\n\r\n")
    elif http10:
        parts.append("Connection: keep-alive\r\n\r\n")
    else:
        parts.append("\r\n")
    return "".join(parts).encode()


def canned(status: int, message: str) -> bytes:
    """A complete plain-text response that closes the connection, for errors raised before routing."""
    body = message.encode()
    return (
        f"{status_line(status)}Content-Type: {TEXT_PLAIN}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
