"""``proconsul catalog datacenters|services|nodes``: Consul's catalog listings, in Consul's formats.

What lives here: the three read-only sub-commands and their output formats:

* ``services``: one name per line, sorted; ``-tags`` adds each service's sorted tags, comma-joined,
  aligned like Go's ``tabwriter`` (padding 6); ``-node`` lists one node's services; ``-node-meta``
  filters on node metadata. No match prints ``No services match the given query - try expanding
  your search.`` on stderr and still exits 0, as Consul does.
* ``nodes``: a ``columnize`` table (two-space gutters): ``Node  ID  Address  DC``, the ID shortened
  to its first group; ``-detailed`` shows the full ID plus ``TaggedAddresses`` and ``Meta`` as sorted
  ``k=v`` lists. ``-service``, ``-node-meta``, ``-near`` and ``-filter`` narrow it server-side.
* ``datacenters``: one per line.

Flag parsing, the HTTP client and the output helpers come from ``kv_cmd`` (the shared client toolkit).

What must never live here: catalog semantics or anything that writes.
"""

from __future__ import annotations

from typing import Any, Callable

from actors.cli.kv_cmd import ApiError, Body, FlagSet, HttpFlags, error, info, run_command, tab_columns

SUMMARY = "Interact with the catalog"


def columnize(rows: list[list[str]]) -> str:
    """``ryanuber/columnize`` with Consul's settings: cells trimmed, columns left-aligned to their widest
    cell and joined by two spaces, the last cell of a row unpadded."""
    rows = [[cell.strip() for cell in row] for row in rows]
    widths: dict[int, int] = {}
    for row in rows:
        for col, cell in enumerate(row):
            widths[col] = max(widths.get(col, 0), len(cell))
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[col]) for col, cell in enumerate(row[:-1])] + row[-1:]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def map_to_kv(mapping: dict[str, str] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((mapping or {}).items()))


def meta_query(flags: FlagSet) -> list[tuple[str, str | None]]:
    return [("node-meta", f"{k}:{v}") for k, v in sorted(flags["node-meta"].items())]


def no_arguments(args: list[str]) -> bool:
    if args:
        error(f"Too many arguments (expected 0, got {len(args)})")
        return False
    return True


# -- catalog datacenters ----------------------------------------------------------------------------

DATACENTERS_USAGE = """Usage: proconsul catalog datacenters [options]

  List the datacenters the agent knows about."""


def _datacenters(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not no_arguments(args):
        return 1
    try:
        dcs = http.client().get_json("/v1/catalog/datacenters", missing=[])
    except ApiError as err:
        error(f"Error listing datacenters: {err}")
        return 1
    if not dcs:
        error("No datacenters found")
        return 1
    for dc in dcs:
        info(dc)
    return 0


# -- catalog services -------------------------------------------------------------------------------

SERVICES_USAGE = """Usage: proconsul catalog services [options]

  List the services registered in the datacenter. -tags shows each service's tags beside it;
  -node lists only the services of one node; -node-meta key=value keeps services on nodes
  with that metadata (repeatable)."""


def _services_flags(flags: FlagSet) -> None:
    flags.string("node", "", "List only the services registered on this node (ID or name).")
    flags.map("node-meta", "Keep services on nodes whose metadata has key=value. Repeatable.")
    flags.bool("tags", "Show each service's tags, comma-separated, beside its name.")


def _services(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not no_arguments(args):
        return 1
    client = http.client()
    services: dict[str, list[str]] = {}
    if flags["node"]:
        try:
            node = client.get_json("/v1/catalog/node/" + flags["node"], meta_query(flags))
        except ApiError as err:
            error(f"Error listing services for node: {err}")
            return 1
        for svc in ((node or {}).get("Services") or {}).values():
            services.setdefault(svc["Service"], []).extend(svc.get("Tags") or [])
    else:
        try:
            services = client.get_json("/v1/catalog/services", meta_query(flags), missing={}) or {}
        except ApiError as err:
            error(f"Error listing services: {err}")
            return 1
    if not services:
        error("No services match the given query - try expanding your search.")
        return 0
    names = sorted(services)
    if flags["tags"]:
        rows = [(name.encode(), ",".join(sorted(services[name] or [])).encode()) for name in names]
        info(tab_columns(rows).decode().strip())
    else:
        for name in names:
            info(name)
    return 0


# -- catalog nodes ----------------------------------------------------------------------------------

NODES_USAGE = """Usage: proconsul catalog nodes [options]

  List the nodes registered in the datacenter: name, ID (its first group; the whole ID with
  -detailed, plus tagged addresses and metadata), address and datacenter. -service keeps the
  nodes providing a service, -node-meta key=value filters on metadata, -filter takes an
  expression, -near sorts by estimated round-trip time (accepted; proconsul sorts by name)."""


def _nodes_flags(flags: FlagSet) -> None:
    flags.bool("detailed", "Show full node IDs, tagged addresses and metadata.")
    flags.string("filter", "", "A filter expression applied by the agent.")
    flags.string("near", "", "Sort by estimated round-trip time from this node (\"_agent\": this agent).")
    flags.map("node-meta", "Keep nodes whose metadata has key=value. Repeatable.")
    flags.string("service", "", "Keep only the nodes that provide this service (ID or name).")


def _node_rows(nodes: list[dict[str, Any]], detailed: bool) -> list[list[str]]:
    if detailed:
        rows = [["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"]]
        for n in nodes:
            rows.append([n.get("Node", ""), n.get("ID", ""), n.get("Address", ""), n.get("Datacenter", ""),
                         map_to_kv(n.get("TaggedAddresses")), map_to_kv(n.get("Meta"))])
        return rows
    rows = [["Node", "ID", "Address", "DC"]]
    for n in nodes:
        node_id = n.get("ID", "") or ""
        cut = node_id.find("-")
        rows.append([n.get("Node", ""), node_id[:cut] if cut > 0 else node_id, n.get("Address", ""),
                     n.get("Datacenter", "")])
    return rows


def _nodes(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not no_arguments(args):
        return 1
    client = http.client()
    query = meta_query(flags)
    if flags["near"]:
        query.append(("near", flags["near"]))
    if flags["filter"]:
        query.append(("filter", flags["filter"]))
    if flags["service"]:
        try:
            instances = client.get_json("/v1/catalog/service/" + flags["service"], query, missing=[]) or []
        except ApiError as err:
            error(f"Error listing nodes for service: {err}")
            return 1
        nodes = [{"ID": s.get("ID", ""), "Node": s.get("Node", ""), "Address": s.get("Address", ""),
                  "Datacenter": s.get("Datacenter", ""), "TaggedAddresses": s.get("TaggedAddresses"),
                  "Meta": s.get("NodeMeta")} for s in instances]
    else:
        try:
            nodes = client.get_json("/v1/catalog/nodes", query, missing=[]) or []
        except ApiError as err:
            error(f"Error listing nodes: {err}")
            return 1
    if not nodes:
        error("No nodes match the given query - try expanding your search.")
        return 0
    info(columnize(_node_rows(nodes, flags["detailed"])))
    return 0


# -- dispatch -------------------------------------------------------------------------------------

SUBCOMMANDS: dict[str, tuple[str, str, Callable[[FlagSet], None], Body]] = {
    "datacenters": ("Lists all known datacenters", DATACENTERS_USAGE, lambda flags: None, _datacenters),
    "nodes": ("Lists all nodes in the given datacenter", NODES_USAGE, _nodes_flags, _nodes),
    "services": ("Lists all registered services in a datacenter", SERVICES_USAGE, _services_flags, _services),
}

USAGE = "Usage: proconsul catalog <subcommand> [options] [args]\n\n  Read the catalog.\n\nSubcommands:\n" + "\n".join(
    f"    {name:<13}{summary}" for name, (summary, *_rest) in SUBCOMMANDS.items())


def run(argv: list[str]) -> int:
    if not argv or argv[0] not in SUBCOMMANDS:
        error(USAGE)
        return 0 if argv and argv[0] in ("-h", "-help", "--help") else 1
    _, usage, setup, body = SUBCOMMANDS[argv[0]]
    return run_command(usage, setup, body, argv[1:])
