"""The HTTP abuse limits, checked against a live ``-dev`` agent over real loopback sockets.

* ``limits.http_max_conns_per_client`` (200): 200 connections from 127.0.0.1, each holding a blocking
  query, are all served; the 201st from that address gets 429 and is closed; 127.0.0.2 is still served.
  Consul has no separate cap on blocking queries: each one holds a connection, so this cap (and the
  server-wide ``max_connections``, 4096) is what bounds them, per client and in total.
* Bodies (CVE-2025-11374 / -11375): a huge announced Content-Length is refused with 413 before any of it
  is sent; a negative or malformed one is 400; a chunked body over the server limit is 413 while it is
  still arriving; a KV value over ``kv_max_value_size`` is 413; an event payload over Serf's limit is
  refused; a refused body never leaves a key behind.
* Headers over ``max_header_bytes`` get 431.
* Every response with a body carries an explicit Content-Type (CVE-2024-10086), errors included (empty
  answers carry none, as in Consul), and
  ``?raw`` KV reads are served as ``text/plain`` with ``X-Content-Type-Options: nosniff`` whatever the
  stored bytes (CVE-2020-25864).
* Slowloris: many clients dribbling a head byte by byte are cut at ``header_timeout`` (virtual time) while
  a normal client is served at once; a body dribbled slower than ``idle_timeout`` is cut too.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack

import pytest
import trio

from runtime.http import HttpLimits
from tests.fuzz.fuzzkit import IO_TIMEOUT, AgentThread, parse_responses, raw_exchange
from tests.http.http_testkit import RawClient, make_router, start_server

FOREVER = 10_000.0


def _open(addr: tuple[str, int], source: str) -> socket.socket:
    sock = socket.create_connection(addr, timeout=IO_TIMEOUT, source_address=(source, 0))
    return sock


def _read_reply(sock: socket.socket) -> bytes:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_per_client_connection_cap_bounds_blocking_queries(agent_thread: AgentThread) -> None:
    addr = agent_thread.http_addr
    cap = agent_thread.ctx.config.limits.http_max_conns_per_client  # type: ignore[union-attr]
    assert cap == 200
    index = agent_thread.request("GET", "/v1/kv/?recurse").headers["x-consul-index"]
    with ExitStack() as stack:
        held = []
        for _ in range(cap):
            sock = stack.enter_context(_open(addr, "127.0.0.1"))
            sock.sendall(b"GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_reply(sock).startswith(b"HTTP/1.1 200 ")  # served, so counted by the server
            # ... and now parked in a blocking query that will not return during the test
            sock.sendall(f"GET /v1/kv/limits-never?index={index}&wait=60s HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            held.append(sock)
        extra = stack.enter_context(_open(addr, "127.0.0.1"))
        refused = parse_responses(_read_reply(extra))
        assert refused[0].status == 429, refused
        assert refused[0].headers["connection"] == "close"
        assert extra.recv(1) == b""  # and closed
        other = agent_thread.request("GET", "/v1/status/leader", source="127.0.0.2")
        assert other.status == 200
        # Wake every parked query (a write from the other address): each of the 200 answers, which
        # proves they were all live, and frees its slot. (A client that just hangs up frees its slot
        # too, within ``hangup_grace``: see test_hanging_up_during_a_blocking_query_frees_the_slot.)
        assert agent_thread.request("PUT", "/v1/kv/limits-never", b"x", source="127.0.0.2").status == 200
        for sock in held:
            assert _read_reply(sock).startswith(b"HTTP/1.1 200 ")
    agent_thread.assert_healthy()


def _http_server_stats(agent: AgentThread) -> dict:
    """The HTTP listener's counters (`HttpServer.statistics`), read in the agent's loop."""
    snapshot = agent.run_sync_in_agent(agent.ctx.tree.snapshot)  # type: ignore[union-attr]
    host, port = agent.http_addr
    stack = [snapshot]
    while stack:
        node = stack.pop()
        if node.stats.get("address") == f"{host}:{port}" and "open_connections" in node.stats:
            return node.stats
        stack.extend(node.children)
    raise AssertionError("no HTTP listener in the actor tree")


def test_hanging_up_during_a_blocking_query_frees_the_slot(agent_thread: AgentThread) -> None:
    """Go cancels a request's context when its connection closes; a parked query must not keep the
    client's slot (nor its memory) for the rest of its wait (``wait=5m`` here)."""
    import time

    addr = agent_thread.http_addr
    index = agent_thread.request("GET", "/v1/kv/?recurse").headers["x-consul-index"]
    before = _http_server_stats(agent_thread)
    with _open(addr, "127.0.0.3") as sock:
        sock.sendall(b"GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_reply(sock).startswith(b"HTTP/1.1 200 ")  # accepted and counted
        sock.sendall(f"GET /v1/kv/hangup-never?index={index}&wait=5m HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        held = _http_server_stats(agent_thread)
        assert held["open_connections"] == before["open_connections"] + 1
    # closed: the server must notice while the query is parked, within hangup_grace plus a tick or two
    deadline = time.monotonic() + HttpLimits().hangup_grace + 8.0
    while True:  # bounded polling of the server's own counter (real time: the agent runs in a thread)
        stats = _http_server_stats(agent_thread)
        if stats["open_connections"] == before["open_connections"]:
            break
        assert time.monotonic() < deadline, stats
        time.sleep(0.05)
    assert stats["hangups"] == before["hangups"] + 1
    agent_thread.assert_healthy()


@pytest.mark.parametrize(("head", "status"), [
    (b"PUT /v1/kv/big HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n", 413),
    (b"PUT /v1/kv/big HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
    (b"PUT /v1/kv/big HTTP/1.1\r\nContent-Length: -5\r\n\r\nhello", 400),
    (b"PUT /v1/kv/big HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    (b"PUT /v1/event/fire/big HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", 413),
    # Under the server's 4 MiB default but over the route's own limit: refused before the body too
    (b"PUT /v1/kv/big HTTP/1.1\r\nContent-Length: 600000\r\n\r\n", 413),
    (b"PUT /v1/txn HTTP/1.1\r\nContent-Length: 600000\r\n\r\n", 413),
    (b"PUT /v1/event/fire/big HTTP/1.1\r\nContent-Length: 301\r\n\r\n", 413),
])
def test_lying_content_length_is_refused_before_the_body(agent_thread: AgentThread, head: bytes,
                                                         status: int) -> None:
    with _open(agent_thread.http_addr, "127.0.0.1") as sock:
        sock.sendall(head)  # the body is never sent: the answer must not wait for it
        reply = parse_responses(_read_reply(sock))[0]
    assert reply.status == status, reply
    assert reply.headers["content-type"].startswith("text/plain")
    assert agent_thread.request("GET", "/v1/kv/big").status == 404
    agent_thread.assert_no_crash()


def test_chunked_body_over_the_server_limit_is_413_while_arriving(agent_thread: AgentThread) -> None:
    chunk = b"x" * 65536
    with _open(agent_thread.http_addr, "127.0.0.1") as sock:
        sock.sendall(b"PUT /v1/kv/big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        try:
            while sent < 64 * 1024 * 1024:  # bounded: 16 x the server limit
                sock.sendall(b"10000\r\n" + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = parse_responses(_read_reply(sock))[0]
    # The server refuses once past its limit, then only drains (discarding) up to 8 MiB so the client
    # can read the answer, and closes: the client's sends fail long before the 64 MiB it had ready
    # (what it got through also fills the kernel's socket buffers, hence no tighter bound).
    assert reply.status == 413 and sent < 64 * 1024 * 1024, (reply, sent)
    assert agent_thread.request("GET", "/v1/kv/big").status == 404


def test_kv_value_over_kv_max_value_size_is_413_and_not_stored(agent_thread: AgentThread) -> None:
    limit = agent_thread.ctx.config.limits.kv_max_value_size  # type: ignore[union-attr]
    for framing in ("length", "chunked"):
        body = b"v" * (limit + 1)
        if framing == "length":
            data = b"PUT /v1/kv/big HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        else:
            data = (b"PUT /v1/kv/big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        reply = raw_exchange(agent_thread.http_addr, data)[0]
        assert reply.status == 413 and b"too large" in reply.body, (framing, reply)
    assert agent_thread.request("GET", "/v1/kv/big").status == 404
    assert agent_thread.request("PUT", "/v1/kv/big", b"v" * limit).status == 200  # exactly at the limit


def test_event_payload_over_the_gossip_limit_is_refused(agent_thread: AgentThread) -> None:
    reply = agent_thread.request("PUT", "/v1/event/fire/big", b"x" * 600)
    assert reply.status == 413 and b"limited to 300 bytes" in reply.body, reply
    names = [e["Name"] for e in agent_thread.json("GET", "/v1/event/list")]
    assert "big" not in names
    assert agent_thread.request("PUT", "/v1/event/fire/at-limit", b"x" * 300).status == 200


def test_route_limits_refuse_before_buffering_with_consuls_texts(agent_thread: AgentThread) -> None:
    """CVE-2025-11374: the KV PUT route's limit is kv_max_value_size, checked on the announced length
    before any of the body is read; the text is Consul's kvs_endpoint.go one."""
    with _open(agent_thread.http_addr, "127.0.0.1") as sock:
        sock.sendall(b"PUT /v1/kv/big HTTP/1.1\r\nContent-Length: 524289\r\nExpect: 100-continue\r\n\r\n")
        reply = parse_responses(_read_reply(sock))[0]  # no 100 Continue first: refused outright
    assert reply.status == 413, reply
    assert reply.body.startswith(b"Request body(524289 bytes) too large, max size: 524288 bytes. See https://"), reply
    with _open(agent_thread.http_addr, "127.0.0.1") as sock:
        sock.sendall(b"PUT /v1/txn HTTP/1.1\r\nContent-Length: 524289\r\n\r\n")
        reply = parse_responses(_read_reply(sock))[0]
    assert reply.status == 413 and b"txn_max_req_len" in reply.body, reply
    # the agent's registration endpoints take at most 512 KiB (SECVULN-50418), refused before reading
    for path in ("/v1/agent/service/register", "/v1/agent/check/register", "/v1/agent/check/update/x"):
        with _open(agent_thread.http_addr, "127.0.0.1") as sock:
            sock.sendall(f"PUT {path} HTTP/1.1\r\nContent-Length: 524289\r\n\r\n".encode())
            reply = parse_responses(_read_reply(sock))[0]
        assert reply.status == 413, (path, reply)
    # other routes keep the server's 4 MiB default: a 600 KB catalog body is read (and judged as JSON)
    reply = agent_thread.request("PUT", "/v1/catalog/register", b" " * 600_000 + b"{")
    assert reply.status == 400, reply
    agent_thread.assert_no_crash()


def test_kv_max_value_size_above_512k_is_honoured_end_to_end() -> None:
    """The state store no longer caps values at 512 KiB: the configured limit is the API's to enforce,
    and the store, deterministic on every replica, only has a protocol ceiling (8 MiB frames)."""
    import base64
    import json

    import msgspec

    from actors.state import MAX_VALUE_SIZE
    from tests.fuzz.fuzzkit import dev_config

    limit = 1024 * 1024
    assert MAX_VALUE_SIZE > limit
    cfg = dev_config()
    cfg = msgspec.structs.replace(cfg, limits=msgspec.structs.replace(cfg.limits, kv_max_value_size=limit))
    agent = AgentThread(cfg).start()
    try:
        value = bytes(range(256)) * (700 * 1024 // 256)  # 700 KiB: over the old hard-coded 512 KiB
        assert agent.request("PUT", "/v1/kv/big", value).status == 200
        got = agent.request("GET", "/v1/kv/big?raw")
        assert got.status == 200 and got.body == value
        ops = [{"KV": {"Verb": "set", "Key": "big2", "Value": base64.b64encode(value).decode()}}]
        reply = agent.request("PUT", "/v1/txn", json.dumps(ops).encode())  # txn's limit follows kv's
        assert reply.status == 200, reply
        assert agent.request("GET", "/v1/kv/big2?raw").body == value
        reply = agent.request("PUT", "/v1/kv/big", b"v" * (limit + 1))
        assert reply.status == 413 and b"max size: 1048576 bytes" in reply.body, reply
        agent.assert_no_crash()
    finally:
        agent.stop()


def test_oversized_headers_are_431(agent_thread: AgentThread) -> None:
    pad = b"a" * (HttpLimits().max_header_bytes + 1024)
    reply = raw_exchange(agent_thread.http_addr, b"GET /v1/status/leader HTTP/1.1\r\nX-Pad: " + pad + b"\r\n\r\n")[0]
    assert reply.status == 431 and reply.headers["content-type"].startswith("text/plain")


ERROR_REQUESTS = [("GET", "/v1/nope", b""), ("DELETE", "/v1/status/leader", b""), ("GET", "/v1/kv/", b""),
                  ("PUT", "/v1/catalog/register", b"{"), ("GET", "/v1/kv/a?index=x", b""),
                  ("GET", "/v1/catalog/nodes?dc=<script>", b""), ("GET", "/v1/kv/..%2f<script>", b""),
                  ("PUT", "/v1/txn", b"<script>alert(1)</script>"), ("GET", "/v1/agent/actors", b""),
                  ("GET", "/v1/status/leader", b""), ("GET", "/v1/agent/self", b""), ("OPTIONS", "/v1/kv/a", b"")]


@pytest.mark.parametrize(("method", "target", "body"), ERROR_REQUESTS)
def test_every_response_with_a_body_has_a_content_type(agent_thread: AgentThread, method: str, target: str,
                                                       body: bytes) -> None:
    reply = agent_thread.request(method, target, body)
    if reply.body:
        assert reply.headers.get("content-type") in ("application/json", "text/plain; charset=utf-8"), reply


def test_empty_answers_carry_no_content_type_as_in_consul(agent_thread: AgentThread) -> None:
    """CVE-2024-10086's fix (agent/http.go ``wrap``) sets Content-Type on every answer *with a body*: the
    JSON type for an encoded object, ``text/plain; charset=utf-8`` on every error path. An endpoint that
    returns no object (a KV miss: ``WriteHeader(404); return nil, nil``; an OPTIONS answer) gets none,
    and Go does not sniff an empty body. Nothing in an empty body can be misread as HTML, so we match."""
    miss = agent_thread.request("GET", "/v1/kv/no-such-key")
    assert miss.status == 404 and miss.body == b"" and "content-type" not in miss.headers, miss
    assert miss.headers["x-consul-index"]  # the blocking-query headers are still there
    options = agent_thread.request("OPTIONS", "/v1/kv/a")
    assert options.status == 200 and options.body == b"" and "content-type" not in options.headers, options
    listing = agent_thread.request("GET", "/v1/kv/no-such-prefix/?recurse")
    assert listing.status == 404 and listing.body == b"" and "content-type" not in listing.headers


@pytest.mark.parametrize("value", [b"<script>alert(1)</script>", b"<html><body onload=alert(1)>", b"\x00\xff",
                                   b'{"json": true}', b"%PDF-1.4"])
def test_raw_kv_reads_are_served_inert(agent_thread: AgentThread, value: bytes) -> None:
    assert agent_thread.request("PUT", "/v1/kv/raw-xss", value).status == 200
    reply = agent_thread.request("GET", "/v1/kv/raw-xss?raw")
    assert reply.status == 200 and reply.body == value
    assert reply.headers["content-type"] == "text/plain"
    assert reply.headers["x-content-type-options"] == "nosniff"


# -- slowloris, on virtual time ---------------------------------------------------------------------


async def test_slowloris_crowd_is_cut_and_a_normal_client_is_served(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery, make_router(), header_timeout=10.0, max_conns_per_client=0)
    cut: list[float] = []
    start = trio.current_time()

    async def dribbler() -> None:  # one head byte per second, never finishing
        client = await RawClient.connect(server.port, read_timeout=FOREVER)

        async def trickle() -> None:
            for byte in b"GET /v1/status/leader HTTP/1.1\r\nX-Slow: " + b"s" * 1000:
                try:
                    await client.send(bytes([byte]))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                await trio.sleep(1)

        async with trio.open_nursery() as inner:
            inner.start_soon(trickle)
            resp = await client.response()
            assert resp.status == 408
            assert await client.is_closed()
            cut.append(trio.current_time() - start)
            inner.cancel_scope.cancel()

    async with trio.open_nursery() as crowd:
        for _ in range(50):
            crowd.start_soon(dribbler)
        await trio.sleep(3)  # the crowd is mid-head (virtual time)
        normal = await RawClient.connect(server.port)
        before = trio.current_time()
        assert (await normal.request("GET", "/v1/status/leader")).status == 200
        assert trio.current_time() - before < 1.0
    assert len(cut) == 50 and all(10.0 <= t < 12.0 for t in cut), cut
    assert server.statistics().client_errors == 50  # one 408 per dribbler, nothing else refused


async def test_body_dribbled_slower_than_idle_timeout_is_cut(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery, make_router(), idle_timeout=5.0)
    client = await RawClient.connect(server.port, read_timeout=FOREVER)
    await client.send(b"PUT /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nab")
    start = trio.current_time()
    resp = await client.response()
    assert resp.status == 408 and resp.body == b"Timed out reading request body"
    assert 5.0 <= trio.current_time() - start < 7.0


def test_configured_txn_limit_above_the_server_default_is_honoured() -> None:
    import base64
    import json

    import msgspec

    from tests.fuzz.fuzzkit import dev_config

    cfg = dev_config()
    big = HttpLimits().max_body_bytes + 1024 * 1024  # 5 MiB: above the HTTP server's default cap
    cfg = msgspec.structs.replace(cfg, limits=msgspec.structs.replace(cfg.limits, txn_max_req_len=big))
    value = base64.b64encode(b"v" * 350_000).decode()  # each value under the store's 512 KiB
    ops = [{"KV": {"Verb": "set", "Key": f"t{i}", "Value": value}} for i in range(10)]
    body = json.dumps(ops).encode()
    assert HttpLimits().max_body_bytes < len(body) < big
    agent = AgentThread(cfg).start()
    try:
        reply = agent.request("PUT", "/v1/txn", body)
        assert reply.status == 200, reply
        reply = agent.request("PUT", "/v1/txn", body + b" " * (big - len(body) + 1))
        assert reply.status == 413, reply  # past every limit: refused by the server or the endpoint
    finally:
        agent.stop()


# -- the server port: rpc_max_conns_per_client, over real loopback sockets ---------------------------------


def _rpc_round_trip(sock: socket.socket, request_id: int) -> None:
    """One RPC on an open "rpc" stream: a body of no request type comes back as an RpcFailure with our id."""
    import msgspec

    from runtime.transport.frames import HEADER, encode_frame
    from runtime.transport.rpc_messages import RpcFailure, RpcReply, RpcRequest

    body = msgspec.Raw(msgspec.msgpack.encode(7))
    sock.sendall(encode_frame(msgspec.msgpack.encode(RpcRequest(id=request_id, body=body))))
    buf = b""
    while len(buf) < HEADER.size or len(buf) < HEADER.size + HEADER.unpack(buf[:HEADER.size])[1]:
        chunk = sock.recv(65536)
        assert chunk, "the server closed an admitted connection"
        buf += chunk
    reply = msgspec.msgpack.decode(buf[HEADER.size:], type=RpcReply)
    assert isinstance(reply, RpcFailure) and reply.id == request_id, reply


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _server_port_stats(agent: AgentThread) -> dict:
    snapshot = agent.run_sync_in_agent(agent.ctx.tree.snapshot)  # type: ignore[union-attr]
    host, port = agent.ctx.extras["server_addr"]  # type: ignore[union-attr]
    stack = [snapshot]
    while stack:
        node = stack.pop()
        if node.stats.get("address") == f"{host}:{port}":
            return node.stats
        stack.extend(node.children)
    raise AssertionError("no server-port listener in the actor tree")


def test_rpc_max_conns_per_client_on_the_server_port(agent_thread: AgentThread) -> None:
    import time

    from runtime.transport.hello import Hello, hello_frame

    addr = agent_thread.ctx.extras["server_addr"]  # type: ignore[union-attr]
    cap = agent_thread.ctx.config.limits.rpc_max_conns_per_client  # type: ignore[union-attr]
    assert cap == 100
    hello = hello_frame(Hello(kind="rpc", node="limits", dc="dc1"))
    with ExitStack() as stack:
        for i in range(cap):
            sock = stack.enter_context(_open(addr, "127.0.0.4"))
            sock.sendall(hello)
            _rpc_round_trip(sock, i)  # served, so counted, before the next one opens
        extra = stack.enter_context(_open(addr, "127.0.0.4"))
        try:
            extra.sendall(hello)
        except (BrokenPipeError, ConnectionResetError):
            pass  # already closed: as good
        assert _closed_by_server(extra)
        assert _server_port_stats(agent_thread)["errors"].get("too_many_client_connections") == 1
        with _open(addr, "127.0.0.5") as other:  # another address is served as usual
            other.sendall(hello)
            _rpc_round_trip(other, 1)
    # all closed: the address gets its slots back once the server has seen the closes (bounded polling)
    deadline = time.monotonic() + IO_TIMEOUT
    while True:
        with _open(addr, "127.0.0.4") as again:
            again.sendall(hello)
            try:
                _rpc_round_trip(again, 1)
                break
            except (AssertionError, ConnectionResetError):
                assert time.monotonic() < deadline, "127.0.0.4 never got a slot back"
        time.sleep(0.05)
    agent_thread.assert_no_crash()
