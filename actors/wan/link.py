"""One remote datacenter as this server sees it: pooled connections, a breaker, statistics, the forward.

What lives here: `DcLink`, the stable handle for one datacenter (it outlives restarts of the actor that
runs its connections), its errors, and `DcForwarderActor` (``wan/dc:<name>`` in the tree), which hosts
the link's `RpcClient` connections and shows the link's statistics in the inspector.

``forward(call, servers, timeout, long_poll=)`` sends one `HttpCall` (an API request) or `DnsCall` (a DNS
query naming that datacenter) to a server of the datacenter. How long each part may take
(`actors.config.WanForwarding`, the ``wan`` config section):

- *finding a server*: servers are tried in `order_servers` order (those that failed lately last); all
  the dialing for one request (TCP, TLS handshake, hello) shares ``connect_timeout``. A server that cannot
  be reached is marked down for ``DOWN_SECONDS`` and the next one is tried; when none can be, `NoPath`
  (Consul's 500 ``No path to datacenter``) and the breaker opens at once;
- *the request*: once sent it is never re-sent (it may have been handled). A request unanswered after
  ``route_check_after`` has its route checked: unless a reply came over the same connection meanwhile,
  a fresh dial to that server (`RpcClient.probe`, one at a time per server, shared by every request
  waiting on it). A failed check is a dead or cut route: the request fails at once (`ForwardFailed`), the
  connection is dropped (the others waiting on it fail too) and the server is marked down; the breaker
  opens if every server of the datacenter is down, else counts a failure. A blocking query
  (``long_poll``) may stay silent for its whole wait: its route is checked again every
  ``route_check_interval``, and only a failed check ends it early;
- *the timeout* (``request_timeout`` for plain requests, the wait plus jitter plus that for blocking
  ones, chosen by the router) bounds a server that is reachable but does not answer: `ForwardFailed`,
  a breaker failure (``breaker_threshold`` in a row open it), and the connection is dropped unless other
  replies came over it meanwhile.

While the breaker is open a request fails at once with `NoPath`; once half-open a single trial request
goes out while the others keep failing at once. The remote's own answers (errors included) come back
unchanged and count as a working path.

Peers are named for the fault table by their node names (the router tells the link which node listens
at which address, from the WAN pool), so a partition rule between two servers cuts their forwarding too.

What must never live here: the choice of which requests go over the WAN (``actors/wan/router.py``).
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
from typing import Any, ClassVar, Iterable

import trio

from actors.config import WanForwarding
from actors.forward.messages import DnsAnswer, DnsCall, ForwardResponse, HttpAnswer, HttpCall
from actors.wan.breaker import Breaker, order_servers
from runtime.actor import Actor
from runtime.transport.addresses import AddressBook
from runtime.transport.errors import RpcConnectionLost, RpcError, RpcRemoteError, RpcTimeout, RpcUnreachable
from runtime.transport.faults import FaultTable
from runtime.transport.rpc_client import RpcClient
from runtime.transport.secure import DialTls

Address = tuple[str, int]

DOWN_SECONDS = 10.0  # a server that could not be reached (or lost its route) is tried last for this long


class NoPath(Exception):
    """No server of the datacenter could be reached, or the breaker is open: 500 ``No path to datacenter``."""


class ForwardFailed(Exception):
    """The request may have reached the remote datacenter but no answer came back: 500 with this text.
    ``kind``: ``route`` (its route was found dead), ``lost`` (the connection ended), ``timeout`` (reachable
    but silent), ``remote`` (the remote's RPC layer failed it: the path itself works)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class _NotSent(Exception):
    """The connection closed between dialing and sending: nothing went out, the next server may be tried."""


class _RouteCheck:
    __slots__ = ("started", "done", "problem")

    def __init__(self, started: float) -> None:
        self.started = started
        self.done = trio.Event()
        self.problem: str | None = None  # "" route works, text: why not; None: the check was cancelled


class DcLink:
    def __init__(self, *, dc: str, node: str, local_dc: str, rng: Random, faults: FaultTable | None = None,
                 breaker: Breaker | None = None, tls: DialTls | None = None,
                 settings: WanForwarding | None = None) -> None:
        self.dc = dc
        self.settings = settings or WanForwarding()
        self.addresses = AddressBook()  # server RPC address -> node name (fault rules name nodes)
        # tls: how to dial that datacenter's servers (with verify_server_hostname: server.<dc>.<domain>)
        self.client = RpcClient(node=node, dc=local_dc, response_type=ForwardResponse, kind="http",
                                faults=faults, addresses=self.addresses,
                                connect_timeout=self.settings.connect_timeout, tls=tls)
        self.breaker = breaker or Breaker(threshold=self.settings.breaker_threshold,
                                          cooldown=self.settings.breaker_cooldown, clock=trio.current_time)
        self.rng = rng
        self.down_until: dict[Address, float] = {}
        self._checks: dict[Address, _RouteCheck] = {}
        self.running = False  # set by the actor hosting the connections
        self.in_flight = 0
        self.requests = 0
        self.errors = 0
        self.refused = 0  # failed at once: breaker open (or no server known)
        self.route_failures = 0  # requests failed early because their route was found dead
        self.last_rtt: float | None = None  # seconds, of the last answered request
        self.last_error = ""

    def learn(self, servers: Iterable[tuple[Address, str]]) -> None:
        """Which node listens at which server RPC address (from the WAN pool)."""
        for address, node in servers:
            self.addresses.set(address, node)

    # -- forwarding ------------------------------------------------------------------------------------

    async def forward(self, call: HttpCall | DnsCall, servers: list[Address], timeout: float, *,
                      long_poll: bool = False) -> HttpAnswer | DnsAnswer:
        self.requests += 1
        if not servers:
            raise self._refuse("no alive server known")
        if not self.breaker.allow():
            raise self._refuse(f"circuit open after {self.breaker.failures} failures ({self.last_error})")
        self.in_flight += 1
        verdict = False
        try:
            answer = await self._try(call, servers, timeout, long_poll)
            verdict = True
            self.breaker.success()
            return answer
        except NoPath as exc:
            verdict = True
            self._failed(str(exc))
            self.breaker.trip()  # not one server could be reached
            raise
        except ForwardFailed as exc:
            verdict = True
            self._failed(str(exc))
            now = trio.current_time()
            if exc.kind == "remote":
                self.breaker.success()  # an answer came back: the path works
            elif exc.kind == "route" and all(self.down_until.get(s, 0.0) > now for s in servers):
                self.breaker.trip()
            else:
                self.breaker.failure()
            raise
        finally:
            self.in_flight -= 1
            if not verdict:
                self.breaker.release()

    def _refuse(self, why: str) -> NoPath:
        self.errors += 1
        self.refused += 1
        return NoPath(why)

    def _failed(self, error: str) -> None:
        self.errors += 1
        self.last_error = error

    def _mark_down(self, address: Address) -> None:
        self.down_until[address] = trio.current_time() + DOWN_SECONDS

    async def _try(self, call: HttpCall | DnsCall, servers: list[Address], timeout: float,
                   long_poll: bool) -> HttpAnswer | DnsAnswer:
        deadline = trio.current_time() + self.settings.connect_timeout
        last = ""
        for address in order_servers(servers, self.down_until, trio.current_time(), self.rng):
            connected = False
            with trio.move_on_at(deadline) as dialing:
                try:
                    await self.client.connect(address)
                    connected = True
                except RpcUnreachable as exc:
                    last = str(exc)
            if dialing.cancelled_caught:
                last = (f"no server reached within {self.settings.connect_timeout:g}s (wan.connect_timeout), "
                        f"last tried {self.addresses.name(address)}")
            if connected:
                try:
                    return await self._send(address, call, timeout, long_poll)
                except _NotSent as exc:
                    last = str(exc)
            self._mark_down(address)
            if trio.current_time() >= deadline:
                break
        raise NoPath(last or "no server reachable")

    async def _send(self, address: Address, call: HttpCall | DnsCall, timeout: float, long_poll: bool) -> Any:
        """One request on the pooled connection to ``address``, its route watched while it waits."""
        expected = DnsAnswer if isinstance(call, DnsCall) else HttpAnswer
        name = self.addresses.name(address)
        started = trio.current_time()
        answer: Any = None
        error: RpcError | None = None
        completed = False  # the call ended by itself (an answer or an error beats a route verdict)
        route_problem = ""
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                nonlocal route_problem
                route_problem = await self._watch_route(address, started, long_poll)
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            try:
                answer = await self.client.call(address, call, timeout=timeout)
            except RpcError as exc:
                error = exc
            completed = True
            nursery.cancel_scope.cancel()
        if not completed:
            self.route_failures += 1
            self._mark_down(address)
            self.client.drop(address, f"route lost: {route_problem}")
            raise ForwardFailed(f"rpc error making call: lost the route to {name}: {route_problem}", "route")
        if isinstance(error, RpcConnectionLost):
            self._mark_down(address)
            raise ForwardFailed(f"rpc error making call: {error}", "lost")
        if isinstance(error, RpcUnreachable):
            raise _NotSent(str(error))
        if isinstance(error, RpcTimeout):
            self._mark_down(address)
            if not self.client.heard_since(address, started):
                self.client.drop(address, "a request timed out with nothing heard since it was sent")
            raise ForwardFailed(f"rpc error making call: timeout waiting for {name}", "timeout")
        if isinstance(error, RpcRemoteError):
            raise ForwardFailed(f"rpc error making call: {error.error.message}", "remote")
        if error is not None:
            raise ForwardFailed(f"rpc error making call: {error}", "remote")
        self.down_until.pop(address, None)
        self.last_rtt = trio.current_time() - started
        if not isinstance(answer, expected):
            raise ForwardFailed("rpc error making call: unexpected answer", "remote")
        return answer

    # -- route checks ----------------------------------------------------------------------------------

    async def _watch_route(self, address: Address, sent_at: float, long_poll: bool) -> str:
        """Returns (only) why the route to ``address`` is dead, checking it as the module doc says."""
        await trio.sleep(self.settings.route_check_after)
        since = sent_at
        while True:
            if not self.client.heard_since(address, since):
                problem = await self._route_problem(address, since)
                if problem:
                    return problem
            if not long_poll:
                await trio.sleep_forever()  # reachable: the request's own timeout bounds the rest
            since = trio.current_time()
            await trio.sleep(self.settings.route_check_interval)

    async def _route_problem(self, address: Address, since: float) -> str:
        """"" if a dial to ``address`` started at or after ``since`` succeeded, else why it failed. One
        check per server at a time; the requests waiting on that server share it."""
        while True:
            check = self._checks.get(address)
            if check is None:
                check = self._checks[address] = _RouteCheck(trio.current_time())
                try:
                    await self.client.probe(address, self.settings.connect_timeout)
                    check.problem = ""
                except RpcUnreachable as exc:
                    check.problem = str(exc)
                finally:
                    check.done.set()
                    if self._checks.get(address) is check:
                        del self._checks[address]
                return check.problem or ""
            await check.done.wait()
            if check.problem is not None and check.started >= since:
                return check.problem

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
            "refused": self.refused,
            "route_failures": self.route_failures,
            "last_rtt_ms": None if self.last_rtt is None else round(self.last_rtt * 1000, 3),
            "last_error": self.last_error,
            "connections": client["connections"],
            "timeouts": client["timeouts"],
            "unreachable": client["unreachable"],
            "route_checks": client.get("probes", 0),
            "route_checks_failed": client.get("probe_failures", 0),
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
