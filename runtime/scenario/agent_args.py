"""The command line of one agent of a scenario, in Consul's flag vocabulary.

What lives here: `NodePorts` (the five ports of a node), `agent_argv(...)`, which spells a node's role,
name, datacenter, data dir, loopback addresses, ports, joins (the LAN addresses of its datacenter's
servers, the WAN addresses of other datacenters' servers), ``-enable-fault-injection``, ``-log-json``, its
seed, its config file and then the scenario's extra options, appended last so they win.

What must never live here: defaults of the agent itself, or starting the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .topology import NodeSpec

LOOPBACK = "127.0.0.1"
RETRY_INTERVAL = "1s"  # Consul's 30 s default would make a node that started early wait long to join


@dataclass(frozen=True)
class NodePorts:
    http: int
    dns: int
    server: int
    serf_lan: int
    serf_wan: int

    @classmethod
    def of(cls, ports: Sequence[int]) -> "NodePorts":
        return cls(*ports)


def agent_argv(
    command: Sequence[str],
    node: NodeSpec,
    ports: NodePorts,
    data_dir: Path,
    seed: int,
    all_nodes: Sequence[NodeSpec],
    all_ports: dict[str, NodePorts],
    config_file: Path | None,
) -> list[str]:
    argv = [*command]
    if node.role == "dev":
        argv += ["-dev"]
    else:
        if node.role == "server":
            expect = sum(1 for n in all_nodes if n.dc == node.dc and n.role == "server")
            argv += ["-server", "-bootstrap-expect", str(expect)]
        argv += ["-data-dir", str(data_dir)]
    argv += [
        "-node", node.name,
        "-datacenter", node.dc,
        "-bind", LOOPBACK,
        "-client", LOOPBACK,
        "-http-port", str(ports.http),
        "-dns-port", str(ports.dns),
        "-server-port", str(ports.server),
        "-serf-lan-port", str(ports.serf_lan),
        "-serf-wan-port", str(ports.serf_wan),
        "-enable-fault-injection",
        "-log-json",
        "-seed", str(seed),
    ]
    if node.role != "dev":
        argv += ["-retry-interval", RETRY_INTERVAL]
        for other in all_nodes:
            if other.name != node.name and other.dc == node.dc and other.role == "server":
                argv += ["-retry-join", f"{LOOPBACK}:{all_ports[other.name].serf_lan}"]
        if node.role == "server":
            argv += ["-retry-interval-wan", RETRY_INTERVAL]
            for other in all_nodes:
                if other.dc != node.dc and other.role == "server":
                    argv += ["-retry-join-wan", f"{LOOPBACK}:{all_ports[other.name].serf_wan}"]
    if config_file is not None:
        argv += ["-config-file", str(config_file)]
    return argv + list(node.options)
