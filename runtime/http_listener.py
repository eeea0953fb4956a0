"""The HTTP listener as an actor: binds an address, serves a `Router`, shows its counters in the tree.

What lives here: `HttpListener`, a leaf actor whose ``run`` binds (readiness is signalled only once the
socket is bound, so ``nursery.start`` returns with the port known), then serves until cancelled. A
socket error crashes it like any actor and its supervisor restarts it with backoff. Connections are
served in the listener's own nursery, so they end with it.

With an ``ssl.SSLContext`` (``tls``; or a callable answering the current one, asked per connection, so
certificates can be replaced while serving) the same router is served over HTTPS: each accepted connection first
completes a TLS handshake within ``handshake_timeout`` (a client that is silent or slow, or that speaks
plain HTTP, or presents no certificate when the context requires one, is closed and counted in
``handshake_failures`` with a debug line; nothing reaches the HTTP server and the listener carries on),
then is served as any other connection, limits and timeouts included.

What must never live here: endpoints. The router is built by whoever assembles the agent.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, ClassVar

import msgspec
import trio

from runtime.actor import Actor
from runtime.http import HttpLimits, HttpServer, Router
from runtime.log import get_logger
from runtime.tls.contexts import ContextSource, current_context
from runtime.tls.handshake import HandshakeFailed, serve_tls

log = get_logger("http")


class HttpListener(Actor):
    kind: ClassVar[str] = "http"
    inbox_size: ClassVar[int | None] = 1  # takes no messages; the inbox exists only for uniformity

    def __init__(self, router: Router, host: str, port: int, *, limits: HttpLimits | None = None,
                 on_bound: Callable[[tuple[str, int]], None] | None = None,
                 tls: ContextSource | None = None, handshake_timeout: float = 5.0) -> None:
        self.router = router
        self.tls = tls
        self.handshake_timeout = handshake_timeout
        self.handshake_failures: dict[str, int] = {}
        self.host = host
        self.port = port
        self.limits = limits or HttpLimits()
        self.on_bound = on_bound
        self.server: HttpServer | None = None

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        self.server = HttpServer(self.router, self.limits)
        async with trio.open_nursery() as nursery:
            if self.tls is None:
                await nursery.start(self.server.serve, listeners)
            else:
                self.server.listeners = list(listeners)
                nursery.start_soon(self.server.watchdog.run)
                await nursery.start(partial(trio.serve_listeners, self._serve_tls, listeners, handler_nursery=nursery))
            address = self.server.addresses[0]
            if self.on_bound is not None:
                self.on_bound(address)
            task_status.started()

    async def _serve_tls(self, stream: trio.SocketStream) -> None:
        assert self.tls is not None and self.server is not None
        try:
            secured = await serve_tls(stream, current_context(self.tls), timeout=self.handshake_timeout)
        except HandshakeFailed as exc:
            self.handshake_failures[exc.reason] = self.handshake_failures.get(exc.reason, 0) + 1
            log.debug("TLS handshake failed", remote=_remote(stream), reason=exc.reason, detail=exc.detail)
            return
        await self.server.handle_stream(secured)

    def statistics(self) -> dict[str, Any]:
        if self.server is None:
            return {"address": f"{self.host}:{self.port}"}
        host, port = self.server.addresses[0] if self.server.addresses else (self.host, self.port)
        stats = {"address": f"{host}:{port}", **msgspec.structs.asdict(self.server.statistics())}
        if self.tls is not None:
            stats["tls_handshake_failures"] = dict(self.handshake_failures)
        return stats


def _remote(stream: trio.SocketStream) -> str:
    try:
        name = stream.socket.getpeername()
    except OSError:
        return "?"
    return f"{name[0]}:{name[1]}" if isinstance(name, tuple) else str(name)
