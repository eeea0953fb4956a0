"""``proconsul leave``: make the agent leave the cluster gracefully and shut down.

What lives here: the command, ``PUT /v1/agent/leave``; success prints ``Graceful leave complete``.

What must never live here: the leave itself (the agent's gossip).
"""

from __future__ import annotations

from actors.cli.kv_cmd import ApiError, FlagSet, HttpFlags, error, info, run_command

SUMMARY = "Gracefully leaves the Consul cluster and shuts down"

USAGE = """Usage: proconsul leave [options]

  Causes the agent to gracefully leave the cluster and shut down."""


def _setup(flags: FlagSet) -> None:
    pass


def _leave(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if args:
        error(f"Too many arguments (expected 0, got {len(args)})")
        return 1
    try:
        http.client().call("PUT", "/v1/agent/leave")
    except ApiError as err:
        error(f"Error leaving: {err}")
        return 1
    info("Graceful leave complete")
    return 0


def run(argv: list[str]) -> int:
    return run_command(USAGE, _setup, _leave, argv)
