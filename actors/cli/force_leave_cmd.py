"""``proconsul force-leave [-prune] [-wan] NODE``: move a failed member to ``left`` cluster-wide.

What lives here: the command, ``PUT /v1/agent/force-leave/<node>`` with ``?prune`` / ``?wan``. It prints
nothing on success; the agent's refusal (unknown node...) is reported and exits 1.

What must never live here: the force-leave itself (the agent's gossip).
"""

from __future__ import annotations

from actors.cli.kv_cmd import ApiError, FlagSet, HttpFlags, error, run_command

SUMMARY = "Forces a member of the cluster to enter the \"left\" state"

USAGE = """Usage: proconsul force-leave [options] name

  Forces a failed member to enter the "left" state, so that it is no longer reconnected to and
  its services are removed from the catalog by the leader's reconciliation."""


def _setup(flags: FlagSet) -> None:
    flags.bool("prune", "Remove the member from the member list entirely.")
    flags.bool("wan", "Act on the WAN pool (servers only).")


def _force_leave(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if len(args) != 1:
        error("A single node name must be specified to force leave.")
        error(USAGE)
        return 1
    query: list[tuple[str, str | None]] = []
    if flags["prune"]:
        query.append(("prune", None))
    if flags["wan"]:
        query.append(("wan", None))
    try:
        http.client().call("PUT", f"/v1/agent/force-leave/{args[0]}", query)
    except ApiError as err:
        error(f"Error force leaving: {err}")
        return 1
    return 0


def run(argv: list[str]) -> int:
    return run_command(USAGE, _setup, _force_leave, argv)
