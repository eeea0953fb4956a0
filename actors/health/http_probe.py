"""The HTTP check: one request with a small HTTP/1.1 client on Trio (httptools parses the response).

Consul's rules: ``GET`` unless ``Method`` says otherwise, the check's ``Header`` (name → list of values)
and ``Body`` are sent, redirects are followed (at most 10) unless ``DisableRedirects``; a 2xx answer is
passing, 429 is warning, anything else is critical. The output is
``HTTP <METHOD> <url>: <code> <reason> Output: <body>`` with at most ``OutputMaxSize`` bytes of the body
(only that much is read). A transport failure or the timeout is critical, with Go's error text
(``Get "<url>": dial tcp ...: connect: connection refused``, ``... context deadline exceeded``). HTTPS is
verified unless ``TLSSkipVerify``; ``TLSServerName`` overrides the name sent and checked.

What must never live here: scheduling, status folding, or state.
"""

from __future__ import annotations

import ssl
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import httptools
import trio

from actors.local.records import CheckSpec

from .net import dial_error
from .result import ProbeResult, critical, passing, warning

MAX_REDIRECTS = 10
USER_AGENT = "Consul Health Check"
ACCEPT = "text/plain, text/*, */*"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Failure(Exception):
    """A transport-level failure, already worded."""


class _Response(NamedTuple):
    status: int
    reason: str
    location: str
    body: bytes


class _Collector:
    """httptools callbacks: status line, the Location header, and a bounded body."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reason = b""
        self.location = b""
        self._header = b""
        self.body = bytearray()
        self.headers_done = False
        self.complete = False

    def on_status(self, data: bytes) -> None:
        self.reason += data

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"location":
            self.location = value

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, data: bytes) -> None:
        room = self.limit - len(self.body)
        if room > 0:
            self.body += data[:room]

    def on_message_complete(self) -> None:
        self.complete = True


def _request_bytes(method: str, url: str, spec: CheckSpec, body: bytes) -> tuple[bytes, str, int, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _Failure(f'unsupported protocol scheme "{parts.scheme}"')
    if not parts.hostname:
        raise _Failure("no Host in request URL")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1"]
    names = {name.lower() for name in spec.header}
    if "host" not in names:
        lines.append(f"Host: {parts.netloc}")
    for name, values in spec.header.items():
        lines.extend(f"{name}: {value}" for value in values)
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in names:
        lines.append(f"Accept: {ACCEPT}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    return head + body, parts.hostname, port, https


def _tls_context(spec: CheckSpec) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if spec.tls_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def _exchange(method: str, url: str, spec: CheckSpec, body: bytes, limit: int) -> _Response:
    request, host, port, https = _request_bytes(method, url, spec, body)
    address = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
    except OSError as err:
        raise _Failure(dial_error(address, err)) from None
    try:
        if https:
            tls = trio.SSLStream(stream, _tls_context(spec), server_hostname=spec.tls_server_name or host,
                                 https_compatible=True)
            await tls.do_handshake()
            stream = tls
        await stream.send_all(request)
        collector = _Collector(limit)
        parser = httptools.HttpResponseParser(collector)
        while not collector.complete:
            data = await stream.receive_some(65536)
            if not data:
                break
            parser.feed_data(data)
            if collector.headers_done and (method == "HEAD" or len(collector.body) >= limit):
                break
        if not collector.headers_done:
            raise _Failure("EOF")
        return _Response(parser.get_status_code(), collector.reason.decode("latin-1"),
                         collector.location.decode("latin-1"), bytes(collector.body))
    except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError) as err:
        raise _Failure(str(err) or type(err).__name__) from None
    except httptools.HttpParserError as err:
        raise _Failure(f"malformed HTTP response: {err}") from None
    finally:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(stream)


async def http_probe(spec: CheckSpec, timeout: float) -> ProbeResult:
    method = (spec.method or "GET").upper()
    op = method[:1] + method[1:].lower()  # how Go's url.Error names the request
    url = spec.http
    body = spec.body.encode()
    try:
        with trio.fail_after(timeout):
            current, verb = url, method
            for _ in range(MAX_REDIRECTS + 1):
                response = await _exchange(verb, current, spec, body, spec.output_limit)
                if spec.disable_redirects or response.status not in _REDIRECTS or not response.location:
                    break
                current = urljoin(current, response.location)
                if response.status == 303 or (response.status in (301, 302) and verb == "POST"):
                    verb, body = "GET", b""
            else:
                return critical(f'{op} "{current}": stopped after {MAX_REDIRECTS} redirects')
    except trio.TooSlowError:
        return critical(f'{op} "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)')
    except _Failure as err:
        return critical(f'{op} "{url}": {err}')
    text = response.body.decode("utf-8", errors="replace")
    output = f"HTTP {method} {url}: {response.status} {response.reason} Output: {text}"
    if 200 <= response.status < 300:
        return passing(output)
    if response.status == 429:
        return warning(output)
    return critical(output)
