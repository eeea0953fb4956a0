"""The HTTP listener as an actor: binds an address, serves a `Router`, shows its counters in the tree.

What lives here: `HttpListener`, a leaf actor whose ``run`` binds (readiness is signalled only once the
socket is bound, so ``nursery.start`` returns with the port known), then serves until cancelled. A
socket error crashes it like any actor and its supervisor restarts it with backoff. Connections are
served in the listener's own nursery, so they end with it.

What must never live here: endpoints. The router is built by whoever assembles the agent.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import msgspec
import trio

from runtime.actor import Actor
from runtime.http import HttpLimits, HttpServer, Router


class HttpListener(Actor):
    kind: ClassVar[str] = "http"
    inbox_size: ClassVar[int | None] = 1  # takes no messages; the inbox exists only for uniformity

    def __init__(self, router: Router, host: str, port: int, *, limits: HttpLimits | None = None,
                 on_bound: Callable[[tuple[str, int]], None] | None = None) -> None:
        self.router = router
        self.host = host
        self.port = port
        self.limits = limits or HttpLimits()
        self.on_bound = on_bound
        self.server: HttpServer | None = None

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        self.server = HttpServer(self.router, self.limits)
        async with trio.open_nursery() as nursery:
            await nursery.start(self.server.serve, listeners)
            address = self.server.addresses[0]
            if self.on_bound is not None:
                self.on_bound(address)
            task_status.started()

    def statistics(self) -> dict[str, Any]:
        if self.server is None:
            return {"address": f"{self.host}:{self.port}"}
        host, port = self.server.addresses[0] if self.server.addresses else (self.host, self.port)
        return {"address": f"{host}:{port}", **msgspec.structs.asdict(self.server.statistics())}
