"""Consul's TLS names: agent identities in certificates and the file names of ``consul tls``.

What lives here: the identity names (`server_name`: ``server.<dc>.<domain>``, which
``verify_server_hostname`` demands of a server; `client_name`; `cli_name`), `bare_domain` (the agent's
``domain`` setting is ``consul.`` with a trailing dot; certificates use ``consul``), the CA file names
(``<domain>-agent-ca.pem`` / ``<domain>-agent-ca-key.pem``), `leaf_plan` (common name, DNS SANs, IP SANs,
key usages and file prefix of a ``-server``/``-client``/``-cli`` certificate, as Consul's
``tls cert create``) and `next_free_pair` (``<prefix>-<n>.pem`` with the first unused ``n``).

What must never live here: key or certificate generation (``runtime.tls.certs``), or configuration.
"""

from __future__ import annotations

import os
from typing import Literal, NamedTuple, Sequence

Kind = Literal["server", "client", "cli"]

DEFAULT_DOMAIN = "consul"
CA_COMMON_NAME = "Consul Agent CA"  # followed by the serial number, as Consul names its CAs
CA_ORGANIZATION = "HashiCorp Inc."
MAX_INDEX = 10000  # Consul gives up looking for a free file name after this many


def bare_domain(domain: str) -> str:
    """``consul.`` -> ``consul`` (lower case; the DNS root dot is not part of a certificate name)."""
    return domain.strip().rstrip(".").lower() or DEFAULT_DOMAIN


def server_name(dc: str, domain: str) -> str:
    return f"server.{dc}.{bare_domain(domain)}"


def client_name(dc: str, domain: str) -> str:
    return f"client.{dc}.{bare_domain(domain)}"


def cli_name(dc: str, domain: str) -> str:
    return f"cli.{dc}.{bare_domain(domain)}"


def ca_file_names(domain: str) -> tuple[str, str]:
    """(certificate, key) file names of ``tls ca create`` for ``domain``."""
    d = bare_domain(domain)
    return f"{d}-agent-ca.pem", f"{d}-agent-ca-key.pem"


class LeafPlan(NamedTuple):
    common_name: str
    dns_names: list[str]
    ip_addresses: list[str]
    server_auth: bool
    client_auth: bool
    prefix: str  # file name prefix: <dc>-<kind>-<domain>


def leaf_plan(kind: Kind, *, dc: str, domain: str, node: str = "", additional_dns: Sequence[str] = (),
              additional_ips: Sequence[str] = ()) -> LeafPlan:
    """What ``tls cert create -<kind>`` puts in a certificate. Servers and clients get both key usages
    (a client certificate is accepted by TLS as a server one: only the name tells them apart, which is
    why ``verify_server_hostname`` matters); CLI certificates get neither, and no IP SAN."""
    d = bare_domain(domain)
    dns = [n.strip() for n in additional_dns if n.strip()]
    ips = [i.strip() for i in additional_ips if i.strip()]
    if kind == "server":
        name = server_name(dc, d)
        if node:
            dns.append(f"{node}.{name}")
        return LeafPlan(name, dns + [name, "localhost"], ips + ["127.0.0.1"], True, True, f"{dc}-server-{d}")
    if kind == "client":
        name = client_name(dc, d)
        return LeafPlan(name, dns + [name, "localhost"], ips + ["127.0.0.1"], True, True, f"{dc}-client-{d}")
    name = cli_name(dc, d)
    return LeafPlan(name, [name, "localhost"], [], False, False, f"{dc}-cli-{d}")


def next_free_pair(prefix: str, directory: str = ".") -> tuple[str, str] | None:
    """(``<prefix>-<n>.pem``, ``<prefix>-<n>-key.pem``) for the smallest ``n`` where neither exists."""
    for index in range(MAX_INDEX + 1):
        cert = os.path.join(directory, f"{prefix}-{index}.pem")
        key = os.path.join(directory, f"{prefix}-{index}-key.pem")
        if not os.path.exists(cert) and not os.path.exists(key):
            return cert, key
    return None
