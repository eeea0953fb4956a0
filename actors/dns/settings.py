"""The DNS options of one agent, normalised once when the DNS actor starts.

What lives here: `DnsSettings` (domain as an absolute lower-case dnspython name, datacenter, TTLs in
whole seconds, answer limits, recursor addresses), `DnsSettings.from_config`, the per-service TTL lookup
(exact name first, then the longest ``prefix*`` pattern, as Consul's ``GetTTLForService``), and
`parse_recursor` (``ip``, ``ip:port``, ``[v6]:port`` or a bare IPv6 address; port 53 when omitted;
`usable_recursors` leaves out, with a warning, any that is not an IP address).

What must never live here: sockets, store reads, or anything that answers a query.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dns.name

from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.config import AgentConfig

log = get_logger("dns")

# Consul's SOA timers (agent/config/default.go: dns_config.soa).
SOA_REFRESH = 3600
SOA_RETRY = 600
SOA_EXPIRE = 86400
SOA_MIN_TTL = 0

# Consul never answers more than 8 records over plain (non-EDNS) UDP, whatever udp_answer_limit says.
MAX_UDP_ANSWER_LIMIT = 8


@dataclass(frozen=True)
class DnsSettings:
    domain: dns.name.Name
    datacenter: str
    node_name: str
    node_ttl: int = 0
    service_ttls: dict[str, int] = field(default_factory=dict)  # exact service name -> seconds
    service_ttl_prefixes: tuple[tuple[str, int], ...] = ()  # (prefix, seconds), longest prefix first
    only_passing: bool = False
    allow_stale: bool = True
    max_stale: float = 0.0
    udp_answer_limit: int = 3
    a_record_limit: int = 0
    enable_truncate: bool = False
    node_meta_txt: bool = True  # Consul's enable_additional_node_meta_txt (default true)
    recursors: tuple[tuple[str, int], ...] = ()
    recursor_timeout: float = 2.0

    @classmethod
    def from_config(cls, cfg: "AgentConfig") -> "DnsSettings":
        dc = cfg.dns_config
        exact: dict[str, int] = {}
        prefixes: list[tuple[str, int]] = []
        for pattern, seconds in dc.service_ttl.items():
            if pattern.endswith("*"):
                prefixes.append((pattern[:-1].lower(), int(seconds)))
            else:
                exact[pattern.lower()] = int(seconds)
        prefixes.sort(key=lambda item: len(item[0]), reverse=True)
        return cls(
            domain=domain_name(cfg.domain),
            datacenter=cfg.datacenter.lower(),
            node_name=cfg.node_name,
            node_ttl=int(dc.node_ttl),
            service_ttls=exact,
            service_ttl_prefixes=tuple(prefixes),
            only_passing=dc.only_passing,
            allow_stale=dc.allow_stale,
            max_stale=dc.max_stale,
            udp_answer_limit=dc.udp_answer_limit,
            a_record_limit=dc.a_record_limit,
            enable_truncate=dc.enable_truncate,
            node_meta_txt=getattr(dc, "enable_additional_node_meta_txt", True),
            recursors=usable_recursors(cfg.recursors),
            recursor_timeout=dc.recursor_timeout,
        )

    def service_ttl(self, service: str) -> int:
        """The TTL (seconds) of answers about ``service``; 0 when no pattern matches."""
        name = service.lower()
        if name in self.service_ttls:
            return self.service_ttls[name]
        for prefix, seconds in self.service_ttl_prefixes:
            if name.startswith(prefix):
                return seconds
        return 0


def domain_name(domain: str) -> dns.name.Name:
    """``consul``/``consul.``/``Consul.`` -> the absolute name ``consul.``."""
    text = domain.strip().lower() or "consul."
    return dns.name.from_text(text if text.endswith(".") else text + ".")


def usable_recursors(texts: list[str]) -> tuple[tuple[str, int], ...]:
    """The recursors that are IP addresses; the others are logged and left out (never a crash loop)."""
    found = []
    for text in texts:
        try:
            found.append(parse_recursor(text))
        except ValueError as exc:
            log.warning("ignoring DNS recursor", recursor=text, error=str(exc))
    return tuple(found)


def parse_recursor(text: str) -> tuple[str, int]:
    """A recursor address as (host, port); raises ValueError for anything that is not an IP address."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"invalid recursor address: {text}")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"invalid recursor port: {text}")
    return host, port
