"""Request, Headers, query parsing, Response builders and wire encoding, without sockets."""

from __future__ import annotations

import msgspec
import pytest

from runtime.http import Headers, HTTPError, Request, Response, json_response, text_response
from runtime.http.request import parse_query
from runtime.http.serialize import encode_response


def test_query_keeps_blank_flags_and_repeats() -> None:
    q = parse_query("recurse&keys=&dc=dc1&tag=a&tag=b&&separator=%2F&note=a+b")
    assert q == {
        "recurse": [""],
        "keys": [""],
        "dc": ["dc1"],
        "tag": ["a", "b"],
        "separator": ["/"],
        "note": ["a b"],
    }
    assert parse_query("") == {}


def test_request_query_helpers() -> None:
    req = Request("GET", "/v1/kv/foo?recurse&stale=false&dc=dc1&dc=dc2&wait=")
    assert "recurse" in req.query
    assert req.flag("recurse") is True
    assert req.flag("stale") is False  # present but "false"
    assert req.flag("consistent") is False  # absent
    assert req.arg("dc") == "dc1"
    assert req.query["dc"] == ["dc1", "dc2"]
    assert req.arg("wait") == ""  # blank, not the default
    assert req.arg("index", "0") == "0"


def test_path_is_decoded_and_raw_path_kept() -> None:
    req = Request("GET", "/v1/kv/a%2Fb/c%20d?x=1")
    assert req.path == "/v1/kv/a/b/c d"
    assert req.raw_path == "/v1/kv/a%2Fb/c%20d"
    assert req.raw_query == "x=1"
    assert req.target == "/v1/kv/a%2Fb/c%20d?x=1"


def test_absolute_form_target() -> None:
    req = Request("GET", "http://example.com:8500/v1/status/leader?pretty")
    assert req.raw_path == "/v1/status/leader"
    assert req.flag("pretty")


def test_headers_case_insensitive_last_wins_and_getall() -> None:
    req = Request(
        "GET",
        "/",
        [(b"X-Consul-Token", b"one"), (b"Accept", b"*/*"), (b"x-consul-token", b"two")],
    )
    assert req.header("X-CONSUL-TOKEN") == "two"
    assert req.headers["x-consul-token"] == "two"
    assert "Accept" in req.headers and "accept" in req.headers
    assert req.headers.getall("X-Consul-Token") == ["one", "two"]
    assert req.headers.getall("accept") == ["*/*"]
    assert req.headers.getall("missing") == []
    assert req.header("missing", "dflt") == "dflt"


def test_headers_from_mapping() -> None:
    h = Headers({"Content-Type": "text/plain"}.items())
    assert h["content-type"] == "text/plain"
    req = Request("PUT", "/x", {"X-A": "1"}, b"body")
    assert req.header("x-a") == "1" and req.body == b"body"


def test_request_json_decodes_or_raises_400() -> None:
    assert Request("PUT", "/", body=b'{"a": 1}').json() == {"a": 1}

    class Svc(msgspec.Struct):
        Name: str

    assert Request("PUT", "/", body=b'{"Name": "web"}').json(Svc) == Svc(Name="web")
    with pytest.raises(HTTPError) as err:
        Request("PUT", "/", body=b"{nope").json()
    assert err.value.status == 400 and err.value.message.startswith("Request decode failed")
    with pytest.raises(HTTPError):
        Request("PUT", "/", body=b'{"Name": 3}').json(Svc)


def test_json_response_plain_and_pretty() -> None:
    resp = json_response({"b": [1, 2], "a": None})
    assert resp.status == 200 and resp.content_type == "application/json"
    assert resp.body == b'{"b":[1,2],"a":null}'
    pretty = json_response({"a": [1]}, pretty=True)
    assert pretty.body == b'{\n    "a": [\n        1\n    ]\n}\n'


def test_text_and_error_responses_are_plain_text() -> None:
    resp = text_response("hello", 201)
    assert (resp.status, resp.body, resp.content_type) == (201, b"hello", "text/plain; charset=utf-8")
    err = HTTPError(403, "Permission denied", {"X-Why": "acl"}).response()
    assert err.status == 403 and err.body == b"Permission denied"
    assert err.content_type.startswith("text/plain") and err.headers == {"X-Why": "acl"}


def test_encode_response_framing() -> None:
    wire = encode_response(Response(200, b'"ok"', {"X-Consul-Index": 7}))  # type: ignore[dict-item]
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"Content-Type: application/json" in lines
    assert b"Content-Length: 4" in lines
    assert b"X-Consul-Index: 7" in lines
    assert body == b'"ok"'

    empty = encode_response(Response(200), keep_alive=False)
    assert b"Content-Type" not in empty  # no body, no content type
    assert b"Content-Length: 0\r\n" in empty and empty.endswith(b"Connection: close\r\n\r\n")

    http10 = encode_response(Response(204), keep_alive=True, http10=True)
    assert b"Connection: keep-alive\r\n" in http10

    head_only = encode_response(Response(200, b"12345"), head_only=True)
    assert head_only.endswith(b"\r\n\r\n") and b"Content-Length: 5" in head_only

    # the server owns framing headers; content type may be overridden through headers
    custom = encode_response(Response(200, b"x", {"content-length": "99", "Content-Type": "text/csv"}))
    assert b"99" not in custom and b"Content-Type: text/csv" in custom

    unknown = encode_response(Response(299))
    assert unknown.startswith(b"HTTP/1.1 299 Unknown\r\n")


def test_encode_refuses_header_injection() -> None:
    with pytest.raises(ValueError):
        encode_response(Response(200, b"", {"X-Evil": "a\r\nSet-Cookie: x=1"}))
