"""The client side of API forwarding: a client agent sends state API requests to a server.

What lives here: `install_forwarding(router, ctx)` and `forwarding_children(ctx)`. On an agent with no
replicated state (``ctx.backend is None``: a client), a before-hook catches every request to the
server-backed API (``/v1/kv``, ``/v1/txn``, ``/v1/session``, ``/v1/catalog``, ``/v1/health``,
``/v1/status``, ``/v1/operator``, ``/v1/acl``, and ``/v1/event/fire`` with ``?dc=`` naming another
datacenter) and sends it whole, headers included (the ACL token travels with it; a request without one
carries the agent's default token, as Consul's agents do), as an `HttpCall`, to a server of this
datacenter found through gossip, over the server port ("http" protocol, pooled connections). The server answers
through its own router, so status codes, headers, bodies and blocking queries are exactly the
server's. The connections use TLS under ``verify_outgoing`` (`actors.tls.agent_tls.AgentTls.dial`). A
server that cannot be reached before the request was sent is skipped for the next one;
a request that may have been delivered is never re-sent (its fate is unknown): it answers 500.

Servers are named for the fault table by their node names: the client's `AddressBook` learns which node
listens at which server RPC address from gossip's member list each time `known_servers` is asked (every
user of the client asks it before calling), so a rule ``c1 -> s1`` cuts what this agent sends to ``s1``.

What must never live here: endpoint logic, or server-side behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.acl.agent_tokens import agent_tokens
from actors.acl.request_token import token_of
from actors.forward.messages import ForwardResponse, HttpCall
from actors.tls.agent_tls import agent_tls
from runtime.http import Request, Response, Router
from runtime.supervisor import ChildSpec
from runtime.transport.addresses import AddressBook
from runtime.transport.errors import RpcRemoteError, RpcTimeout, RpcUnreachable
from runtime.transport.rpc_client import RpcClient, RpcClientActor

if TYPE_CHECKING:
    from actors.context import AgentContext

FORWARDED_PREFIXES = ("/v1/kv", "/v1/txn", "/v1/session/", "/v1/catalog/", "/v1/health/", "/v1/status/",
                      "/v1/operator/", "/v1/acl/")
EVENT_FIRE = "/v1/event/fire/"
HOP_HEADERS = {"connection", "content-length", "transfer-encoding", "keep-alive", "content-type"}
BLOCKING_TIMEOUT = 700.0  # a blocking query may wait 10 min + wait/16 jitter on the server
PLAIN_TIMEOUT = 30.0


def forwarding_children(ctx: "AgentContext") -> list[ChildSpec]:
    if ctx.backend is not None:
        return []
    client = RpcClient(node=ctx.config.node_name, dc=ctx.config.datacenter, response_type=ForwardResponse, kind="http",
                       faults=ctx.extras.get("faults"), addresses=AddressBook(),
                       tls=agent_tls(ctx).dial(ctx.config.datacenter))
    ctx.extras["forward.client"] = client
    return [ChildSpec("forward", RpcClientActor, client)]


def install_forwarding(router: Router, ctx: "AgentContext") -> None:
    if ctx.backend is not None:
        return
    rng = ctx.rng("forward")
    preferred: list[tuple[str, int] | None] = [None]

    def servers() -> list[tuple[str, int]]:
        return known_servers(ctx)

    async def forward(req: Request) -> Response | None:
        if not (req.path.startswith(FORWARDED_PREFIXES) or _fires_elsewhere(req, ctx.config.datacenter)):
            return None
        client: RpcClient | None = ctx.extras.get("forward.client")
        candidates = servers()
        if client is None or not candidates:
            return Response(500, b"No known Consul servers", content_type="text/plain; charset=utf-8")
        first = preferred[0] if preferred[0] in candidates else rng.choice(candidates)
        order = [first] + [c for c in candidates if c != first]
        headers = [(_text(k), _text(v)) for k, v in req.raw_headers if _text(k).lower() not in HOP_HEADERS]
        if ctx.config.acl.enabled and token_of(req) is None:
            default = agent_tokens(ctx).default  # as Consul's agents: no token given -> the agent's default
            if default:
                headers.append(("X-Consul-Token", default))
        call = HttpCall(method=req.method, target=req.target, body=req.body, origin_node=ctx.config.node_name,
                        headers=headers)
        timeout = BLOCKING_TIMEOUT if "index" in req.query else PLAIN_TIMEOUT
        last_error = ""
        for address in order:
            try:
                answer: Any = await client.call(address, call, timeout=timeout)
            except RpcUnreachable as exc:
                last_error = str(exc)
                continue
            except RpcTimeout:
                return _error(f"rpc error making call: timeout waiting for {address[0]}:{address[1]}")
            except RpcRemoteError as exc:
                return _error(f"rpc error making call: {exc.error.message}")
            preferred[0] = address
            content_type = next((v for k, v in answer.headers if k.lower() == "content-type"), "application/json")
            headers = {k: v for k, v in answer.headers if k.lower() not in HOP_HEADERS}
            return Response(answer.status, answer.body, headers, content_type=content_type)
        return _error(f"rpc error making call: no server reachable ({last_error})")

    router.before.append(forward)


def _fires_elsewhere(req: Request, local_dc: str) -> bool:
    """An event fired for another datacenter: a server sends it there (this agent fires the rest itself)."""
    dc = req.arg("dc")
    return req.path.startswith(EVENT_FIRE) and bool(dc) and dc != local_dc


def known_servers(ctx: "AgentContext") -> list[tuple[str, int]]:
    """Server RPC addresses of this datacenter that gossip sees alive, sorted. Tells the forwarding
    client's address book which node listens at each server address gossip knows (whatever its status)."""
    gossip = ctx.extras.get("gossip")
    if gossip is None:
        return []
    servers = gossip.servers()
    client: RpcClient | None = ctx.extras.get("forward.client")
    if client is not None and client.addresses is not None:
        for s in servers:
            client.addresses.set((s.address, s.port), s.node)
    found = [(s.address, s.port) for s in servers if s.datacenter == ctx.config.datacenter and s.status == "alive"]
    return sorted(found)


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _error(message: str) -> Response:
    return Response(500, message.encode(), content_type="text/plain; charset=utf-8")
