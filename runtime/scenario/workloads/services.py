"""The services workload: register services with TTL checks, then flip their health (and churn them).

What lives here: `ServicesWorkload`. It registers ``count`` services named ``<prefix>-<i>`` through
``/v1/agent/service/register`` on its target nodes (round robin), each with a TTL check that starts
passing; every ``flip_every`` it picks one (seeded) and flips its check between passing and critical
through ``/v1/agent/check/pass|fail/<id>``, or with ``churn`` deregisters and registers it again.
Measured: ``flips`` and the latency of each call as ops ``register`` / ``flip`` / ``deregister``.

What must never live here: checking the catalog's view (``health-is`` does).
"""

from __future__ import annotations

from typing import Any

import trio

from ..agent_api import AgentError, MissingEndpoint
from ..durations import format_duration, parse_duration
from ..http_client import HttpClientError
from ..schema_workloads import Services
from .base import BaseWorkload


class ServicesWorkload(BaseWorkload):
    spec: Services

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.status: dict[str, str] = {}
        self.home: dict[str, str] = {}
        self.stats.extra["flips"] = 0

    def definition(self, i: int, node: str) -> dict[str, Any]:
        sid = f"{self.spec.prefix}-{i}"
        return {"ID": sid, "Name": sid, "Port": 20000 + i, "Tags": ["scenario", self.name],
                "Check": {"CheckID": f"{sid}-ttl", "Name": f"{sid} ttl", "Status": "passing",
                          "TTL": format_duration(parse_duration(self.spec.ttl))}}

    async def call(self, op: str, coro: Any) -> bool:
        started = trio.current_time()
        try:
            await coro
        except MissingEndpoint:
            raise
        except (AgentError, HttpClientError):
            self.stats.record(op, "fail", 0.0, trio.current_time())
            return False
        self.stats.record(op, "ok", trio.current_time() - started, trio.current_time())
        return True

    async def body(self) -> None:
        rng = self.ctx.stream(f"workload:{self.name}")
        for i in range(self.spec.count):
            node = self.nodes[i % len(self.nodes)]
            sid = f"{self.spec.prefix}-{i}"
            if await self.call("register", self.api(node).register_service(self.definition(i, node))):
                self.status[sid], self.home[sid] = "passing", node
        every = parse_duration(self.spec.flip_every)
        while not self.stopping and self.home:
            await trio.sleep(every)
            sid = sorted(self.home)[rng.randrange(len(self.home))]
            api = self.api(self.home[sid])
            if self.spec.churn and rng.random() < 0.5:
                if await self.call("deregister", api.deregister_service(sid)):
                    i = int(sid.rsplit("-", 1)[1])
                    await self.call("register", api.register_service(self.definition(i, self.home[sid])))
                    self.status[sid] = "passing"
                continue
            new = "critical" if self.status[sid] == "passing" else "passing"
            if await self.call("flip", api.update_ttl(f"{sid}-ttl", new)):
                self.status[sid] = new
                self.stats.extra["flips"] += 1
