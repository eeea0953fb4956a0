"""``GET /v1/agent/self``: this agent's configuration, member entry and statistics.

What lives here: the shape Consul clients expect: exactly the top-level keys ``Config``,
``DebugConfig``, ``Coord``, ``Member``, ``Stats``, ``Meta``, ``xDS``, with ``Stats`` values as strings.
Sections grow as subsystems land (raft and serf statistics are read from the live actor tree).

What must never live here: anything that changes agent state.
"""

from __future__ import annotations

import platform
import sys
from typing import TYPE_CHECKING, Any

import msgspec

from actors.version import CONSUL_COMPAT_VERSION, PROTOCOL_VERSION, VERSION
from runtime.http import Request, Response, Router, json_response

if TYPE_CHECKING:
    from actors.context import AgentContext


def member_entry(ctx: "AgentContext") -> dict[str, Any]:
    """This agent's own Serf-style member entry (status 1 = alive)."""
    cfg = ctx.config
    tags = {
        "role": "consul" if cfg.server else "node",
        "dc": cfg.datacenter,
        "id": ctx.node_id,
        "vsn": str(PROTOCOL_VERSION),
        "vsn_min": "2",
        "vsn_max": "3",
        "build": f"{CONSUL_COMPAT_VERSION}:proconsul-{VERSION}",
    }
    if cfg.server:
        tags["port"] = str(cfg.ports.server)
        if cfg.bootstrap:
            tags["bootstrap"] = "1"
        if cfg.bootstrap_expect:
            tags["expect"] = str(cfg.bootstrap_expect)
    return {
        "Name": cfg.node_name,
        "Addr": advertise_address(ctx),
        "Port": cfg.ports.serf_lan,
        "Tags": tags,
        "Status": 1,
        "ProtocolMin": 1,
        "ProtocolMax": 5,
        "ProtocolCur": 2,
        "DelegateMin": 2,
        "DelegateMax": 5,
        "DelegateCur": 4,
    }


def advertise_address(ctx: "AgentContext") -> str:
    cfg = ctx.config
    if cfg.advertise_addr:
        return cfg.advertise_addr
    return "127.0.0.1" if cfg.bind_addr in ("0.0.0.0", "::", "") else cfg.bind_addr


def install_agent_self(router: Router, ctx: "AgentContext") -> None:
    async def agent_self(req: Request) -> Response:
        cfg = ctx.config
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
            },
            "Meta": dict(cfg.node_meta),
            "xDS": {"SupportedProxies": {}, "Port": -1, "Ports": {"Plaintext": -1, "TLS": -1}},
        }
        return json_response(doc, pretty="pretty" in req.query)

    router.add(["GET"], "/v1/agent/self", agent_self)


def _count(node: Any) -> int:
    return 1 + sum(_count(child) for child in node.children)
