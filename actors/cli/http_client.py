"""How CLI commands reach an agent's HTTP API: ``-http-addr`` and ``CONSUL_HTTP_ADDR``, as Consul's do.

What lives here: `parse_common(argv)` which pulls ``-http-addr`` (and ``-token`` later) out of a
command's arguments, `resolve_http_addr`, and `get_json` / `put` helpers built on the standard
library (a CLI call is one short request; it needs no event loop).

What must never live here: command-specific logic.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

DEFAULT_HTTP_ADDR = "127.0.0.1:8500"


class CLIError(Exception):
    """A problem to report to the user in one line, exit code 1."""


def resolve_http_addr(flag_value: str | None) -> str:
    """``-http-addr`` wins, then ``CONSUL_HTTP_ADDR``, then 127.0.0.1:8500. Returns a base URL."""
    addr = flag_value or os.environ.get("CONSUL_HTTP_ADDR") or DEFAULT_HTTP_ADDR
    if "://" not in addr:
        addr = "http://" + addr
    return addr.rstrip("/")


def split_flag(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    """Remove ``-name value`` / ``-name=value`` (single or double dash) from argv; return (value, rest)."""
    value: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        bare = arg.lstrip("-")
        if arg.startswith("-") and (bare == name or bare.startswith(name + "=")):
            if "=" in bare:
                value = bare.split("=", 1)[1]
            else:
                if i + 1 >= len(argv):
                    raise CLIError(f"flag needs an argument: -{name}")
                value = argv[i + 1]
                i += 1
        else:
            rest.append(arg)
        i += 1
    return value, rest


def request(base: str, method: str, path: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(base + path, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise CLIError(f"Error connecting to agent at {base}: {reason}") from None


def get_json(base: str, path: str) -> Any:
    status, body = request(base, "GET", path)
    if status != 200:
        raise CLIError(f"Unexpected response code: {status} ({body.decode(errors='replace').strip()})")
    return json.loads(body)
