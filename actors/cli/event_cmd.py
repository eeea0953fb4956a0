"""``proconsul event -name NAME [-node RE] [-service RE] [-tag RE] [PAYLOAD]``: fire a user event.

What lives here: the command, ``PUT /v1/event/fire/<name>`` with the payload as the body and the
filters as query parameters; success prints ``Event ID: <id>``. A missing name, a tag filter without a
service filter or more than one payload argument exit 1 with Consul's messages.

What must never live here: events themselves (the agent's gossip).
"""

from __future__ import annotations

import json
import re

from actors.cli.kv_cmd import ApiError, FlagSet, HttpFlags, error, info, run_command

SUMMARY = "Fire a new event"

USAGE = """Usage: proconsul event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide a name, but a payload
  is optional. Events support filtering using regular expressions on node name, service, and tag
  definitions."""


def _setup(flags: FlagSet) -> None:
    flags.string("name", "", "Name of the event.")
    flags.string("node", "", "Regular expression to filter on node names.")
    flags.string("service", "", "Regular expression to filter on service instances.")
    flags.string("tag", "", "Regular expression to filter on service tags. Must be used with -service.")


def _fire(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    name = flags["name"]
    if not name:
        error("Event name must be specified")
        return 1
    if flags["tag"] and not flags["service"]:
        error("Cannot provide tag filter without service filter.")
        return 1
    for kind in ("node", "service", "tag"):
        if flags[kind]:
            try:
                re.compile(flags[kind])
            except re.error as err:
                error(f"Failed to compile {kind} filter regexp: {err}")
                return 1
    if len(args) > 1:
        error("Too many command line arguments.")
        return 1
    payload = args[0].encode() if args else b""
    query = [(kind, flags[kind]) for kind in ("node", "service", "tag") if flags[kind]]
    try:
        _, body = http.client().call("PUT", f"/v1/event/fire/{name}", query, body=payload)
    except ApiError as err:
        error(f"Error firing event: {err}")
        return 1
    info(f"Event ID: {json.loads(body)['ID']}")
    return 0


def run(argv: list[str]) -> int:
    return run_command(USAGE, _setup, _fire, argv)
