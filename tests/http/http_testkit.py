"""Helpers for the runtime.http tests: a raw HTTP/1.1 client that reads real bytes, and a test router.

The client parses responses itself (status line, headers, Content-Length body) rather than trusting
the server's own parser, and every read is bounded by a timeout so a broken server fails a test
instead of hanging it.
"""

from __future__ import annotations

import functools

import trio

from runtime.http import HTTPError, HttpLimits, Request, Response, Router, json_response, serve_http

READ_TIMEOUT = 5.0


class RawResponse:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode()

    def __repr__(self) -> str:
        return f"<RawResponse {self.status} {self.headers} {self.body[:80]!r}>"


class RawClient:
    """One TCP connection; send bytes, read responses in order."""

    def __init__(self, stream: trio.SocketStream, read_timeout: float = READ_TIMEOUT) -> None:
        self.stream = stream
        self.buf = b""
        self.read_timeout = read_timeout  # raise it above server timeouts under a MockClock

    @classmethod
    async def connect(cls, port: int, read_timeout: float = READ_TIMEOUT) -> "RawClient":
        return cls(await trio.open_tcp_stream("127.0.0.1", port), read_timeout)

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def _more(self) -> bool:
        with trio.fail_after(self.read_timeout):
            try:
                data = await self.stream.receive_some(65536)
            except trio.BrokenResourceError:  # connection reset counts as closed
                data = b""
        self.buf += data
        return bool(data)

    async def response(self, *, head_only: bool = False) -> RawResponse:
        """Read exactly one response (an interim ``100 Continue`` counts as one)."""
        while b"\r\n\r\n" not in self.buf:
            if not await self._more():
                raise EOFError(f"connection closed before a full response head; got {self.buf!r}")
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, code, *reason = lines[0].split(" ", 2)
        assert version == "HTTP/1.1", lines[0]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
        length = 0
        for name, value in headers:
            if name.lower() == "content-length":
                length = int(value)
        if head_only:
            length = 0
        while len(rest) < length:
            if not await self._more():
                raise EOFError("connection closed inside a response body")
            rest = self.buf.partition(b"\r\n\r\n")[2]
        self.buf = rest[length:]
        return RawResponse(int(code), reason[0] if reason else "", headers, rest[:length])

    async def request(self, method: str, target: str, body: bytes = b"", headers: str = "") -> RawResponse:
        head = f"{method} {target} HTTP/1.1\r\nHost: test\r\n{headers}"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        await self.send(head.encode() + b"\r\n" + body)
        return await self.response()

    async def is_closed(self) -> bool:
        """Read to EOF (bounded); True if the server closed without sending anything more."""
        while await self._more():
            pass
        return self.buf == b""

    async def aclose(self) -> None:
        await self.stream.aclose()


async def start_server(nursery: trio.Nursery, router: Router, **limits: object):  # noqa: ANN201
    return await nursery.start(
        functools.partial(serve_http, router, "127.0.0.1", 0, limits=HttpLimits(**limits))  # type: ignore[arg-type]
    )


def make_router() -> Router:
    router = Router()

    async def leader(req: Request) -> Response:
        return json_response("127.0.0.1:8300")

    async def kv(req: Request) -> Response:
        return json_response(
            {
                "method": req.method,
                "key": req.params["key"],
                "path": req.path,
                "raw_path": req.raw_path,
                "query": req.query,
                "body": req.body.decode(),
            }
        )

    async def service(req: Request) -> Response:
        return json_response({"id": req.params["id"]})

    async def register(req: Request) -> Response:
        return json_response("registered")

    async def echo_body(req: Request) -> Response:
        return Response(200, req.body, content_type="application/octet-stream")

    async def boom(req: Request) -> Response:
        raise RuntimeError("kaboom: the handler fell over")

    async def teapot(req: Request) -> Response:
        raise HTTPError(418, "I'm a teapot, short and stout", {"X-Teapot": "yes"})

    async def pretty(req: Request) -> Response:
        return json_response({"a": [1, 2]}, pretty=req.flag("pretty"))

    router.add("GET", "/v1/status/leader", leader)
    router.add(["GET", "PUT", "DELETE"], "/v1/kv/{key:path}", kv)
    router.add("GET", "/v1/agent/service/{id}", service)
    router.add("PUT", "/v1/agent/service/register", register)
    router.add(["POST", "PUT"], "/echo", echo_body)
    router.add("GET", "/boom", boom)
    router.add("GET", "/teapot", teapot)
    router.add("GET", "/pretty", pretty)
    return router
