"""``proconsul keyring -list | -install KEY | -use KEY | -remove KEY``: manage gossip encryption keys.

What lives here: the command over ``/v1/operator/keyring``. Exactly one action is allowed. Progress lines
carry Consul's ``==> `` prefix; ``-list`` prints, per pool (``WAN``, then ``<dc> (LAN)``), each key with the
number of members holding it: ``  <key> [<n>/<members>]``. Any failure (encryption off, a member that
failed or did not answer) prints ``error: ...`` and exits 1. ``-relay-factor`` is accepted and ignored.

What must never live here: keyring logic (the agent's gossip).
"""

from __future__ import annotations

import json
from typing import Any

from actors.cli.kv_cmd import ApiError, FlagSet, HttpFlags, error, info, run_command

SUMMARY = "Manages gossip layer encryption keys"

USAGE = """Usage: proconsul keyring [options]

  Manages encryption keys used for gossip messages: list the keys in use in the cluster, install
  a new one, make it primary, and remove old ones, for key rotation without disruption."""


def _setup(flags: FlagSet) -> None:
    flags.bool("list", "List all keys currently in use within the cluster.")
    flags.string("install", "", "Install a new encryption key on every member.")
    flags.string("use", "", "Change the primary encryption key (it must already be installed).")
    flags.string("remove", "", "Remove the given key from the cluster (not the primary key).")
    flags.uint("relay-factor", 0, "Accepted for compatibility.")


def list_lines(responses: list[dict[str, Any]]) -> list[str]:
    lines = []
    for response in responses:
        pool = "WAN" if response.get("WAN") else f"{response.get('Datacenter', '')} (LAN)"
        if response.get("Segment"):
            pool += f" [{response['Segment']}]"
        lines += ["", pool + ":"]
        for key, count in sorted((response.get("Keys") or {}).items()):
            lines.append(f"  {key} [{count}/{response.get('NumNodes', 0)}]")
    return lines


def _keyring(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    actions = [name for name in ("install", "use", "remove") if flags[name]]
    if flags["list"] and actions or len(actions) > 1:
        error("Only a single action is allowed")
        return 1
    if not flags["list"] and not actions:
        error(f"{USAGE}\n\nCommand Options:\n\n{flags.describe()}")
        return 1
    client = http.client()
    try:
        if flags["list"]:
            info("==> Gathering installed encryption keys...")
            _, body = client.call("GET", "/v1/operator/keyring")
            for line in list_lines(json.loads(body)):
                info(line)
            return 0
        action = actions[0]
        verb = {"install": "POST", "use": "PUT", "remove": "DELETE"}[action]
        info({"install": "==> Installing new gossip encryption key...",
              "use": "==> Changing primary gossip encryption key...",
              "remove": "==> Removing gossip encryption key..."}[action])
        client.call(verb, "/v1/operator/keyring", body=json.dumps({"Key": flags[action]}).encode())
    except ApiError as err:
        error(f"error: {err}")
        return 1
    return 0


def run(argv: list[str]) -> int:
    return run_command(USAGE, _setup, _keyring, argv)
