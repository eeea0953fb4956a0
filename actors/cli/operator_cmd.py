"""``proconsul operator raft list-peers|remove-peer|transfer-leader``: Raft administration, as Consul's.

What lives here: argument handling (``-http-addr``, ``-token``, the TLS flags ``-ca-file``, ``-ca-path``,
``-client-cert``, ``-client-key``, ``-tls-server-name`` and their ``CONSUL_*`` variables) and Consul's table
format for ``list-peers`` (Node, ID, Address, State, Voter, RaftProtocol, Commit Index, Trails Leader By).

What must never live here: anything computed beyond formatting what the agent answers.
"""

from __future__ import annotations

import ssl
import sys
import urllib.parse

from actors.cli.http_client import (CLIError, get_json, request, resolve_http_addr, split_flag, split_tls,
                                    split_token, tls_context_for)

SUMMARY = "Provides cluster-level tools for Consul operators"


def list_peers(base: str, stale: bool, token: str | None = None, tls: ssl.SSLContext | None = None) -> str:
    doc = get_json(base, "/v1/operator/raft/configuration" + ("?stale" if stale else ""), token=token, tls=tls)
    servers = doc.get("Servers") or []
    leader_index = max((s.get("LastIndex", 0) for s in servers if s.get("Leader")), default=0)
    rows = [("Node", "ID", "Address", "State", "Voter", "RaftProtocol", "Commit Index", "Trails Leader By")]
    for s in servers:
        trails = max(0, leader_index - s.get("LastIndex", 0)) if not s.get("Leader") else 0
        rows.append((s["Node"], s["ID"], s["Address"], "leader" if s["Leader"] else "follower",
                     str(s["Voter"]).lower(), s.get("ProtocolVersion", "3"), str(s.get("LastIndex", 0)),
                     f"{trails} commits"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def run(argv: list[str]) -> int:
    try:
        addr, rest = split_flag(argv, "http-addr")
        token, rest = split_token(rest)
        tls_flags, rest = split_tls(rest)
        base = resolve_http_addr(addr)
        tls = tls_context_for(base, tls_flags)
        if len(rest) < 2 or rest[0] != "raft":
            raise CLIError("usage: proconsul operator raft list-peers|remove-peer|transfer-leader [options]")
        sub, args = rest[1], rest[2:]
        if sub == "list-peers":
            stale = any(a.lstrip("-") in ("stale", "stale=true") for a in args)
            print(list_peers(base, stale, token, tls))
            return 0
        if sub == "remove-peer":
            peer_id, args = split_flag(args, "id")
            address, args = split_flag(args, "address")
            query = urllib.parse.urlencode({"id": peer_id} if peer_id else {"address": address or ""})
            status, body = request(base, "DELETE", f"/v1/operator/raft/peer?{query}", token=token,
                                   tls=tls)
            if status != 200:
                raise CLIError(f"Error removing peer: Unexpected response code: {status} ({body.decode().strip()})")
            print(f"Removed peer with {'id' if peer_id else 'address'} \"{peer_id or address}\"")
            return 0
        if sub == "transfer-leader":
            peer_id, args = split_flag(args, "id")
            query = f"?id={urllib.parse.quote(peer_id)}" if peer_id else ""
            status, body = request(base, "POST", f"/v1/operator/raft/transfer-leader{query}", token=token,
                                   tls=tls)
            if status != 200:
                raise CLIError(f"Error transferring leadership: {body.decode().strip()}")
            print("Success")
            return 0
        raise CLIError(f"unknown operator raft command {sub!r}")
    except CLIError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
