"""Router: matching, parameters, 404/405/OPTIONS, hooks and error answers, by calling dispatch directly."""

from __future__ import annotations

import logging

import msgspec
import pytest

from runtime.http import HTTPError, Request, Response, Router, json_response, text_response
from tests.http.http_testkit import make_router

NOT_FOUND = "Invalid URL path: not a recognized HTTP API endpoint"


async def test_exact_and_parameter_routes() -> None:
    router = make_router()
    resp = await router.dispatch(Request("GET", "/v1/status/leader"))
    assert resp.status == 200 and resp.body == b'"127.0.0.1:8300"'

    resp = await router.dispatch(Request("GET", "/v1/agent/service/web-1"))
    assert resp.body == b'{"id":"web-1"}'

    # exact beats pattern even though /v1/agent/service/{id} would match too
    resp = await router.dispatch(Request("PUT", "/v1/agent/service/register"))
    assert resp.body == b'"registered"'


async def test_path_parameter_keeps_encoded_slash_inside_one_segment() -> None:
    router = make_router()
    resp = await router.dispatch(Request("GET", "/v1/agent/service/web%2F1"))
    assert resp.status == 200 and resp.body == b'{"id":"web/1"}'
    # a real slash is a different path, and {id} is one segment only
    resp = await router.dispatch(Request("GET", "/v1/agent/service/web/1"))
    assert resp.status == 404


async def test_path_rest_parameter() -> None:
    router = make_router()
    req = Request("GET", "/v1/kv/app/config%2Fdb/url?recurse")
    resp = await router.dispatch(req)
    doc = msgspec.json.decode(resp.body)
    assert doc["key"] == "app/config/db/url"
    assert doc["raw_path"] == "/v1/kv/app/config%2Fdb/url"
    assert doc["query"] == {"recurse": [""]}
    assert req.params == {"key": "app/config/db/url"}

    empty = msgspec.json.decode((await router.dispatch(Request("GET", "/v1/kv/?recurse"))).body)
    assert empty["key"] == ""


async def test_not_found_is_plain_text_with_configured_message() -> None:
    router = make_router()
    resp = await router.dispatch(Request("GET", "/v1/nothing/here"))
    assert resp.status == 404
    assert resp.body.decode() == NOT_FOUND
    assert resp.content_type == "text/plain; charset=utf-8"

    custom = Router(not_found_message="nope")
    assert (await custom.dispatch(Request("GET", "/"))).body == b"nope"


async def test_wrong_method_is_405_with_allow() -> None:
    router = make_router()
    resp = await router.dispatch(Request("POST", "/v1/kv/foo"))
    assert resp.status == 405
    assert resp.headers["Allow"] == "DELETE,GET,PUT,OPTIONS"
    assert resp.content_type.startswith("text/plain")
    assert b"POST" in resp.body


async def test_options_answers_allow_and_empty_body() -> None:
    router = make_router()
    resp = await router.dispatch(Request("OPTIONS", "/v1/status/leader"))
    assert resp.status == 200 and resp.body == b""
    assert resp.headers == {"Allow": "GET,OPTIONS"}
    assert (await router.dispatch(Request("OPTIONS", "/nowhere"))).status == 404


async def test_http_error_and_crash_answers(caplog: pytest.LogCaptureFixture) -> None:
    router = make_router()
    resp = await router.dispatch(Request("GET", "/teapot"))
    assert resp.status == 418 and resp.body == b"I'm a teapot, short and stout"
    assert resp.headers["X-Teapot"] == "yes" and resp.content_type.startswith("text/plain")

    with caplog.at_level(logging.ERROR, logger="proconsul.http"):
        resp = await router.dispatch(Request("GET", "/boom"))
    assert resp.status == 500
    assert resp.body == b"kaboom: the handler fell over"
    assert resp.content_type.startswith("text/plain")
    assert any(r.name == "proconsul.http" and r.exc_info for r in caplog.records)


async def test_handler_must_return_a_response() -> None:
    router = Router()

    async def sloppy(req: Request) -> Response:
        return {"not": "a response"}  # type: ignore[return-value]

    router.add("GET", "/sloppy", sloppy)
    resp = await router.dispatch(Request("GET", "/sloppy"))
    assert resp.status == 500 and b"not Response" in resp.body


async def test_before_hooks_short_circuit_and_after_hooks_see_everything() -> None:
    router = make_router()
    seen: list[str] = []

    async def acl(req: Request) -> Response | None:
        seen.append(req.path)
        if req.header("X-Consul-Token") == "bad":
            raise HTTPError(403, "Permission denied")
        if req.header("X-Consul-Token") == "anon":
            return text_response("anonymous blocked", 401)
        return None

    def stamp(req: Request, resp: Response) -> None:
        resp.headers["X-Consul-Default-ACL-Policy"] = "allow"

    router.before.append(acl)
    router.after.append(stamp)

    ok = await router.dispatch(Request("GET", "/v1/status/leader"))
    assert ok.status == 200 and ok.headers["X-Consul-Default-ACL-Policy"] == "allow"
    denied = await router.dispatch(Request("GET", "/v1/status/leader", {"X-Consul-Token": "bad"}))
    assert denied.status == 403 and denied.body == b"Permission denied"
    blocked = await router.dispatch(Request("GET", "/v1/status/leader", {"X-Consul-Token": "anon"}))
    assert blocked.status == 401
    for resp in (denied, blocked):
        assert resp.headers["X-Consul-Default-ACL-Policy"] == "allow"

    # after-hooks run on generic answers too; before-hooks only on matched handlers
    seen.clear()
    for req in (Request("GET", "/missing"), Request("DELETE", "/v1/status/leader")):
        resp = await router.dispatch(req)
        assert resp.headers["X-Consul-Default-ACL-Policy"] == "allow"
    assert seen == []


async def test_failing_after_hook_turns_into_500() -> None:
    router = make_router()

    def broken(req: Request, resp: Response) -> None:
        raise KeyError("oops")

    router.after.append(broken)
    resp = await router.dispatch(Request("GET", "/v1/status/leader"))
    assert resp.status == 500 and resp.content_type.startswith("text/plain")


async def test_websocket_route_without_upgrade() -> None:
    router = Router()

    async def ws_only(req, ws):  # noqa: ANN001, ANN202
        pass

    async def as_json(req: Request) -> Response:
        return json_response({"actors": []})

    router.websocket("/ws", ws_only)
    router.websocket("/both", ws_only)
    router.add("GET", "/both", as_json)
    resp = await router.dispatch(Request("GET", "/ws"))
    assert resp.status == 400 and resp.content_type.startswith("text/plain")
    resp = await router.dispatch(Request("GET", "/both"))
    assert resp.status == 200 and resp.body == b'{"actors":[]}'
    resp = await router.dispatch(Request("PUT", "/ws"))
    assert resp.status == 405 and resp.headers["Allow"] == "GET,OPTIONS"


def test_bad_patterns_and_duplicates_are_refused() -> None:
    router = Router()

    async def h(req: Request) -> Response:
        return Response()

    for bad in ("no/slash", "/a/{x", "/a/b{x}", "/a/{x:path}/tail", "/a/{x}/{x}", "/a/{1x}"):
        with pytest.raises(ValueError):
            router.add("GET", bad, h)
    router.add("GET", "/a/{x}", h)
    with pytest.raises(ValueError):
        router.add("get", "/a/{x}", h)
    router.add("PUT", "/a/{x}", h)  # another method on the same pattern is fine
    router.websocket("/w", h)
    with pytest.raises(ValueError):
        router.websocket("/w", h)


async def test_route_decorator_and_deeper_prefix_wins() -> None:
    router = Router()

    @router.route("GET", "/v1/catalog/{what}")
    async def generic(req: Request) -> Response:
        return text_response("generic " + req.params["what"])

    @router.route(["GET"], "/v1/catalog/service/{name}")
    async def service(req: Request) -> Response:
        return text_response("service " + req.params["name"])

    assert (await router.dispatch(Request("GET", "/v1/catalog/nodes"))).body == b"generic nodes"
    assert (await router.dispatch(Request("GET", "/v1/catalog/service/web"))).body == b"service web"
    assert (await router.dispatch(Request("GET", "/v1/catalog/service"))).body == b"generic service"

