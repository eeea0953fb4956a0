"""Generic HTTP/1.1 + websocket server on Trio (httptools for parsing, trio-websocket for websockets).

What lives here: the public surface re-exported from the small modules of this package: `Request`,
`Response` and its builders, `HTTPError`, `Router`, `HttpLimits`, `HttpServer` and `serve_http`.

What must never live here: anything Consul specific. Nothing under ``runtime`` imports ``actors``;
Consul endpoints register themselves on a `Router` from the outside.
"""

from .limits import HttpLimits, HttpStatistics
from .request import Headers, Request
from .response import APPLICATION_JSON, TEXT_PLAIN, HTTPError, Response, json_response, text_response
from .router import AfterHook, BeforeHook, BodyLimit, Handler, Route, Router, WebSocketHandler
from .server import HttpServer, serve_http
from .websocket import ReplayStream

__all__ = [
    "APPLICATION_JSON",
    "AfterHook",
    "BeforeHook",
    "BodyLimit",
    "Handler",
    "TEXT_PLAIN",
    "WebSocketHandler",
    "HTTPError",
    "Headers",
    "HttpLimits",
    "HttpServer",
    "HttpStatistics",
    "ReplayStream",
    "Request",
    "Response",
    "Route",
    "Router",
    "json_response",
    "serve_http",
    "text_response",
]
