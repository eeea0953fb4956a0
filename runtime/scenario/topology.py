"""The nodes a scenario describes: `[cluster]` or `[[datacenters]]` expanded into one `NodeSpec` per agent.

What lives here: `NodeSpec` (name, datacenter, role ``server``/``client``/``dev``, extra flags, JSON
config), `expand_nodes(scenario)` with the naming rule (``s1``, ``c1``, ``n1``; prefixed ``<dc>-`` when
there are several datacenters) and the merge of datacenter-wide and per-agent options/config.

What must never live here: ports, directories or processes (``launcher.py``), or validation messages
(``validate.py`` reports duplicate names using `node_lists`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Literal

from .schema import ClusterBase, Scenario

Role = Literal["server", "client", "dev"]
_PREFIX: dict[Role, str] = {"server": "s", "client": "c", "dev": "n"}


@dataclass(frozen=True)
class NodeSpec:
    name: str
    dc: str
    role: Role
    options: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def is_server(self) -> bool:
        """Servers and -dev agents take part in Raft and answer /v1/status/leader."""
        return self.role in ("server", "dev")


def datacenters(scenario: Scenario) -> list[tuple[str, ClusterBase, tuple[str | int, ...]]]:
    """(name, table, key path) of each datacenter of the scenario."""
    if scenario.cluster is not None:
        return [(scenario.cluster.datacenter, scenario.cluster, ("cluster",))]
    return [(dc.name, dc, ("datacenters", i)) for i, dc in enumerate(scenario.datacenters)]


def node_lists(scenario: Scenario) -> Iterator[tuple[str, str, Role, tuple[str | int, ...]]]:
    """(node name, dc, role, key path of the list that named it) in declaration order."""
    dcs = datacenters(scenario)
    prefix_dc = len(dcs) > 1
    for dc_name, table, path in dcs:
        for role, value in (("server", table.servers), ("client", table.clients), ("dev", table.dev)):
            key = {"server": "servers", "client": "clients", "dev": "dev"}[role]
            if isinstance(value, int):
                stem = f"{dc_name}-{_PREFIX[role]}" if prefix_dc else _PREFIX[role]
                names = [f"{stem}{i}" for i in range(1, value + 1)]
            else:
                names = list(value)
            for name in names:
                yield name, dc_name, role, (*path, key)  # type: ignore[misc]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def expand_nodes(scenario: Scenario) -> list[NodeSpec]:
    tables = {name: table for name, table, _ in datacenters(scenario)}
    nodes = []
    for name, dc, role, _ in node_lists(scenario):
        table = tables[dc]
        override = table.agents.get(name)
        options = tuple(table.options) + (tuple(override.options) if override else ())
        config = _merge(table.config, override.config) if override else dict(table.config)
        nodes.append(NodeSpec(name, dc, role, options, config))
    return nodes
