"""The watch workload: blocking queries (``?index=&wait=``) on a key, a prefix or a service.

What lives here: `WatchWorkload`. Each watcher keeps the last ``X-Consul-Index`` it saw and asks again
with it; an answer with a higher index is a wakeup, a lower one is a *regression* (Consul's rule: the
index must never go backwards for a client; the watcher then restarts from 0, as Consul advises).
Measured: ``wakeups``, ``regressions``, and the blocking-call latency as the op ``watch``.

What must never live here: judging the counts (a ``metric`` check does, e.g. regressions max = 0).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import trio

from ..agent_api import AgentError, MissingEndpoint
from ..durations import parse_duration
from ..http_client import HttpClientError
from ..schema_workloads import Watch
from .base import BaseWorkload

RETRY_PAUSE = 0.2


class WatchWorkload(BaseWorkload):
    spec: Watch

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        spec = self.spec
        if spec.key is not None:
            self.path = f"/v1/kv/{quote(spec.key)}"
        elif spec.prefix is not None:
            self.path = f"/v1/kv/{quote(spec.prefix)}?recurse"
        else:
            self.path = f"/v1/health/service/{quote(spec.service or '', safe='')}"
        self.wait = parse_duration(spec.wait)
        self.stats.extra.update(wakeups=0, regressions=0)

    @property
    def stop_grace(self) -> float:
        return 0.5  # a blocked watcher has nothing in hand worth waiting for

    async def body(self) -> None:
        async with trio.open_nursery() as nursery:
            for i in range(self.spec.watchers):
                nursery.start_soon(self.watcher, i)

    async def watcher(self, i: int) -> None:
        index, attempt, first = 0, 0, True
        while not self.stopping:
            node = self.pick_node(i, attempt)
            started = trio.current_time()
            try:
                resp = await self.api(node).blocking_get(self.path, index, self.wait)
            except MissingEndpoint:
                raise
            except (AgentError, HttpClientError):
                attempt += 1
                self.stats.record("watch", "fail", 0.0, trio.current_time())
                await trio.sleep(RETRY_PAUSE)
                continue
            self.stats.record("watch", "ok", trio.current_time() - started, trio.current_time())
            new = int(resp.header("x-consul-index", "0") or 0)
            if new < index:
                self.stats.extra["regressions"] += 1
                self.ctx.event("workload", f"{self.name}: X-Consul-Index went back from {index} to {new} on {node}",
                               ok=False)
                index = 0
                continue
            if new > index and not first:
                self.stats.extra["wakeups"] += 1
            first = False
            index = new
