"""Resource records built from catalog facts, one RRset per record, with dnspython's rdata classes.

What lives here: small constructors (`address`, `cname`, `srv`, `txt`, `ptr`, `ns`, `soa`), the
canonical names Consul hands out (`node_fqdn`: ``<node>.node.<dc>.<domain>``, `addr_fqdn`:
``<hex>.addr.<dc>.<domain>``, `service_fqdn`), `parse_ip` (IPv4-mapped IPv6 counts as IPv4, as Go's
``To4``), `wants_address` (which address families a question type accepts) and `meta_txt` (node meta
as TXT: ``key=value`` with RFC 1464 escaping, or the bare value for ``rfc1035-`` keys).

Each record is its own RRset so the answer section keeps the shuffled order and can be trimmed record by
record. Parsed addresses and address rdatas are cached (both immutable), as every query rebuilds them.

What must never live here: choosing which instances to answer (``health``/``resolve``).
"""

from __future__ import annotations

import functools
import ipaddress
import re

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.PTR import PTR
from dns.rdtypes.ANY.SOA import SOA
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.SRV import SRV

from actors.dns.settings import SOA_EXPIRE, SOA_MIN_TTL, SOA_REFRESH, SOA_RETRY

IN = dns.rdataclass.IN
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_TYPES = frozenset({dns.rdatatype.A, dns.rdatatype.ANY, dns.rdatatype.SRV, dns.rdatatype.NS, dns.rdatatype.TXT})
_V6_TYPES = frozenset({dns.rdatatype.AAAA, dns.rdatatype.ANY, dns.rdatatype.SRV, dns.rdatatype.NS, dns.rdatatype.TXT})


def one(name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, rdata.rdclass, rdata.rdtype)
    rrset.add(rdata, ttl)
    return rrset


@functools.lru_cache(maxsize=4096)
def parse_ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def wants_address(qtype: int, ip: IPAddress) -> bool:
    """Whether a question of ``qtype`` gets an address record for ``ip`` (Consul's ``makeARecord``)."""
    return qtype in (_V4_TYPES if ip.version == 4 else _V6_TYPES)


def address(name: dns.name.Name, ttl: int, ip: IPAddress) -> dns.rrset.RRset:
    return one(name, ttl, _address_rdata(ip))


@functools.lru_cache(maxsize=4096)
def _address_rdata(ip: IPAddress) -> dns.rdata.Rdata:
    # Rdata objects are immutable, so the parsed form of a catalog address is built once and shared.
    if ip.version == 4:
        return A(IN, dns.rdatatype.A, str(ip))
    return AAAA(IN, dns.rdatatype.AAAA, str(ip))


def cname(name: dns.name.Name, ttl: int, target: str) -> dns.rrset.RRset:
    return one(name, ttl, CNAME(IN, dns.rdatatype.CNAME, fqdn(target)))


def srv(name: dns.name.Name, ttl: int, weight: int, port: int, target: dns.name.Name) -> dns.rrset.RRset:
    weight = max(0, min(weight, 65535))
    return one(name, ttl, SRV(IN, dns.rdatatype.SRV, 1, weight, port & 0xFFFF, target))


def ptr(name: dns.name.Name, target: dns.name.Name) -> dns.rrset.RRset:
    return one(name, 0, PTR(IN, dns.rdatatype.PTR, target))


def ns(domain: dns.name.Name, ttl: int, target: dns.name.Name) -> dns.rrset.RRset:
    return one(domain, ttl, NS(IN, dns.rdatatype.NS, target))


def soa(domain: dns.name.Name, serial: int) -> dns.rrset.RRset:
    rdata = SOA(IN, dns.rdatatype.SOA, dns.name.Name((b"ns",)).concatenate(domain),
                dns.name.Name((b"hostmaster",)).concatenate(domain), serial & 0xFFFFFFFF,
                SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, SOA_MIN_TTL)
    return one(domain, SOA_MIN_TTL, rdata)  # the SOA's own TTL follows its minimum, as Consul's


def txt(name: dns.name.Name, ttl: int, text: str) -> dns.rrset.RRset:
    data = text.encode()
    chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
    return one(name, ttl, TXT(IN, dns.rdatatype.TXT, chunks))


def meta_txt(name: dns.name.Name, ttl: int, meta: dict[str, str]) -> list[dns.rrset.RRset]:
    out = []
    for key in sorted(meta):
        value = meta[key]
        out.append(txt(name, ttl, value if key.lower().startswith("rfc1035-") else rfc1464(key, value)))
    return out


_LEADING = re.compile(r"^ +")
_TRAILING = re.compile(r" +$")


def rfc1464(key: str, value: str) -> str:
    """``key=value`` with RFC 1464 quoting: backquote doubled, ``=`` and edge spaces in the key quoted."""
    key = key.replace("`", "``").replace("=", "`=")
    key = _LEADING.sub(lambda m: "` " * len(m.group()), key)
    key = _TRAILING.sub(lambda m: "` " * len(m.group()), key)
    return f"{key}={value.replace('`', '``')}"


def fqdn(text: str) -> dns.name.Name:
    return dns.name.from_text(text if text.endswith(".") else text + ".")


def node_fqdn(node: str, datacenter: str, domain: dns.name.Name) -> dns.name.Name:
    return dns.name.from_text(f"{node}.node.{datacenter}", origin=domain)


def service_fqdn(service: str, datacenter: str, domain: dns.name.Name) -> dns.name.Name:
    return dns.name.from_text(f"{service}.service.{datacenter}", origin=domain)


def addr_fqdn(ip: IPAddress, datacenter: str, domain: dns.name.Name) -> dns.name.Name:
    return dns.name.from_text(f"{ip.packed.hex()}.addr.{datacenter}", origin=domain)
