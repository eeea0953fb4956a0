"""DNS queries this agent cannot answer from its own replica: sent to a server that can.

What lives here: `forward_query(ctx, packet, transport)` (a client agent's query, to a server of this
datacenter) and `forward_to_datacenter(ctx, dc, packet, transport)` (a server's query naming another
datacenter, ``web.service.dc2.consul``, to a server of that datacenter over the WAN link).

`forward_query`: a client agent holds no catalog, so its DNS interface sends each in-domain query
(already decoded and re-encoded by the caller) as a `DnsCall` over the server port to an alive server
found through gossip, trying the next server only when one could
not be reached before the call was sent. The server's answer (rendered for the same transport, so
UDP limits still apply) comes back as bytes; ``None`` means no server could answer (the caller
replies SERVFAIL).

`forward_to_datacenter` raises `UnknownDatacenter` when the WAN pool has never seen a server of ``dc``
(Consul's ``No path to datacenter``, which its DNS answers NXDOMAIN) and returns ``None`` when the
datacenter is known but none of its servers answered in time (SERVFAIL). A client agent never calls
it: its query goes whole to a local server, which does.

What must never live here: DNS resolution (``actors/dns``), how a remote datacenter is reached
(``actors/wan``), or the server side (``server.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.dns.acl_view import forwarded_token
from actors.forward.client import known_servers
from actors.forward.messages import DnsAnswer, DnsCall
from runtime.log import get_logger
from runtime.transport.errors import RpcError, RpcUnreachable

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("dns")

DNS_FORWARD_TIMEOUT = 2.0  # seconds; the same bound the DNS interface gives its own read barrier


class UnknownDatacenter(Exception):
    """No server of this datacenter was ever seen in the WAN pool."""


async def forward_to_datacenter(ctx: "AgentContext", dc: str, packet: bytes, transport: str) -> bytes | None:
    wan = ctx.extras.get("wan")  # servers with a WAN pool only (actors/wan/router.py)
    if wan is None or dc not in wan.known_datacenters():
        raise UnknownDatacenter(dc)
    reply: bytes | None = await wan.forward_dns(dc, packet, transport)
    return reply


async def forward_query(ctx: "AgentContext", packet: bytes, transport: str) -> bytes | None:
    client = ctx.extras.get("forward.client")
    servers = known_servers(ctx)
    if client is None or not servers:
        return None
    call = DnsCall(packet=packet, transport=transport, token=forwarded_token(ctx))  # ACLs: the client's token
    for address in servers:
        try:
            answer = await client.call(address, call, timeout=DNS_FORWARD_TIMEOUT)
        except RpcUnreachable:
            continue
        except RpcError as exc:
            log.debug("DNS forward failed", server=f"{address[0]}:{address[1]}", error=str(exc))
            return None
        if isinstance(answer, DnsAnswer) and answer.packet:
            return answer.packet
        return None
    return None
