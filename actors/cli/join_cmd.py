"""``proconsul join [-wan] ADDRESS...``: ask the agent to join a cluster through the given addresses.

What lives here: the command. Each address (``host[:port]``) is sent to ``PUT /v1/agent/join/<address>``
(with ``?wan=1`` for ``-wan``); a failing address is reported and the others still tried. Success prints
``Successfully joined cluster by contacting N nodes.``; no success at all exits 1 with
``Failed to join any nodes.``, as Consul's command does.

What must never live here: joining itself (the agent's gossip).
"""

from __future__ import annotations

from actors.cli.kv_cmd import ApiError, FlagSet, HttpFlags, error, info, run_command

SUMMARY = "Tell Consul agent to join cluster"

USAGE = """Usage: proconsul join [options] address ...

  Tells a running agent to join the cluster by specifying at least one existing member."""


def _setup(flags: FlagSet) -> None:
    flags.bool("wan", "Joins a server to another server in the WAN pool.")


def _join(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not args:
        error("At least one address to join must be specified.")
        error(USAGE)
        return 1
    client = http.client()
    query = [("wan", "1")] if flags["wan"] else []
    joins = 0
    for address in args:
        try:
            client.call("PUT", f"/v1/agent/join/{address}", query)
        except ApiError as err:
            error(f"Error joining address '{address}': {err}")
            continue
        joins += 1
    if joins == 0:
        error("Failed to join any nodes.")
        return 1
    info(f"Successfully joined cluster by contacting {joins} nodes.")
    return 0


def run(argv: list[str]) -> int:
    return run_command(USAGE, _setup, _join, argv)
