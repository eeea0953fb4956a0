"""``proconsul keygen``: print a new gossip encryption key (32 random bytes, base64), as Consul's does.

What lives here: the command. The bytes come from the operating system's generator: a key must never
be derived from anything repeatable.

What must never live here: anything that talks to an agent.
"""

from __future__ import annotations

import base64
import secrets
import sys

SUMMARY = "Generates a new encryption key"

KEY_BYTES = 32  # AES-256


def run(argv: list[str]) -> int:
    if argv and argv[0].lstrip("-") in ("h", "help"):
        print("Usage: proconsul keygen\n\n  Generates a new 32-byte encryption key for -encrypt.", file=sys.stderr)
        return 0
    if argv:
        print(f"Too many arguments (expected 0, got {len(argv)})", file=sys.stderr)
        return 1
    print(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode())
    return 0
