"""``proconsul members [-wan] [-status REGEX] [-detailed]``: the cluster's members as Consul prints them.

What lives here: the command and its two formats. The standard table is ``columnize``'d (two-space
gutters) with Consul's columns ``Node Address Status Type Build Protocol DC Partition Segment``: the
address is ``ip:port``, the build is the ``build`` tag up to ``:``, the type ``server``/``client`` from
the ``role`` tag, the partition ``default``, the segment ``<all>`` for servers and ``<default>`` for
clients. Servers come first, then members by name. ``-detailed`` prints ``Node Address Status Tags``
with the tags as sorted ``k=v``. ``-status`` filters on the status word with a regex search; no member
left exits 2, as Consul's command does. ``-segment`` and ``-filter`` are accepted and ignored.

What must never live here: membership logic (the agent's ``/v1/agent/members``).
"""

from __future__ import annotations

import re
from typing import Any

from actors.cli.catalog_cmd import columnize
from actors.cli.kv_cmd import FlagSet, HttpFlags, error, info, run_command

SUMMARY = "Lists the members of a Consul cluster"

USAGE = """Usage: proconsul members [options]

  Outputs the members of a running agent."""

STATUS_NAMES = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}


def _setup(flags: FlagSet) -> None:
    flags.bool("detailed", "Provides detailed information about nodes.")
    flags.bool("wan", "If the agent is in server mode, list the other servers of the WAN pool.")
    flags.string("status", ".*", "Only show members whose status matches this regular expression.")
    flags.string("segment", "", "Accepted for compatibility (Enterprise-only network segments).")
    flags.string("filter", "", "Accepted for compatibility.")


def _address(member: dict[str, Any]) -> str:
    addr = member.get("Addr", "")
    host = f"[{addr}]" if ":" in addr else addr
    return f"{host}:{member.get('Port', 0)}"


def _sort_key(member: dict[str, Any]) -> tuple[int, str, str]:
    tags = member.get("Tags") or {}
    return (0 if tags.get("role") == "consul" else 1, tags.get("segment", ""), member.get("Name", ""))


def standard_rows(members: list[dict[str, Any]]) -> list[list[str]]:
    rows = [["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"]]
    for member in members:
        tags = member.get("Tags") or {}
        status = STATUS_NAMES.get(member.get("Status", 0), "unknown")
        role = tags.get("role", "")
        if role not in ("consul", "node"):
            rows.append([member.get("Name", ""), _address(member), status, "unknown", "", "", "", "", ""])
            continue
        build = tags.get("build", "") or "< 0.3"
        build = build.split(":", 1)[0]
        segment = "<all>" if role == "consul" else (tags.get("segment") or "<default>")
        rows.append([member.get("Name", ""), _address(member), status, "server" if role == "consul" else "client",
                     build, tags.get("vsn", ""), tags.get("dc", ""), tags.get("ap") or "default", segment])
    return rows


def detailed_rows(members: list[dict[str, Any]]) -> list[list[str]]:
    rows = [["Node", "Address", "Status", "Tags"]]
    for member in members:
        tags = member.get("Tags") or {}
        pairs = ",".join(f"{k}={tags[k]}" for k in sorted(tags))
        rows.append([member.get("Name", ""), _address(member), STATUS_NAMES.get(member.get("Status", 0), "unknown"),
                     pairs])
    return rows


def _members(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    try:
        status_re = re.compile(flags["status"])
    except re.error as err:
        error(f"Failed to compile status regexp: {err}")
        return 1
    query = [("wan", "1")] if flags["wan"] else []
    members = http.client().get_json("/v1/agent/members", query, missing=[]) or []
    members = [m for m in members if status_re.search(STATUS_NAMES.get(m.get("Status", 0), "unknown"))]
    if not members:
        return 2
    members.sort(key=_sort_key)
    info(columnize(detailed_rows(members) if flags["detailed"] else standard_rows(members)))
    return 0


def run(argv: list[str]) -> int:
    return run_command(USAGE, _setup, _members, argv)
