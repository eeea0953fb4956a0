"""The dns workload: clients querying the agents' DNS interface over UDP, measuring rate and latency.

What lives here: `DnsWorkload`. Each of ``clients`` tasks sends ``query``/``type`` to its target node's
DNS port (round robin over the targets), one query at a time, paced so that all clients together send
``rate`` queries a second (or as fast as answers come when ``rate`` is 0). An answer with rcode NOERROR
and at least one record is op ``query`` ok; anything else (an error rcode, an empty answer, a timeout)
is a failure, so a benchmark run also shows whether the answers were right.

What must never live here: DNS wire handling beyond the small client in ``dns_client``.
"""

from __future__ import annotations

import trio

from .. import dns_client
from ..durations import parse_duration
from ..schema_workloads import Dns
from .base import BaseWorkload


class DnsWorkload(BaseWorkload):
    spec: Dns

    async def body(self) -> None:
        async with trio.open_nursery() as nursery:
            for client in range(self.spec.clients):
                nursery.start_soon(self._client, client)

    async def _client(self, client: int) -> None:
        rng = self.ctx.stream(f"workload/{self.name}/{client}")
        timeout = parse_duration(self.spec.timeout)
        interval = self.spec.clients / self.spec.rate if self.spec.rate > 0 else 0.0
        next_at = trio.current_time()
        count = 0
        while not self.stopping:
            if interval:
                next_at += interval
                await trio.sleep_until(next_at)
            node = self.pick_node(client, count)
            count += 1
            port = self.ctx.launcher.node(node).ports.dns
            started = trio.current_time()
            try:
                rcode, answers = await dns_client.query("127.0.0.1", port, self.spec.query, self.spec.type,
                                                        timeout, rng)
            except (OSError, trio.TooSlowError, ValueError):
                self.stats.record("query", "fail", 0.0, trio.current_time())
                continue
            ok = rcode == "NOERROR" and answers > 0
            self.stats.record("query", "ok" if ok else "fail", trio.current_time() - started, trio.current_time())
