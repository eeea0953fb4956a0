"""``proconsul reload``: ask the agent to re-read its configuration (services and checks from config files).

What lives here: one ``PUT /v1/agent/reload`` and Consul's message. Sending SIGHUP to the agent does the same
(certificates are re-read too). Flags: ``-http-addr``, ``-token``, and the TLS flags (``-ca-file``,
``-ca-path``, ``-client-cert``, ``-client-key``, ``-tls-server-name``, or their ``CONSUL_*`` variables).

What must never live here: reload logic (``actors/local/local_agent.py``).
"""

from __future__ import annotations

import sys

from actors.cli.http_client import (CLIError, request, resolve_http_addr, split_flag, split_tls, split_token,
                                    tls_context_for)

SUMMARY = "Triggers the agent to reload configuration files"


def run(argv: list[str]) -> int:
    try:
        addr, rest = split_flag(argv, "http-addr")
        token, rest = split_token(rest)
        tls_flags, rest = split_tls(rest)
        if rest:
            raise CLIError(f"unexpected arguments: {rest}")
        base = resolve_http_addr(addr)
        status, body = request(base, "PUT", "/v1/agent/reload", token=token, tls=tls_context_for(base, tls_flags))
        if status != 200:
            raise CLIError(f"Error reloading: Unexpected response code: {status} ({body.decode().strip()})")
        print("Configuration reload triggered")
        return 0
    except CLIError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
