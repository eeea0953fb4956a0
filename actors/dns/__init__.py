"""Consul's DNS interface: names under the agent's domain answered from the replicated catalog.

What lives here, one job per module:

* ``settings``: the agent config's DNS options, normalised once (domain, TTLs, limits, recursors).
* ``names``: a question name turned into what it asks for (node, service, RFC 2782, addr, reverse).
* ``records``: dnspython RRsets built from catalog records (A/AAAA/CNAME/SRV/TXT/PTR/SOA/NS).
* ``health``: which service instances DNS may return, and their SRV weight.
* ``resolve``: the in-domain answer, read from the state store (pure: no sockets, no clock reads).
* ``trim``: UDP/TCP size and answer-count limits, and the rendering of a reply.
* ``wire``: bytes in, parsed query or an error reply out (FORMERR, NOTIMP, dropped).
* ``framing``: the two-byte length prefix of DNS over TCP.
* ``recurse``: forwarding names outside the domain to the configured recursors.
* ``query``: one query from bytes to reply bytes, with its counters.
* ``stats``: the counters the inspector shows.
* ``udp`` / ``tcp``: the socket loops, each with its own bound on concurrent work.
* ``server``: the ``dns`` actor: binds both sockets, then runs the loops.

What must never live here: catalog semantics (the state store's) or HTTP.
"""

from actors.dns.server import DnsServer

__all__ = ["DnsServer"]
