"""HTTP request heads, paths, headers and query strings, fuzzed.

* The request assembler (httptools plus our size limits) fed arbitrary bytes in arbitrary pieces raises
  only the parser's errors or a `LimitExceeded`, and every request it completes can be inspected (path,
  query, headers) without an exception.
* A live agent, over real loopback sockets, answers arbitrary heads (methods, targets with traversal,
  ``%2F``, ``%00``, non-UTF-8 bytes, odd headers, conflicting framing) with well-formed responses: below
  500 unless the 500 is a deliberate one, a Content-Type on every response that has a body, no crash.
* Every read endpoint with arbitrary query strings: same rules; the query parsers themselves (unsigned
  integers, durations, ``index``/``wait``/``max_stale``) raise only `HTTPError` 400 / `ValueError`.
"""

from __future__ import annotations

import string
from urllib.parse import quote

import httptools
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from actors.api.query import parse_uint
from actors.state.durations import parse_duration_ns
from runtime.http import HTTPError, HttpLimits, Request
from runtime.http.parsing import LimitExceeded, RequestAssembler
from tests.fuzz.fuzzkit import AgentThread, MalformedResponse, fuzz_settings, raw_exchange

# -- the assembler, in process ---------------------------------------------------------------------------

GOOD = b"GET /v1/kv/a?recurse HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
TOKENS = [b"GET ", b"PUT ", b"POST ", b"/v1/kv/", b"%2F", b"%00", b"..", b"?", b"&", b"=", b" HTTP/1.1\r\n",
          b" HTTP/1.0\r\n", b"HTTP/9.9", b"Host: x\r\n", b"Content-Length: ", b"-1", b"99999999999999999999",
          b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: gzip, chunked\r\n", b"Expect: 100-continue\r\n",
          b"Upgrade: websocket\r\nConnection: Upgrade\r\n", b"\r\n", b"\n", b"\r", b"\x00", b"\xff", b" ", b":",
          b"0\r\n\r\n", b"5\r\nhello\r\n", b"ffffffffffffffff\r\n", GOOD]
byte_streams = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=24).map(b"".join),
    st.binary(max_size=200),
    st.builds(lambda data, i, b: data[:i] + bytes([b]) + data[i + 1:], st.just(GOOD * 2),
              st.integers(0, 2 * len(GOOD) - 1), st.integers(0, 255)),
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return [p for p in pieces if p]


@given(data=byte_streams, cuts=st.lists(st.integers(0, 10_000), max_size=6))
@fuzz_settings(weight=5.0)
def test_assembler_raises_only_parser_errors(data: bytes, cuts: list[int]) -> None:
    asm = RequestAssembler(("127.0.0.1", 1), HttpLimits(max_body_bytes=64, max_header_bytes=256))
    try:
        for piece in _split(data, cuts):
            asm.check_head_size = True
            asm.feed(piece)
    except httptools.HttpParserUpgrade:
        pass
    except httptools.HttpParserCallbackError as exc:
        assert isinstance(exc.__context__, LimitExceeded), repr(exc.__context__)
    except httptools.HttpParserError:
        pass
    for req in asm.ready:
        assert len(req.body) <= 64
        req.path, req.query, dict(req.headers), req.target, req.raw_headers  # noqa: B018 - must not raise


# -- heads over a socket -------------------------------------------------------------------------------

METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "FOO", "get", "G\x00T"]
PATHS = ["/v1/kv/a", "/v1/kv/../etc/passwd", "/v1/kv/a%2Fb", "/v1/kv/%2e%2e%2fx", "/v1/kv/..%2fx", "/v1/kv/a%00b",
         "/v1/kv/%ff%fe", "/v1/kv/ a ", "/v1/catalog/service/web", "/v1/catalog/service/%2F", "/v1/agent/self",
         "/v1/agent/service/a%2Fb", "/v1/health/service/x", "/v1/status/leader", "/v1/event/fire/x", "/v1/txn",
         "//v1//kv//a", "/v1/", "/", "*", "http://evil/v1/kv/a", "/v1/agent/actors", "/v1/session/info/..",
         "/v1/kv/" + "a" * 3000, "/v1/acl/token/self", "/v1/operator/raft/configuration"]
HEADER_NAMES = ["Host", "Content-Type", "X-Consul-Token", "Authorization", "Accept", "X-Forwarded-For", "Expect",
                "Connection", "Transfer-Encoding", "Content-Length", "Upgrade", "Sec-WebSocket-Key", "X-Huge"]
targets = st.one_of(
    st.sampled_from(PATHS),
    st.tuples(st.sampled_from(PATHS), st.text(max_size=20)).map(lambda t: t[0] + quote(t[1], safe="/?&=%")),
    st.text(alphabet=string.printable.replace(" ", "").replace("\r", "").replace("\n", ""), min_size=1,
            max_size=40).map(lambda t: "/v1/" + t),
)
header_values = st.one_of(st.sampled_from(["", "0", "-1", "chunked", "close", "keep-alive", "100-continue",
                                           "websocket", "Bearer x", "a" * 9000, "\u00e9", "x\r\nInjected: 1"]),
                          st.text(max_size=20))


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(METHODS))
    target = draw(targets)
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTX"]))
    lines = [f"{method} {target} {version}"]
    for name, value in draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_values), max_size=5)):
        lines.append(f"{name}: {value}")
    body = draw(st.binary(max_size=40))
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body
    if draw(st.booleans()):
        raw += GOOD.replace(b"GET", b"PUT")  # a pipelined second request
    return raw


def _check_replies(data: bytes, replies: list) -> None:
    for reply in replies:
        if reply.status >= 500:
            # 503/500 are only allowed for deliberate answers (e.g. no such datacenter)
            assert reply.status == 500 and reply.body.startswith((b"No path to datacenter", b"No cluster leader")), (data, reply)
        if reply.body:
            assert reply.headers.get("content-type"), (data, reply)


@given(data=heads())
@fuzz_settings(weight=1.0)
@example(data=b"GET /v1/kv/a%00b HTTP/1.1\r\nHost: x\r\n\r\n")
@example(data=b"PUT /v1/kv/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n")
@example(data=b"PUT /v1/kv/x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
def test_request_heads_over_a_socket(agent_thread: AgentThread, data: bytes) -> None:
    try:
        replies = raw_exchange(agent_thread.http_addr, data)
    except MalformedResponse as exc:
        pytest.fail(f"malformed response to {data!r}: {exc}")
    _check_replies(data, replies)
    agent_thread.assert_no_crash()


@given(data=byte_streams)
@fuzz_settings(weight=1.0)
def test_raw_bytes_over_a_socket(agent_thread: AgentThread, data: bytes) -> None:
    replies = raw_exchange(agent_thread.http_addr, data)
    _check_replies(data, replies)
    agent_thread.assert_no_crash()


# -- query strings -----------------------------------------------------------------------------------------

READ_TARGETS = ["/v1/kv/a", "/v1/kv/", "/v1/catalog/nodes", "/v1/catalog/services", "/v1/catalog/service/consul",
                "/v1/catalog/node/fuzz1", "/v1/catalog/node-services/fuzz1", "/v1/catalog/datacenters",
                "/v1/health/service/consul", "/v1/health/checks/consul", "/v1/health/node/fuzz1",
                "/v1/health/state/any", "/v1/health/state/bogus", "/v1/session/list", "/v1/session/node/fuzz1",
                "/v1/session/info/x", "/v1/agent/services", "/v1/agent/checks", "/v1/agent/self",
                "/v1/agent/members", "/v1/agent/service/x", "/v1/agent/health/service/name/consul",
                "/v1/event/list", "/v1/status/leader", "/v1/status/peers", "/v1/operator/raft/configuration",
                "/v1/operator/autopilot/health"]
PARAMS = ["index", "stale", "consistent", "cached", "max_stale", "dc", "filter", "recurse", "keys", "separator",
          "raw", "near", "node-meta", "tag", "passing", "pretty", "name", "wan", "segment", "ns", "partition",
          "token", "cas", "flags", "%00", "a%2Fb", ""]
VALUES = ["", "0", "1", "-1", "18446744073709551615", "18446744073709551616", "9" * 30, "9" * 5000, "1s", "10m",
          "-5s", "1x", "dc1", "dc2", "true", "false", "Node == fuzz1", "Service.Tags contains \"x\"", "((((",
          "\"unterminated", "a:b", "%ff", "%zz", "+", "%00", "not a filter at all =="]
queries = st.lists(st.tuples(st.sampled_from(PARAMS), st.one_of(st.sampled_from(VALUES), st.text(max_size=8))),
                   max_size=5).map(lambda pairs: "&".join(f"{k}={quote(v, safe='%')}" for k, v in pairs))


@given(target=st.sampled_from(READ_TARGETS), query=queries)
@fuzz_settings(weight=1.0)
@example(target="/v1/kv/a", query="index=" + "9" * 5000)
@example(target="/v1/kv/a", query="flags=" + "9" * 5000)
def test_query_strings_on_every_read_endpoint(agent_thread: AgentThread, target: str, query: str) -> None:
    # ``wait`` comes first (the first value wins) so a drawn ``index`` can never block for minutes.
    reply = agent_thread.request("GET", f"{target}?wait=5ms&{query}")
    _check_replies(query.encode(), [reply])
    if reply.status == 500:
        assert b"dc=" in query.encode() or b"No cluster leader" in reply.body, (target, query, reply)
    agent_thread.assert_no_crash()


@given(text=st.one_of(st.text(max_size=30), st.sampled_from(["9" * 5000, "0" * 50 + "1", "18446744073709551616"])))
@fuzz_settings(weight=10.0)
def test_uint_and_duration_parsers(text: str) -> None:
    try:
        value = parse_uint(text)
        assert 0 <= value <= 2**64 - 1
    except HTTPError as err:
        assert err.status == 400
    try:
        ns = parse_duration_ns(text)
        assert -(2**63) <= ns < 2**63
    except ValueError:
        pass


@given(target=st.text(max_size=40), method=st.text(min_size=1, max_size=5))
@fuzz_settings(weight=10.0)
def test_request_object_never_raises_on_any_target(target: str, method: str) -> None:
    req = Request(method, target or "/")
    req.path, req.query, req.target, req.arg("x"), req.flag("recurse")  # noqa: B018 - must not raise
