"""One remote datacenter as this server sees it: pooled connections, a breaker, statistics, the forward.

What lives here: `DcLink`, the stable handle for one datacenter (it outlives restarts of the actor that
runs its connections), its errors, and `DcForwarderActor` (``wan/dc:<name>`` in the tree), which hosts
the link's `RpcClient` connections and shows the link's statistics in the inspector.

``forward(call, servers, timeout)`` sends one `HttpCall` (an API request) or `DnsCall` (a DNS query naming
that datacenter) to a server of the datacenter. A server that
could not be reached before the request was sent is marked down for a while and the next one is tried;
once the request may have been delivered it is never re-sent. `NoPath` means no server could be
reached (or the breaker is open): Consul's 500 ``No path to datacenter``.

What must never live here: the choice of which requests go over the WAN (``actors/wan/router.py``).
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
from typing import Any, ClassVar

import trio

from actors.forward.messages import DnsAnswer, DnsCall, ForwardResponse, HttpAnswer, HttpCall
from actors.wan.breaker import Breaker, order_servers
from runtime.actor import Actor
from runtime.transport.errors import RpcError, RpcRemoteError, RpcTimeout, RpcUnreachable
from runtime.transport.faults import FaultTable
from runtime.transport.rpc_client import RpcClient
from runtime.transport.secure import DialTls

Address = tuple[str, int]

DOWN_SECONDS = 10.0  # a server that refused a connection is tried last for this long
CONNECT_TIMEOUT = 2.0


class NoPath(Exception):
    """No server of the datacenter could be reached: 500 ``No path to datacenter``."""


class ForwardFailed(Exception):
    """The request may have reached the remote datacenter but no answer came back: 500 with this text."""


class DcLink:
    def __init__(self, *, dc: str, node: str, local_dc: str, rng: Random,
                 faults: FaultTable | None = None, breaker: Breaker | None = None, tls: DialTls | None = None) -> None:
        self.dc = dc
        # tls: how to dial that datacenter's servers (with verify_server_hostname: server.<dc>.<domain>)
        self.client = RpcClient(node=node, dc=local_dc, response_type=ForwardResponse, kind="http",
                                faults=faults, connect_timeout=CONNECT_TIMEOUT, tls=tls)
        self.breaker = breaker or Breaker()
        self.rng = rng
        self.down_until: dict[Address, float] = {}
        self.running = False  # set by the actor hosting the connections
        self.in_flight = 0
        self.requests = 0
        self.errors = 0
        self.last_rtt: float | None = None  # seconds, of the last answered request
        self.last_error = ""

    async def forward(self, call: HttpCall | DnsCall, servers: list[Address], timeout: float) -> HttpAnswer | DnsAnswer:
        self.requests += 1
        if not servers:
            self.errors += 1
            self.last_error = "no alive server known"
            raise NoPath(self.last_error)
        if not self.breaker.allow():
            self.errors += 1
            raise NoPath(f"circuit open after {self.breaker.failures} failures ({self.last_error})")
        self.in_flight += 1
        verdict = False
        try:
            answer = await self._try(call, servers, timeout)
            verdict = True
            self.breaker.success()
            return answer
        except (NoPath, ForwardFailed) as exc:
            verdict = True
            self.errors += 1
            self.last_error = str(exc)
            self.breaker.failure()
            raise
        finally:
            self.in_flight -= 1
            if not verdict:
                self.breaker.release()

    async def _try(self, call: HttpCall | DnsCall, servers: list[Address], timeout: float) -> HttpAnswer | DnsAnswer:
        expected = DnsAnswer if isinstance(call, DnsCall) else HttpAnswer
        now = trio.current_time()
        last = ""
        for address in order_servers(servers, self.down_until, now, self.rng):
            started = trio.current_time()
            try:
                answer: Any = await self.client.call(address, call, timeout=timeout)
            except RpcUnreachable as exc:
                self.down_until[address] = trio.current_time() + DOWN_SECONDS
                last = str(exc)
                continue
            except RpcTimeout:
                raise ForwardFailed(f"rpc error making call: timeout waiting for {address[0]}:{address[1]}") from None
            except RpcRemoteError as exc:
                raise ForwardFailed(f"rpc error making call: {exc.error.message}") from None
            except RpcError as exc:
                raise ForwardFailed(f"rpc error making call: {exc}") from None
            self.down_until.pop(address, None)
            self.last_rtt = trio.current_time() - started
            if not isinstance(answer, expected):
                raise ForwardFailed("rpc error making call: unexpected answer")
            return answer
        raise NoPath(last or "no server reachable")

    def statistics(self) -> dict[str, Any]:
        client = self.client.statistics()
        return {
            "datacenter": self.dc,
            "breaker": self.breaker.state,
            "consecutive_failures": self.breaker.failures,
            "breaker_trips": self.breaker.trips,
            "in_flight": self.in_flight,
            "requests": self.requests,
            "errors": self.errors,
            "last_rtt_ms": None if self.last_rtt is None else round(self.last_rtt * 1000, 3),
            "last_error": self.last_error,
            "connections": client["connections"],
            "timeouts": client["timeouts"],
            "unreachable": client["unreachable"],
        }


class DcForwarderActor(Actor):
    """``wan/dc:<name>``: hosts one datacenter link's pooled connections; takes no messages."""

    kind: ClassVar[str] = "wan.dc"
    inbox_size: ClassVar[int | None] = 1

    def __init__(self, link: DcLink) -> None:
        self.link = link

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.link.running = True
        try:
            await self.link.client.run(task_status)
        finally:
            self.link.running = False

    def statistics(self) -> dict[str, Any]:
        return self.link.statistics()
