"""The ``wan`` subtree and the router hook that sends requests for another datacenter there.

What lives here:

- `WanRouter` (``ctx.extras["wan"]``): the known datacenters (this one plus those with servers in the
  WAN gossip pool; "reachable" ones have an alive server), one `DcLink` per remote datacenter,
  ``datacenters()`` sorted as Consul does (ours first, then by the last round trip measured, unknown
  last), ``forward(req, dc)`` for API requests and ``forward_dns(dc, packet, transport)`` for DNS
  queries naming another datacenter (``web.service.dc2.consul``);
- `WanSupervisor` (``wan`` in the tree): one ``dc:<name>`` child per remote datacenter, added as they
  appear in the WAN pool (and on first use);
- `target_datacenter(req)`: which datacenter an API request is for. ``?dc=`` on the state endpoints
  (KV, txn, sessions, catalog reads, health, status, operator) and on ``PUT /v1/event/fire``; for
  ``PUT /v1/catalog/register`` and ``/deregister`` the body's ``Datacenter`` (Consul ignores ``?dc``
  there). ``GET /v1/event/list`` is never forwarded: Consul lists the agent's own events whatever
  ``dc`` says;
- `wan_children(ctx)` and `install_wan_forwarding(router, ctx)`: what the agent wires on servers.

The request goes whole as an `HttpCall` (minus its ``dc`` parameter, so the remote server answers it
as a local request and never forwards it again; a body naming the remote datacenter is local there);
the remote answer (errors included, e.g. 500 ``No cluster leader``) comes back unchanged. A DNS query
goes whole as a `DnsCall` and the remote server's reply comes back as its bytes. Timeouts are bounded
(the ``wan`` config section, `actors.config.WanForwarding`): a plain request gets ``wan.request_timeout``,
a blocking one (``index``) its ``wait`` plus jitter plus that, and is sent as a long poll (its silence is
not a failure), a DNS query ``DNS_TIMEOUT`` (below a client agent's own DNS hop). How a dead or cut
route fails fast whatever the timeout (dial bound, route checks, breaker) is ``link``'s business.

The WAN pool's view comes first: a datacenter with no alive server there answers ``No path to
datacenter`` without any dialing. The router also tells the fault table that the WAN member names
``<node>.<dc>`` are those nodes (`FaultTable.alias`), and each link which node listens at which address,
so fault rules name nodes only (see ``runtime/transport/faults.py``).

What must never live here: endpoint logic, DNS resolution, or how a datacenter's servers are reached
(``link``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import msgspec
import trio

from actors.config import WanForwarding
from actors.forward.messages import DnsAnswer, DnsCall, HttpAnswer, HttpCall
from actors.state.durations import parse_duration_ns
from actors.tls.agent_tls import agent_tls
from actors.wan.link import DcForwarderActor, DcLink, ForwardFailed, NoPath
from runtime.http import Request, Response, Router
from runtime.log import get_logger
from runtime.supervisor import ChildSpec, RestartPolicy, Supervisor
from runtime.transport.faults import FaultTable

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("wan")

WAN_PREFIXES = ("/v1/kv", "/v1/txn", "/v1/session/", "/v1/catalog/", "/v1/health/", "/v1/status/",
                "/v1/operator/", "/v1/event/fire/")
LOCAL_ONLY = ("/v1/catalog/datacenters",)
BODY_DC_PATHS = ("/v1/catalog/register", "/v1/catalog/deregister")  # the body's Datacenter routes these
HOP_HEADERS = {"connection", "content-length", "transfer-encoding", "keep-alive", "content-type",
               "x-proconsul-origin-node"}
DNS_TIMEOUT = 1.5  # below a client agent's 2 s DNS hop to us, so it gets our SERVFAIL rather than none
MAX_WAIT = 600.0
DEFAULT_WAIT = 300.0
NO_PATH = "No path to datacenter"
WATCH_INTERVAL = 5.0
WAN_POLICY = RestartPolicy(strategy="one_for_one", max_restarts=20, within_seconds=30.0)


class WanRouter:
    def __init__(self, ctx: "AgentContext") -> None:
        self.ctx = ctx
        self.local_dc = ctx.config.datacenter
        self.links: dict[str, DcLink] = {}
        self.supervisor: Supervisor | None = None
        self._rng = ctx.rng("wan")

    # -- what gossip knows ---------------------------------------------------------------------------

    def _servers(self) -> list[Any]:
        gossip = self.ctx.extras.get("gossip")
        if gossip is None:
            return []
        return [s for s in gossip.servers(wan=True) if s.status == "alive"]

    def servers_of(self, dc: str) -> list[tuple[str, int]]:
        return sorted({(s.address, s.port) for s in self._servers() if s.datacenter == dc})

    def server_nodes(self, dc: str) -> list[tuple[tuple[str, int], str]]:
        """(server RPC address, node name) of the alive servers of ``dc``."""
        return sorted({((s.address, s.port), s.node) for s in self._servers() if s.datacenter == dc})

    def remote_datacenters(self) -> set[str]:
        """Other datacenters with at least one alive server: those a request can be sent to."""
        return {s.datacenter for s in self._servers() if s.datacenter and s.datacenter != self.local_dc}

    def known_datacenters(self) -> set[str]:
        """Every datacenter the WAN pool has a server of (failed ones included, left ones not), ours too."""
        gossip = self.ctx.extras.get("gossip")
        found = {self.local_dc}
        if gossip is not None:
            found |= {s.datacenter for s in gossip.servers(wan=True) if s.datacenter and s.status != "left"}
        return found

    def datacenters(self) -> list[str]:
        """Ours first, then the others by the last round trip the forwarder measured (unknown last)."""
        def key(dc: str) -> tuple[int, float, str]:
            link = self.links.get(dc)
            rtt = link.last_rtt if link is not None else None
            return (1, rtt, dc) if rtt is not None else (2, 0.0, dc)

        return [self.local_dc, *sorted(self.remote_datacenters(), key=key)]

    # -- links -----------------------------------------------------------------------------------------

    def link_for(self, dc: str) -> DcLink:
        link = self.links.get(dc)
        if link is None:
            link = self.links[dc] = DcLink(dc=dc, node=self.ctx.config.node_name, local_dc=self.local_dc,
                                           rng=self.ctx.rng(f"wan.{dc}"), faults=self.ctx.extras.get("faults"),
                                           tls=agent_tls(self.ctx).dial(dc), settings=self.ctx.config.wan)
        return link

    async def ensure(self, dc: str) -> DcLink:
        """The link to ``dc``, its ``dc:<name>`` actor started under ``wan`` if it is not running."""
        link = self.link_for(dc)
        link.learn(self.server_nodes(dc))
        if not link.running and self.supervisor is not None:
            await self.supervisor.add_child(ChildSpec(f"dc:{dc}", DcForwarderActor, link))
        return link

    async def watch(self) -> None:
        """Add a ``dc:<name>`` child for every datacenter that shows up in the WAN pool."""
        gossip = self.ctx.extras.get("gossip")
        version = 0
        while True:
            for dc in sorted(self.remote_datacenters()):
                if dc not in self.links or not self.links[dc].running:
                    log.info("remote datacenter seen", datacenter=dc)
                    await self.ensure(dc)
            if gossip is None or gossip.wan is None:
                await trio.sleep(WATCH_INTERVAL)
            else:
                version = await gossip.wait_members_changed(version, timeout=WATCH_INTERVAL, wan=True)

    # -- forwarding ------------------------------------------------------------------------------------

    async def forward(self, req: Request, dc: str) -> Response:
        if dc not in self.remote_datacenters():
            return _text(500, NO_PATH)
        link = await self.ensure(dc)
        call = HttpCall(method=req.method, target=strip_dc(req.raw_path, req.raw_query), body=req.body,
                        headers=[(_str(k), _str(v)) for k, v in req.raw_headers
                                 if _str(k).lower() not in HOP_HEADERS])
        try:
            answer = await link.forward(call, self.servers_of(dc), forward_timeout(req, self.ctx.config.wan),
                                        long_poll="index" in req.query)
        except NoPath as exc:
            log.warning("no path to datacenter", datacenter=dc, error=str(exc))
            return _text(500, NO_PATH)
        except ForwardFailed as exc:
            return _text(500, str(exc))
        assert isinstance(answer, HttpAnswer)
        content_type = next((v for k, v in answer.headers if k.lower() == "content-type"), "application/json")
        headers = {k: v for k, v in answer.headers if k.lower() not in HOP_HEADERS}
        return Response(answer.status, answer.body, headers, content_type=content_type)

    async def forward_dns(self, dc: str, packet: bytes, transport: str) -> bytes | None:
        """The reply of a server of ``dc`` to a DNS query, or None when none could answer (SERVFAIL)."""
        if dc not in self.remote_datacenters():
            return None
        link = await self.ensure(dc)
        try:
            answer = await link.forward(DnsCall(packet=packet, transport=transport), self.servers_of(dc), DNS_TIMEOUT)
        except (NoPath, ForwardFailed) as exc:
            log.warning("DNS query for another datacenter failed", datacenter=dc, error=str(exc))
            return None
        assert isinstance(answer, DnsAnswer)
        return answer.packet or None


class WanSupervisor(Supervisor):
    """``wan``: one ``dc:<name>`` child per remote datacenter, plus the watcher that adds them."""

    def __init__(self, wan: WanRouter) -> None:
        super().__init__([], WAN_POLICY, kind="wan")
        self.wan = wan

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(super().run)
            self.wan.supervisor = self
            try:
                nursery.start_soon(self.wan.watch)
                task_status.started()
                await trio.sleep_forever()
            finally:
                self.wan.supervisor = None

    def statistics(self) -> dict[str, Any]:
        return {**super().statistics(), "datacenters": self.wan.datacenters()}


def wan_children(ctx: "AgentContext") -> list[ChildSpec]:
    """Servers with a WAN pool: the ``wan`` subtree; sets ``ctx.extras["wan"]``."""
    gossip = ctx.extras.get("gossip")
    if not ctx.config.server or gossip is None or gossip.wan is None:
        return []
    wan = WanRouter(ctx)
    ctx.extras["wan"] = wan
    faults: FaultTable | None = ctx.extras.get("faults")
    if faults is not None:
        alias_wan_names(faults, gossip.wan)
    return [ChildSpec("wan", WanSupervisor, wan)]


def alias_wan_names(faults: FaultTable, pool: Any) -> None:
    """Make ``faults`` read the WAN pool's member names (``<node>.<dc>``: ours now, the servers' as they
    appear) as node names, the only names fault rules use."""
    faults.alias(pool.name, pool.settings.node)

    def learn(members: list[Any], servers: list[Any]) -> None:
        for server in servers:
            faults.alias(server.name, server.node)

    learn([], pool.servers())
    pool.listeners.append(learn)


def install_wan_forwarding(router: Router, ctx: "AgentContext") -> None:
    """Servers: a before-hook sending state API requests with ``?dc=<other>`` to that datacenter."""
    if ctx.backend is None:
        return  # clients send these requests whole to a local server (actors/forward/client.py)

    async def hook(req: Request) -> Response | None:
        dc = target_datacenter(req)
        if not dc or dc == ctx.config.datacenter:
            return None
        wan: WanRouter | None = ctx.extras.get("wan")
        if wan is None:
            return _text(500, NO_PATH)
        return await wan.forward(req, dc)

    router.before.append(hook)


def target_datacenter(req: Request) -> str:
    """The datacenter named for ``req`` ("" for none: this one), as Consul's endpoints read it."""
    if req.path in BODY_DC_PATHS:
        return body_datacenter(req.body) if req.method == "PUT" else ""
    if not req.path.startswith(WAN_PREFIXES) or req.path in LOCAL_ONLY:
        return ""
    return req.arg("dc") or ""


def body_datacenter(body: bytes) -> str:
    """The top-level ``Datacenter`` of a JSON object body (any key case); "" if absent or unreadable
    (the local handler then answers the decode error)."""
    try:
        data = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        return ""
    if not isinstance(data, dict):
        return ""
    value = next((v for k, v in data.items() if isinstance(k, str) and k.lower() == "datacenter"), "")
    return value if isinstance(value, str) else ""


def strip_dc(raw_path: str, raw_query: str) -> str:
    """The request target without any ``dc`` parameter (the remote answers it as its own)."""
    kept = [part for part in raw_query.split("&") if part and unquote_plus(part.split("=", 1)[0]) != "dc"]
    return raw_path + ("?" + "&".join(kept) if kept else "")


def forward_timeout(req: Request, settings: WanForwarding | None = None) -> float:
    """Plain requests: ``wan.request_timeout``. Blocking ones (``index``): their wait, its jitter, and that."""
    request_timeout = (settings or WanForwarding()).request_timeout
    if "index" not in req.query:
        return request_timeout
    wait = DEFAULT_WAIT
    raw = req.arg("wait")
    if raw:
        try:
            wait = min(parse_duration_ns(raw) / 1e9, MAX_WAIT) or DEFAULT_WAIT
        except ValueError:
            wait = DEFAULT_WAIT  # the remote answers 400 at once
    return wait + wait / 16 + request_timeout


def _str(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _text(status: int, message: str) -> Response:
    return Response(status, message.encode(), content_type="text/plain; charset=utf-8")
