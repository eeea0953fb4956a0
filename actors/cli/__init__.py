"""The ``proconsul`` command line: one sub-command per module, dispatched from here.

What lives here: `main(argv)`, the table of sub-commands and the top-level usage text. Each
sub-command module exposes ``run(argv) -> int`` (its exit code) and a one-line ``SUMMARY``.

What must never live here: sub-command logic, or anything the agent itself needs at run time.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "acl": "actors.cli.acl_cmd",
    "agent": "actors.cli.agent_cmd",
    "actors": "actors.cli.actors_cmd",
    "catalog": "actors.cli.catalog_cmd",
    "kv": "actors.cli.kv_cmd",
    "operator": "actors.cli.operator_cmd",
    "reload": "actors.cli.reload_cmd",
    "version": "actors.cli.version_cmd",
    "members": "actors.cli.members_cmd",
    "join": "actors.cli.join_cmd",
    "leave": "actors.cli.leave_cmd",
    "force-leave": "actors.cli.force_leave_cmd",
    "event": "actors.cli.event_cmd",
    "keygen": "actors.cli.keygen_cmd",
    "keyring": "actors.cli.keyring_cmd",
    "scenario": "actors.cli.scenario_cmd",
    "tls": "actors.cli.tls_cmd",
}


def usage() -> str:
    lines = ["Usage: proconsul [--version] [--help] <command> [<args>]", "", "Available commands are:"]
    for name, module in COMMANDS.items():
        summary = getattr(importlib.import_module(module), "SUMMARY", "")
        lines.append(f"    {name:<12}{summary}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "-help", "--help", "help"):
        print(usage(), file=sys.stderr if not args else sys.stdout)
        return 1 if not args else 0
    if args[0] in ("-v", "-version", "--version"):
        args = ["version"]
    name, rest = args[0], args[1:]
    module = COMMANDS.get(name)
    if module is None:
        print(f"Unknown command: {name!r}\n\n{usage()}", file=sys.stderr)
        return 1
    return int(importlib.import_module(module).run(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
