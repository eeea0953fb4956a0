"""Maps (method, path) to handlers, and turns one request into one response.

What lives here: `Router` (exact paths in a dict, patterns bucketed by their static prefix), `Route`,
the before/after hook lists, and the generic answers: 404 with the configured text, 405 with ``Allow``,
``OPTIONS`` with ``Allow``, `HTTPError` and crashes turned into plain-text responses.

Patterns are matched against the *raw* (still percent-encoded) path, segment by segment, and the
captured parameters are decoded afterwards, so ``/v1/agent/service/a%2Fb`` gives ``id == "a/b"``.
``{name}`` matches one non-empty segment; ``{name:path}`` (last segment only) matches the rest of the
path, slashes included, and may be empty.

Body limits: a route may declare, per method, the largest request body it takes (``max_body_bytes`` on
`Router.add`, with an optional ``too_large`` text builder); the server asks `Router.body_limit` once a
request's head is in and refuses a larger body with 413 before buffering it (announced
``Content-Length``) or as soon as it grows past the limit (chunked). A declared limit replaces the
server's default cap for that route, above or below it.

What must never live here: sockets, wire encoding, websocket handshakes, or anything Consul specific.
"""

from __future__ import annotations

import logging
import re
from typing import Awaitable, Callable, Iterable, Mapping, NamedTuple
from urllib.parse import unquote

from .request import NO_PARAMS, Request
from .response import HTTPError, Response, text_response

log = logging.getLogger("proconsul.http")

Handler = Callable[[Request], Awaitable[Response]]
WebSocketHandler = Callable[..., Awaitable[None]]  # (Request, trio_websocket.WebSocketConnection)
BeforeHook = Callable[[Request], Awaitable["Response | None"]]
AfterHook = Callable[[Request, Response], None]
TooLarge = Callable[[int | None, int], str]  # (announced Content-Length or None, limit) -> the 413 text


class BodyLimit(NamedTuple):
    """The largest body one (method, route) accepts, and the text of its 413 (None: the server's)."""

    max_bytes: int
    too_large: TooLarge | None = None

    def message(self, announced: int | None) -> str:
        if self.too_large is None:
            return "Request body too large"
        return self.too_large(announced, self.max_bytes)

_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(?::(path))?\}$")


class Route:
    """Everything registered under one pattern: a handler per method, maybe a websocket handler."""

    __slots__ = ("pattern", "handlers", "websocket", "allow", "regex", "prefix", "body_limits")

    def __init__(self, pattern: str, regex: re.Pattern[str] | None, prefix: str) -> None:
        self.pattern = pattern
        self.handlers: dict[str, Handler] = {}
        self.body_limits: dict[str, BodyLimit] = {}  # method -> declared limit
        self.websocket: WebSocketHandler | None = None
        self.allow = "OPTIONS"
        self.regex = regex
        self.prefix = prefix

    def _refresh_allow(self) -> None:
        methods = set(self.handlers)
        if self.websocket is not None:
            methods.add("GET")
        methods.discard("OPTIONS")
        self.allow = ",".join(sorted(methods) + ["OPTIONS"])


def _compile(pattern: str) -> tuple[re.Pattern[str] | None, str]:
    """Return (regex or None for a static path, static prefix up to the last '/' before a parameter)."""
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    if "{" not in pattern:
        return None, pattern
    segments = pattern.split("/")[1:]
    parts: list[str] = []
    prefix: str | None = None
    seen: set[str] = set()
    for i, seg in enumerate(segments):
        if "{" not in seg and "}" not in seg:
            parts.append(re.escape(seg))
            continue
        m = _PARAM.match(seg)
        if m is None:
            raise ValueError(f"bad parameter segment {seg!r} in {pattern!r}")
        name, is_path = m.group(1), m.group(2)
        if name in seen:
            raise ValueError(f"duplicate parameter {name!r} in {pattern!r}")
        seen.add(name)
        if prefix is None:
            prefix = "/" + "".join(s + "/" for s in segments[:i])
        if is_path:
            if i != len(segments) - 1:
                raise ValueError(f"{{{name}:path}} must be the last segment of {pattern!r}")
            parts.append(f"(?P<{name}>.*)")
        else:
            parts.append(f"(?P<{name}>[^/]+)")
    assert prefix is not None
    return re.compile("/" + "/".join(parts)), prefix


class Router:
    """Routes requests to handlers.

    ``before``: async hooks ``hook(req) -> Response | None`` run (in order) before the handler of a
    matched route; the first one to return a Response short-circuits. ``after``: sync hooks
    ``hook(req, resp)`` run on every response the router produces, errors included.
    """

    def __init__(
        self, not_found_message: str = "Invalid URL path: not a recognized HTTP API endpoint"
    ) -> None:
        self.not_found_message = not_found_message
        self.before: list[BeforeHook] = []
        self.after: list[AfterHook] = []
        self._routes: dict[str, Route] = {}  # pattern -> route
        self._exact: dict[str, Route] = {}
        self._buckets: dict[str, list[Route]] = {}  # static prefix ("/v1/kv/") -> routes
        self._depth = 0  # most slashes in any bucket prefix
        self._body_limits = 0  # how many (method, route) pairs declare a body limit

    # -- registration -----------------------------------------------------------------------------

    def _route(self, pattern: str) -> Route:
        route = self._routes.get(pattern)
        if route is not None:
            return route
        regex, prefix = _compile(pattern)
        route = self._routes[pattern] = Route(pattern, regex, prefix)
        if regex is None:
            self._exact[pattern] = route
        else:
            self._buckets.setdefault(prefix, []).append(route)
            self._depth = max(self._depth, prefix.count("/"))
        return route

    def add(self, methods: str | Iterable[str], pattern: str, handler: Handler, *,
            max_body_bytes: int | None = None, too_large: TooLarge | None = None) -> None:
        """Register ``handler`` for ``methods`` (one name or several) on ``pattern``.

        ``max_body_bytes``: the largest request body these methods take on this route (see the module
        docstring); ``too_large(announced_length_or_None, limit)`` gives the text of the 413.
        """
        if max_body_bytes is not None and max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must be >= 0, not {max_body_bytes}")
        route = self._route(pattern)
        for method in [methods] if isinstance(methods, str) else methods:
            method = method.upper()
            if method in route.handlers:
                raise ValueError(f"{method} {pattern} registered twice")
            route.handlers[method] = handler
            if max_body_bytes is not None:
                route.body_limits[method] = BodyLimit(max_body_bytes, too_large)
                self._body_limits += 1
        route._refresh_allow()

    def route(self, methods: str | Iterable[str], pattern: str) -> Callable[[Handler], Handler]:
        """Decorator form of `add`."""

        def register(handler: Handler) -> Handler:
            self.add(methods, pattern, handler)
            return handler

        return register

    def websocket(self, pattern: str, handler: WebSocketHandler) -> None:
        """Register ``async def handler(req, ws)`` for GET + ``Upgrade: websocket`` on ``pattern``."""
        route = self._route(pattern)
        if route.websocket is not None:
            raise ValueError(f"websocket {pattern} registered twice")
        route.websocket = handler
        route._refresh_allow()

    # -- lookup -----------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str]]:
        """Every (method, pattern) registered, in registration order; a websocket is ``("WS", pattern)``."""
        out = []
        for pattern, route in self._routes.items():
            out.extend((method, pattern) for method in route.handlers)
            if route.websocket is not None:
                out.append(("WS", pattern))
        return out

    def find(self, raw_path: str, path: str | None = None) -> tuple[Route, Mapping[str, str]] | None:
        """The route matching ``raw_path`` and its decoded parameters, or None.

        ``path`` (the decoded path) lets an exact route match a needlessly percent-encoded request.
        """
        route = self._exact.get(raw_path)
        if route is not None:
            return route, NO_PARAMS
        return self._match(raw_path, path)

    def body_limit(self, method: str, target: str) -> BodyLimit | None:
        """The body limit declared for ``method`` on the route ``target`` (a request target, query
        allowed) matches, or None (the server's default cap applies)."""
        if not self._body_limits:
            return None
        probe = Request(method, target)
        found = self.find(probe.raw_path, probe.path)
        return None if found is None else found[0].body_limits.get(method)

    def _match(self, raw_path: str, path: str | None) -> tuple[Route, Mapping[str, str]] | None:
        if path is not None and path != raw_path:
            route = self._exact.get(path)
            if route is not None:
                return route, NO_PARAMS
        if not self._buckets:
            return None
        slashes = []
        start = 0
        for _ in range(self._depth):
            i = raw_path.find("/", start)
            if i < 0:
                break
            slashes.append(i)
            start = i + 1
        buckets = self._buckets
        for i in reversed(slashes):
            bucket = buckets.get(raw_path[: i + 1])
            if bucket is None:
                continue
            for route in bucket:
                m = route.regex.fullmatch(raw_path)  # type: ignore[union-attr]
                if m is not None:
                    params = m.groupdict()
                    for k, v in params.items():
                        if "%" in v:
                            params[k] = unquote(v)
                    return route, params
        return None

    # -- dispatch ---------------------------------------------------------------------------------

    async def run_before(self, req: Request) -> Response | None:
        """Run the before-hooks; the first Response returned wins (exceptions propagate)."""
        for hook in self.before:
            resp = await hook(req)
            if resp is not None:
                return resp
        return None

    async def admit(self, req: Request) -> Response | None:
        """Before-hooks with errors turned into responses; None means "go ahead"."""
        if not self.before:
            return None
        try:
            return await self.run_before(req)
        except HTTPError as exc:
            return exc.response()
        except Exception as exc:
            return _crashed(req, exc)

    def run_after(self, req: Request, resp: Response) -> Response:
        """Run the after-hooks on ``resp``; a failing hook turns the answer into a 500."""
        try:
            for hook in self.after:
                hook(req, resp)
        except Exception as exc:
            return _crashed(req, exc)
        return resp

    async def dispatch(self, req: Request) -> Response:
        """Answer ``req`` as plain HTTP. Never raises for handler errors (500 instead)."""
        route = self._exact.get(req.raw_path)
        if route is None:
            found = self._match(req.raw_path, req.path)
            if found is not None:
                route, req.params = found
        if route is None:
            resp = text_response(self.not_found_message, 404)
        else:
            handler = route.handlers.get(req.method)
            if handler is not None:
                try:
                    resp = await self.run_before(req) if self.before else None
                    if resp is None:
                        resp = await handler(req)
                        if not isinstance(resp, Response):
                            raise TypeError(f"handler returned {type(resp).__name__}, not Response")
                except HTTPError as exc:
                    resp = exc.response()
                except Exception as exc:
                    resp = _crashed(req, exc)
            elif req.method == "OPTIONS":
                resp = Response(200, b"", {"Allow": route.allow})
            elif req.method == "GET" and route.websocket is not None:
                resp = text_response("This endpoint requires a websocket upgrade", 400)
            else:
                resp = text_response(f"method {req.method} not allowed", 405, {"Allow": route.allow})
        if self.after:
            resp = self.run_after(req, resp)
        return resp


def _crashed(req: Request, exc: Exception) -> Response:
    log.error("%s %s failed", req.method, req.raw_path, exc_info=exc)
    return text_response(str(exc) or type(exc).__name__, 500)
