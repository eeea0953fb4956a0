"""The answer to one question about a name Consul's DNS serves, read from the state store.

What lives here: `Resolver.resolve(store, lookup, question, response, serial)`, which fills the answer,
authority and additional sections and the rcode of a dnspython response. It is synchronous and pure
apart from the injected shuffling RNG: the caller has already passed the read barrier, and hands in
the SOA serial (Consul uses the current Unix time). Size limits are `trim`'s job, afterwards.

Rules (Consul's ``agent/dns.go``):

* SOA and NS questions for any name in the domain answer the zone's SOA / NS records. The name
  servers are up to three healthy instances of the ``consul`` service, named
  ``<node>.node.<dc>.<domain>``, with their addresses as glue.
* A ``.<dc>`` label naming another datacenter: SERVFAIL (the query path sends such names to that
  datacenter before they get here; this is the answer when nothing could).
* Unknown node, service without visible instances, unparseable name: NXDOMAIN, SOA in authority.
  A known name with nothing of the asked type: NOERROR, empty answer, SOA in authority (RFC 2308).
* Services: instances shuffled per query; address = service address, else node address. A/AAAA
  by family (ANY gets both; TXT gets addresses too, as in Consul); a hostname address gives a CNAME,
  used only when no instance has an IP. SRV: priority 1, weight from health, the service port, target
  ``<node>.node.<dc>.<domain>`` (node address) or ``<hex>.addr.<dc>.<domain>`` (service address),
  whose address record goes in the additional section with the node's meta as TXT.
* Nodes: address records, plus meta TXT in the answer (TXT/ANY) or in additional (A/AAAA).
* Reverse names: PTR to the node whose address matches, else to ``<service>.service.<dc>.<domain>``
  of a service instance with that address; `Outcome.PTR_MISS` when neither exists.

What must never live here: sockets, trimming, recursion, or waiting.
"""

from __future__ import annotations

import enum
from random import Random  # the type of the seeded streams handed down; never the global generator
import re

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from actors.dns import records as R
from actors.dns.health import srv_weight, visible
from actors.dns.names import AddrName, Apex, Invalid, Lookup, NodeName, ReverseName, ServiceName
from actors.dns.settings import DnsSettings
from actors.state.models import Node, ServiceEntry
from actors.state.store import StateStore

CONSUL_SERVICE = "consul"
MAX_NAME_SERVERS = 3
_INVALID_DNS_LABEL = re.compile(r"[^A-Za-z0-9-]")  # Consul's InvalidNameRe


class Outcome(enum.Enum):
    ANSWERED = "answered"
    CAPPED = "capped"  # answered, but more records existed than ``answer_cap`` allowed: a cut answer
    PTR_MISS = "ptr_miss"  # no node or service has this address: recurse if possible, else NXDOMAIN


class Resolver:
    """Answers questions for one DNS actor; `resolve` is synchronous, so answers never interleave."""

    def __init__(self, settings: DnsSettings, rng: Random) -> None:
        self.settings = settings
        self.rng = rng

    def resolve(self, store: StateStore, lookup: Lookup, question: dns.rrset.RRset,
                response: dns.message.Message, serial: int, answer_cap: int | None = None) -> Outcome:
        """Fill ``response``. ``answer_cap``: at most that many service records are built (the transport
        could not carry more; records are shuffled first, so this is the prefix trimming would keep)."""
        return _Answer(self.settings, self.rng, serial, answer_cap).resolve(store, lookup, question, response)

    def ptr_miss(self, response: dns.message.Message, serial: int) -> None:
        """Finish a reverse lookup nobody could answer: NXDOMAIN with the SOA, as Consul does."""
        self.nxdomain(response, serial)

    def nxdomain(self, response: dns.message.Message, serial: int) -> None:
        """NXDOMAIN with the zone's SOA in the authority section (RFC 2308)."""
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(R.soa(self.settings.domain, serial))


class _Answer:
    """The state of one `Resolver.resolve` call and the rules, one method per kind of name."""

    def __init__(self, settings: DnsSettings, rng: Random, serial: int, cap: int | None) -> None:
        self.settings = settings
        self.rng = rng
        self.serial = serial
        self.cap = cap
        self.capped = False

    def resolve(self, store: StateStore, lookup: Lookup, question: dns.rrset.RRset,
                response: dns.message.Message) -> Outcome:
        qtype = question.rdtype
        if isinstance(lookup, ReverseName):
            return self._reverse(store, lookup, question.name, response)
        if qtype == dns.rdatatype.SOA:
            response.answer.append(self._soa())
            ns, glue = self._name_servers(store)
            response.authority.extend(ns)
            response.additional.extend(glue)
            return Outcome.ANSWERED
        if qtype == dns.rdatatype.NS:
            ns, glue = self._name_servers(store)
            response.answer.extend(ns)
            response.additional.extend(glue)
            if not ns:
                response.authority.append(self._soa())
            return Outcome.ANSWERED
        if isinstance(lookup, ServiceName):
            self._service(store, lookup, question, response)
            if self.capped:
                return Outcome.CAPPED
        elif isinstance(lookup, NodeName):
            self._node(store, lookup, question, response)
        elif isinstance(lookup, AddrName):
            self._addr(lookup, question, response)
        elif isinstance(lookup, Apex):
            response.authority.append(self._soa())
        else:
            assert isinstance(lookup, Invalid), lookup
            self._nxdomain(response)
        return Outcome.ANSWERED

    # -- helpers ---------------------------------------------------------------------------------

    def _soa(self) -> dns.rrset.RRset:
        return R.soa(self.settings.domain, self.serial)

    def _nxdomain(self, response: dns.message.Message) -> None:
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(self._soa())

    def _nodata(self, response: dns.message.Message) -> None:
        response.authority.append(self._soa())

    def _foreign(self, datacenter: str | None, response: dns.message.Message) -> bool:
        """True (and SERVFAIL set) when the name points at another datacenter."""
        if datacenter is None or datacenter == self.settings.datacenter:
            return False
        response.set_rcode(dns.rcode.SERVFAIL)
        return True

    def _node_addresses(self, node: Node, name: dns.name.Name, qtype: int, ttl: int) -> list[dns.rrset.RRset]:
        ip = R.parse_ip(node.address)
        if ip is None:
            return [R.cname(name, ttl, node.address)] if node.address else []
        return [R.address(name, ttl, ip)] if R.wants_address(qtype, ip) else []

    def _instances(self, store: StateStore, lookup: ServiceName) -> list[ServiceEntry]:
        _, entries = store.service_health(lookup.service)
        if lookup.tag is not None:
            tag = lookup.tag
            entries = [e for e in entries if any(t.lower() == tag for t in e.service.tags)]
        found = [e for e in entries if visible(e, self.settings.only_passing)]
        self.rng.shuffle(found)
        return found

    # -- name servers ----------------------------------------------------------------------------

    def _name_servers(self, store: StateStore) -> tuple[list[dns.rrset.RRset], list[dns.rrset.RRset]]:
        s = self.settings
        ns: list[dns.rrset.RRset] = []
        glue: list[dns.rrset.RRset] = []
        for entry in self._instances(store, ServiceName(CONSUL_SERVICE, None, None)):
            node = entry.node
            if _INVALID_DNS_LABEL.search(node.node):
                continue
            target = R.node_fqdn(node.node.lower(), node.datacenter or s.datacenter, s.domain)
            ns.append(R.ns(s.domain, s.node_ttl, target))
            glue.extend(self._node_addresses(node, target, dns.rdatatype.ANY, s.node_ttl))
            if len(ns) >= MAX_NAME_SERVERS:
                break
        return ns, glue

    # -- services --------------------------------------------------------------------------------

    def _service(self, store: StateStore, lookup: ServiceName, question: dns.rrset.RRset,
                 response: dns.message.Message) -> None:
        if self._foreign(lookup.datacenter, response):
            return
        entries = self._instances(store, lookup)
        if not entries:
            self._nxdomain(response)
            return
        ttl = self.settings.service_ttl(lookup.service)
        if question.rdtype == dns.rdatatype.SRV:
            self._service_srv(entries, question, response, ttl)
        else:
            self._service_addresses(entries, question, response, ttl)
        if not response.answer:
            self._nodata(response)

    def _service_addresses(self, entries: list[ServiceEntry], question: dns.rrset.RRset,
                           response: dns.message.Message, ttl: int) -> None:
        seen: set[str] = set()
        first_cname: dns.rrset.RRset | None = None
        limit = self.settings.a_record_limit
        for entry in entries:
            text = entry.service.address or entry.node.address
            ip = R.parse_ip(text)
            if ip is None:
                if text and first_cname is None:
                    try:
                        first_cname = R.cname(question.name, ttl, text)
                    except dns.exception.DNSException:
                        pass
                continue
            if not R.wants_address(question.rdtype, ip) or str(ip) in seen:
                continue
            if self.cap is not None and len(response.answer) >= self.cap:
                self.capped = True
                break
            seen.add(str(ip))
            response.answer.append(R.address(question.name, ttl, ip))
            if limit and len(response.answer) >= limit:
                break
        if not response.answer and first_cname is not None:
            response.answer.append(first_cname)

    def _service_srv(self, entries: list[ServiceEntry], question: dns.rrset.RRset,
                     response: dns.message.Message, ttl: int) -> None:
        s = self.settings
        seen: set[tuple[str, str, int]] = set()
        glued: set[dns.name.Name] = set()  # targets whose address records are already in additional
        described: set[dns.name.Name] = set()  # nodes whose meta TXT records are already in additional
        for entry in entries:
            node, svc = entry.node, entry.service
            port = svc.port if isinstance(svc.port, int) else 0
            key = (node.node.lower(), svc.address, port)
            if key in seen:
                continue
            if self.cap is not None and len(response.answer) >= self.cap:
                self.capped = True
                break
            seen.add(key)
            dc = node.datacenter or s.datacenter
            try:
                target, extra = self._srv_target(entry, question.name, dc, ttl)
                node_name = R.node_fqdn(node.node, dc, s.domain)
            except dns.exception.DNSException:
                continue  # a name that cannot be a DNS name (label too long...) is skipped, as unanswerable
            response.answer.append(R.srv(question.name, ttl, srv_weight(entry), port, target))
            if target not in glued:
                glued.add(target)
                response.additional.extend(extra)
            if s.node_meta_txt and node_name not in described:
                described.add(node_name)
                response.additional.extend(R.meta_txt(node_name, ttl, node.meta))

    def _srv_target(self, entry: ServiceEntry, qname: dns.name.Name, dc: str,
                    ttl: int) -> tuple[dns.name.Name, list[dns.rrset.RRset]]:
        s = self.settings
        node, svc = entry.node, entry.service
        node_ip = R.parse_ip(node.address)
        svc_ip = R.parse_ip(svc.address) if svc.address else None
        if svc.address and svc_ip is not None:
            target = R.addr_fqdn(svc_ip, dc, s.domain)
            return target, [R.address(target, ttl, svc_ip)]
        if svc.address and not (node_ip is not None and R.fqdn(svc.address) == qname):
            return R.fqdn(svc.address), []
        if node_ip is None:
            return R.fqdn(node.address), []
        target = R.node_fqdn(node.node, dc, s.domain)
        return target, [R.address(target, ttl, node_ip)]

    # -- nodes and addresses ---------------------------------------------------------------------

    def _node(self, store: StateStore, lookup: NodeName, question: dns.rrset.RRset,
              response: dns.message.Message) -> None:
        if self._foreign(lookup.datacenter, response):
            return
        qtype = question.rdtype
        _, node = store.node(lookup.node)
        if node is None:
            self._nxdomain(response)
            return
        ttl = self.settings.node_ttl
        if qtype in (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.ANY):
            response.answer.extend(self._node_addresses(node, question.name, qtype, ttl))
        if qtype in (dns.rdatatype.TXT, dns.rdatatype.ANY):
            response.answer.extend(R.meta_txt(question.name, ttl, node.meta))
        elif qtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and self.settings.node_meta_txt:
            response.additional.extend(R.meta_txt(question.name, ttl, node.meta))
        if not response.answer:
            self._nodata(response)

    def _addr(self, lookup: AddrName, question: dns.rrset.RRset, response: dns.message.Message) -> None:
        ip = R.parse_ip(lookup.address)
        assert ip is not None
        if question.rdtype in (dns.rdatatype.ANY, dns.rdatatype.A if ip.version == 4 else dns.rdatatype.AAAA):
            response.answer.append(R.address(question.name, self.settings.node_ttl, ip))
        else:
            self._nodata(response)

    def _reverse(self, store: StateStore, lookup: ReverseName, qname: dns.name.Name,
                 response: dns.message.Message) -> Outcome:
        s = self.settings
        ip = R.parse_ip(lookup.address) if lookup.address else None
        if ip is None:
            return Outcome.PTR_MISS
        _, nodes = store.nodes()
        for node in nodes:
            if R.parse_ip(node.address) == ip:
                response.answer.append(R.ptr(qname, R.node_fqdn(node.node, node.datacenter or s.datacenter, s.domain)))
                return Outcome.ANSWERED
        _, services = store.services()
        for name in services:
            _, instances = store.service_nodes(name)
            for sn in instances:
                if sn.service_address and R.parse_ip(sn.service_address) == ip:
                    target = R.service_fqdn(sn.service_name, sn.datacenter or s.datacenter, s.domain)
                    response.answer.append(R.ptr(qname, target))
                    return Outcome.ANSWERED
        return Outcome.PTR_MISS
