"""What a question name asks for: the name grammar of Consul's DNS interface, as pure parsing.

What lives here: one small record per kind of name and `classify(qname, qtype, domain)`, which returns
one of them. The grammar follows Consul's ``dispatch``: labels are read right to left until one names
a kind (``service``, ``node``, ``addr``, ``query``, ``connect``, ``ingress``, ``virtual``); for SRV
questions a label starting with ``_`` also starts an RFC 2782 service name without ``.service``. The
labels left of the kind are the query, the labels right of it the locality: nothing (this datacenter),
``<dc>`` or ``<dc>.dc``. Everything is compared in lower case.

* ``[<tag>.]<service>.service[.<dc>].<domain>``: `ServiceName`; the tag may itself contain dots (the
  Consul 0.3 form), ``_<service>._<tag|tcp>`` is RFC 2782 (``tcp`` means no tag filter).
* ``<node>.node[.<dc>].<domain>``: `NodeName`; the node name may contain dots.
* ``<hex>.addr[.<dc>].<domain>``: `AddrName`, the address-based SRV targets Consul hands out.
* the domain itself: `Apex`; ``*.in-addr.arpa``/``*.ip6.arpa``: `ReverseName`.
* another name inside the domain: `Invalid` (NXDOMAIN); outside it: `Outside` (recursors or REFUSED).

Prepared queries, ``.connect``, ``.ingress`` and ``.virtual`` names are recognised but not served yet
(`Invalid`). What must never live here: store reads or record building.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.reversename

_KINDS = frozenset({"service", "node", "addr", "query", "connect", "ingress", "virtual"})
_ARPA_V4 = dns.name.from_text("in-addr.arpa.")
_ARPA_V6 = dns.name.from_text("ip6.arpa.")


@dataclass(frozen=True)
class ServiceName:
    service: str
    tag: str | None
    datacenter: str | None  # None: the local datacenter


@dataclass(frozen=True)
class NodeName:
    node: str
    datacenter: str | None


@dataclass(frozen=True)
class AddrName:
    address: str  # canonical text of the IP address encoded in the label


@dataclass(frozen=True)
class ReverseName:
    address: str | None  # None when the name is not a complete reverse-map name


@dataclass(frozen=True)
class Apex:
    pass


@dataclass(frozen=True)
class Invalid:
    reason: str


@dataclass(frozen=True)
class Outside:
    pass


Lookup = ServiceName | NodeName | AddrName | ReverseName | Apex | Invalid | Outside


def classify(qname: dns.name.Name, qtype: int, domain: dns.name.Name) -> Lookup:
    if qname.is_subdomain(domain):
        if qname == domain:
            return Apex()
        labels = [_text(label) for label in qname.relativize(domain).labels]
        return _inside(labels, qtype)
    if qname.is_subdomain(_ARPA_V4) or qname.is_subdomain(_ARPA_V6):
        try:
            return ReverseName(dns.reversename.to_address(qname))
        except (dns.exception.DNSException, ValueError):
            return ReverseName(None)
    return Outside()


def _text(label: bytes) -> str:
    # latin-1 maps every byte to one character, so escaped or binary labels never fail to decode.
    return label.decode("latin-1").lower()


def _inside(labels: list[str], qtype: int) -> Lookup:
    kind = ""
    parts: list[str] = []
    suffixes: list[str] = []
    for i in range(len(labels) - 1, -1, -1):
        if labels[i] in _KINDS:
            kind, parts, suffixes = labels[i], labels[:i], labels[i + 1:]
            break
        if qtype == dns.rdatatype.SRV and labels[i].startswith("_"):
            kind, parts, suffixes = "service", labels[: i + 1], labels[i + 1:]
            break
    if not kind:
        return Invalid("no lookup kind in name")
    if kind == "addr":
        return _addr(parts)
    if not parts:
        return Invalid(f"nothing to look up before .{kind}")
    locality = _locality(suffixes)
    if isinstance(locality, Invalid):
        return locality
    if kind == "service":
        return _service(parts, locality)
    if kind == "node":
        return NodeName(".".join(parts), locality)
    return Invalid(f".{kind} lookups are not supported")


def _locality(suffixes: list[str]) -> str | None | Invalid:
    if not suffixes:
        return None
    if len(suffixes) == 1:
        return suffixes[0]
    if len(suffixes) == 2 and suffixes[1] == "dc":
        return suffixes[0]
    return Invalid("unsupported locality " + ".".join(suffixes))


def _service(parts: list[str], datacenter: str | None) -> ServiceName:
    if len(parts) == 2 and parts[0].startswith("_") and parts[1].startswith("_"):
        tag = parts[1][1:]
        return ServiceName(parts[0][1:], None if tag == "tcp" else tag, datacenter)
    tag = ".".join(parts[:-1]) if len(parts) > 1 else None
    return ServiceName(parts[-1], tag, datacenter)


def _addr(parts: list[str]) -> Lookup:
    if len(parts) != 1 or len(parts[0]) not in (8, 32):
        return Invalid("malformed .addr name")
    try:
        raw = bytes.fromhex(parts[0])
    except ValueError:
        return Invalid("malformed .addr name")
    return AddrName(str(ipaddress.ip_address(raw)))
