"""The server side of API forwarding: answer an `HttpCall` through this server's own router.

What lives here: `http_forward_protocol(ctx)`, the "http" protocol registration for the server port.
The request is rebuilt as a `runtime.http.Request` and dispatched on the router the agent built
(``ctx.extras["router"]``), so every endpoint, blocking query and error behaves exactly as on the
server's HTTP port. The header ``X-Proconsul-Origin-Node`` tells handlers which agent the request came
in at (session create defaults its node to it, as Consul's client agents do).

What must never live here: endpoint logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from actors.forward.messages import (
    ACLResolve,
    ApplyCommand,
    ApplyOutcome,
    DnsAnswer,
    DnsCall,
    ForwardRequest,
    ForwardResponse,
    HttpAnswer,
    HttpCall,
    NodeView,
    NodeViewResult,
)
from actors.state.commands import decode_command
from runtime.http import HTTPError, Request
from runtime.transport.rpc_server import RpcServer

if TYPE_CHECKING:
    from actors.context import AgentContext

ORIGIN_HEADER = "X-Proconsul-Origin-Node"


def http_forward_server(ctx: "AgentContext") -> RpcServer:
    async def handle(call: ForwardRequest) -> ForwardResponse:
        if isinstance(call, ApplyCommand):
            return await apply_command(call)
        if isinstance(call, ACLResolve):
            from actors.acl.remote_resolver import answer_resolve

            return await answer_resolve(ctx, call)
        if isinstance(call, DnsCall):
            handler = ctx.extras.get("dns.handler")
            if handler is None:
                raise HTTPError(500, "this server does not serve DNS")
            reply = await handler.answer(call.packet, call.transport, token=call.token or None)
            return DnsAnswer(packet=reply or b"")
        if isinstance(call, NodeView):
            backend = ctx.backend
            assert backend is not None
            await backend.read_barrier("default")
            index, services = backend.store.node_services(call.node)
            _, checks = backend.store.node_checks(call.node)
            return NodeViewResult(index=index, services=services, checks=list(checks))
        router = ctx.extras.get("router")
        if router is None:
            raise HTTPError(500, "server is starting")
        headers = [(k, v) for k, v in call.headers if k.lower() != ORIGIN_HEADER.lower()]
        if call.origin_node:
            headers.append((ORIGIN_HEADER, call.origin_node))
        req = Request(call.method, call.target, headers, call.body)
        resp = await router.dispatch(req)
        out = [(str(k), str(v)) for k, v in resp.headers.items()]
        if resp.body and resp.content_type:
            out.append(("Content-Type", resp.content_type))
        return HttpAnswer(status=resp.status, headers=out, body=bytes(resp.body))

    async def apply_command(call: ApplyCommand) -> ApplyOutcome:
        backend = ctx.backend
        assert backend is not None
        try:
            command = decode_command(call.command)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise HTTPError(400, f"invalid command: {exc}") from None
        applied = await backend.write(command)
        error = None if applied.error is None else applied.error.to_message(ctx.config.node_name, ctx.config.datacenter)
        return ApplyOutcome(index=applied.index, error=error)

    return RpcServer(handle, ForwardRequest, node=ctx.config.node_name, dc=ctx.config.datacenter, kind="http",
                     max_inflight=4096)
