"""``GET /v1/agent/self``: this agent's configuration, member entry and statistics.

What lives here: the shape Consul clients expect: exactly the top-level keys ``Config``,
``DebugConfig``, ``Coord``, ``Member``, ``Stats``, ``Meta``, ``xDS``, with ``Stats`` values as strings.
Sections grow as subsystems land (raft and serf statistics are read from the live actor tree); ``Member``
and ``Stats.serf_lan``/``serf_wan`` come from gossip (``ctx.extras["gossip"]``) when it runs.

ACLs: ``agent:read`` on this node.

What must never live here: anything that changes agent state.
"""

from __future__ import annotations

import platform
import sys
from typing import TYPE_CHECKING, Any

import msgspec

from actors.acl.enforce import acl_of, require
from actors.gossip.members import SerfMember, member_json
from actors.gossip.tags import agent_tags
from actors.version import CONSUL_COMPAT_VERSION, VERSION
from runtime.http import Request, Response, Router, json_response

if TYPE_CHECKING:
    from actors.context import AgentContext


def member_entry(ctx: "AgentContext") -> dict[str, Any]:
    """This agent's own member entry: gossip's when it runs, else synthesised (status 1 = alive)."""
    gossip = ctx.extras.get("gossip")
    own = gossip.local_member() if gossip is not None else None
    if own is not None:
        return member_json(own)
    cfg = ctx.config
    port = gossip.lan.port if gossip is not None else cfg.ports.serf_lan
    return member_json(SerfMember(name=cfg.node_name, address=advertise_address(ctx), port=port,
                                  tags=agent_tags(cfg, ctx.node_id), status="alive"))


def serf_stats(ctx: "AgentContext") -> dict[str, dict[str, str]]:
    """``Stats.serf_lan`` (and ``serf_wan`` on servers) from gossip, when it runs."""
    gossip = ctx.extras.get("gossip")
    if gossip is None:
        return {}
    out = {"serf_lan": gossip.stats()}
    wan = gossip.stats(wan=True)
    if wan is not None:
        out["serf_wan"] = wan
    return out


def advertise_address(ctx: "AgentContext") -> str:
    cfg = ctx.config
    if cfg.advertise_addr:
        return cfg.advertise_addr
    return "127.0.0.1" if cfg.bind_addr in ("0.0.0.0", "::", "") else cfg.bind_addr


def install_agent_self(router: Router, ctx: "AgentContext") -> None:
    async def agent_self(req: Request) -> Response:
        cfg = ctx.config
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.agent_read(cfg.node_name), "agent:read", cfg.node_name)
        snapshot = ctx.tree.snapshot()
        actors = _count(snapshot) if snapshot is not None else 0
        doc = {
            "Config": {
                "Datacenter": cfg.datacenter,
                "PrimaryDatacenter": cfg.datacenter,
                "NodeName": cfg.node_name,
                "NodeID": ctx.node_id,
                "Server": cfg.server,
                "Revision": f"proconsul-{VERSION}",
                "Version": CONSUL_COMPAT_VERSION,
                "BuildDate": "2026-11-22T00:00:00Z",
            },
            "DebugConfig": msgspec.to_builtins(cfg),
            "Coord": {"Vec": [0.0] * 8, "Error": 1.5, "Adjustment": 0.0, "Height": 1e-05},
            "Member": member_entry(ctx),
            "Stats": {
                "agent": {"check_monitors": "0", "check_ttls": "0", "checks": "0", "services": "0"},
                "build": {"prerelease": "", "revision": f"proconsul-{VERSION}", "version": CONSUL_COMPAT_VERSION},
                "consul": {"server": str(cfg.server).lower(), "known_datacenters": "1"},
                "runtime": {
                    "arch": platform.machine(),
                    "os": sys.platform,
                    "python": platform.python_version(),
                    "actors": str(actors),
                },
                **serf_stats(ctx),
            },
            "Meta": dict(cfg.node_meta),
            "xDS": {"SupportedProxies": {}, "Port": -1, "Ports": {"Plaintext": -1, "TLS": -1}},
        }
        return json_response(doc, pretty="pretty" in req.query)

    router.add(["GET"], "/v1/agent/self", agent_self)


def _count(node: Any) -> int:
    return 1 + sum(_count(child) for child in node.children)
