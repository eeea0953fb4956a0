"""Per-route body limits: a route declares the largest body it takes, the server refuses before buffering.

An announced Content-Length over the route's limit is answered 413 (with the route's text) before any
of the body is sent, ``Expect: 100-continue`` included; a chunked body is cut as soon as it grows past
the limit; other methods and routes keep the server's default; a route may also allow more than it.
"""

from __future__ import annotations

import pytest
import trio

from runtime.http import Request, Response, Router, json_response
from runtime.http.router import BodyLimit
from tests.http.http_testkit import RawClient, start_server


def _router() -> Router:
    router = Router()

    async def size(req: Request) -> Response:
        return json_response(len(req.body))

    router.add("PUT", "/small/{key:path}", size, max_body_bytes=1000,
               too_large=lambda announced, limit: f"small takes {limit} bytes, not {announced}")
    router.add("POST", "/small/{key:path}", size)  # same route, no declaration: the server's cap
    router.add("PUT", "/large", size, max_body_bytes=3000)  # above the server's cap below
    router.add("PUT", "/plain", size, max_body_bytes=10)  # no text: the server's
    return router


def test_body_limit_lookup_by_method_and_target() -> None:
    router = _router()
    limit = router.body_limit("PUT", "/small/a/b?cas=1")
    assert limit is not None and limit.max_bytes == 1000 and limit.message(5) == "small takes 1000 bytes, not 5"
    assert router.body_limit("POST", "/small/a") is None
    assert router.body_limit("PUT", "/nowhere") is None
    assert router.body_limit("PUT", "/plain") == BodyLimit(10)
    assert BodyLimit(10).message(None) == "Request body too large"

    async def nothing(req: Request) -> Response:
        return Response()

    with pytest.raises(ValueError):
        router.add("PUT", "/negative", nothing, max_body_bytes=-1)


async def test_announced_length_over_the_route_limit_is_refused_before_the_body(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, _router(), max_body_bytes=2000)
    client = await RawClient.connect(server.port)
    await client.send(b"PUT /small/k HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\nExpect: 100-continue\r\n\r\n")
    resp = await client.response()  # the body is never sent: the answer must not wait for it
    assert resp.status == 413 and resp.body == b"small takes 1000 bytes, not 1001"
    assert resp.headers["connection"] == "close"

    client = await RawClient.connect(server.port)
    assert (await client.request("PUT", "/small/k", b"x" * 1000)).body == b"1000"  # at the limit
    assert (await client.request("POST", "/small/k", b"x" * 1500)).body == b"1500"  # other method
    assert (await client.request("PUT", "/large", b"x" * 2500)).body == b"2500"  # above the server's cap
    resp = await client.request("PUT", "/plain", b"x" * 11)
    assert resp.status == 413 and resp.body == b"Request body too large"


async def test_chunked_body_is_cut_as_soon_as_it_passes_the_route_limit(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, _router())
    client = await RawClient.connect(server.port)
    await client.send(b"PUT /small/k HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    await client.send(b"258\r\n" + b"x" * 600 + b"\r\n")
    await client.send(b"258\r\n" + b"x" * 600 + b"\r\n")  # 1200 so far, and no last chunk yet
    resp = await client.response()
    assert resp.status == 413 and resp.body == b"small takes 1000 bytes, not None"
    assert server.statistics().client_errors == 1
