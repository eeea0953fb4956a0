"""``proconsul version``: print proconsul's version and the Consul API version it follows."""

from __future__ import annotations

from actors.version import CONSUL_COMPAT_VERSION, PROTOCOL_VERSION, VERSION

SUMMARY = "Prints the proconsul version"


def run(argv: list[str]) -> int:
    print(f"proconsul v{VERSION}")
    print(f"Consul API compatibility: v{CONSUL_COMPAT_VERSION}")
    print(f"Protocol {PROTOCOL_VERSION} spoken by default")
    return 0
