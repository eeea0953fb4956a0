"""``proconsul agent [flags]``: parse Consul's agent flags, print the banner, run the agent.

What lives here: turning argv into an `AgentConfig` (through ``actors.flags``), reporting flag and
config errors in one clear message with exit code 1, and handing over to `actors.agent.run_agent`.

What must never live here: agent behaviour.
"""

from __future__ import annotations

import socket
import sys

import trio

SUMMARY = "Runs a proconsul agent"


def banner(cfg) -> str:  # type: ignore[no-untyped-def]
    p = cfg.ports
    lines = [
        "==> Starting proconsul agent...",
        f"           Node name: '{cfg.node_name}'",
        f"          Datacenter: '{cfg.datacenter}'",
        f"              Server: {str(cfg.server).lower()} (Bootstrap: {str(cfg.bootstrap).lower()})",
        f"         Client Addr: [{cfg.client_addr}] (HTTP: {p.http}, DNS: {p.dns})",
        f"        Cluster Addr: {cfg.bind_addr} (LAN: {p.serf_lan}, WAN: {p.serf_wan}, Server RPC: {p.server})",
        f"           Inspector: ws://{cfg.client_addr}:{p.http}/v1/agent/actors",
        f"    Fault injection: {str(cfg.enable_fault_injection).lower()}",
        "",
        "==> Log data will now stream in as it occurs:",
    ]
    return "\n".join(lines)


def run(argv: list[str]) -> int:
    from actors.agent import configure_logging, run_agent
    from actors.config import ConfigError
    from actors.flags import FlagError, parse_agent_flags, usage

    if any(a.lstrip("-") in ("h", "help") for a in argv):
        print(usage())
        return 0
    try:
        cfg = parse_agent_flags(argv, hostname=socket.gethostname())
        from actors.tls.agent_tls import AgentTls

        AgentTls(cfg)  # certificates and keys load (or the reason they do not), before anything starts
    except FlagError as err:
        print(f"{err}\n\n{usage()}", file=sys.stderr)
        return 1
    except ConfigError as err:
        print(f"==> {err}", file=sys.stderr)
        return 1
    configure_logging(cfg)
    print(banner(cfg), flush=True)
    try:
        hostname = socket.gethostname()
        return trio.run(run_agent, cfg, lambda: parse_agent_flags(argv, hostname=hostname))
    except KeyboardInterrupt:
        return 0
