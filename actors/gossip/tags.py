"""What an agent advertises about itself in gossip, and what a server's tags tell the others.

What lives here: `agent_tags` (the tag map of this agent, Consul's keys: ``role`` ``consul`` for servers
and ``node`` for clients, ``dc``, ``id``, ``vsn``/``vsn_min``/``vsn_max``, ``build``, and for servers
``port`` (server RPC), ``bootstrap`` or ``expect``), `build_tag`, and `ServerInfo` with `server_info`,
which reads a member's tags back into the facts the Raft subsystem and clients need.

What must never live here: encoding tags into metadata (``actors.swim.serf.encode_tags``) or membership.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from actors.swim.serf import ConsulTags
from actors.version import CONSUL_COMPAT_VERSION, PROTOCOL_VERSION, VERSION

if TYPE_CHECKING:
    from actors.config import AgentConfig

PROTOCOL_MIN = 2
PROTOCOL_MAX = 3


def build_tag() -> str:
    """Consul's ``build`` tag: ``<version>:<revision>``; ``consul members`` shows the part before ``:``."""
    return f"{CONSUL_COMPAT_VERSION}:proconsul-{VERSION}"


def agent_tags(cfg: "AgentConfig", node_id: str) -> dict[str, str]:
    """The tags this agent gossips (the same map in the LAN and WAN pools)."""
    extra: dict[str, str] = {}
    if cfg.server:
        if cfg.bootstrap:
            extra["bootstrap"] = "1"
        if cfg.bootstrap_expect:
            extra["expect"] = str(cfg.bootstrap_expect)
    tags = ConsulTags(
        role="consul" if cfg.server else "node",
        dc=cfg.datacenter,
        id=node_id,
        port=cfg.ports.server if cfg.server else None,
        vsn=PROTOCOL_VERSION,
        vsn_min=PROTOCOL_MIN,
        vsn_max=PROTOCOL_MAX,
        build=build_tag(),
        extra=extra,
    )
    return tags.to_tags()


class ServerInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A Consul server seen through gossip. ``name`` is the member name (``<node>.<dc>`` on the WAN),
    ``node`` the plain node name; ``address``/``port`` reach its server RPC (Raft rides on it)."""

    name: str
    node: str
    id: str
    address: str
    port: int
    datacenter: str
    bootstrap: bool = False
    bootstrap_expect: int = 0
    status: str = "alive"

    @property
    def dc(self) -> str:
        return self.datacenter

    @property
    def rpc_address(self) -> str:
        return f"{self.address}:{self.port}"


def server_info(name: str, address: str, tags: dict[str, str], status: str, *, wan: bool = False) -> ServerInfo | None:
    """The server described by a member's tags, or None if it is not a (well-formed) Consul server."""
    if tags.get("role") != "consul":
        return None
    try:
        parsed = ConsulTags.from_tags(tags)
        expect = int(parsed.extra.get("expect", "0") or 0)
    except ValueError:
        return None
    if parsed.port is None:
        return None
    node = name
    if wan and parsed.dc and name.endswith("." + parsed.dc):
        node = name[: -len(parsed.dc) - 1]
    return ServerInfo(name=name, node=node, id=parsed.id, address=address, port=parsed.port,
                      datacenter=parsed.dc, bootstrap=parsed.extra.get("bootstrap") == "1",
                      bootstrap_expect=expect, status=status)
