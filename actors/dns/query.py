"""One DNS query, from the bytes a client sent to the bytes sent back (or nothing).

What lives here: `QueryHandler.answer(data, transport)`, the whole life of one query and its counters:

1. `wire.decode`: dropped, or an error reply (NOTIMP, FORMERR, BADVERS), or a query;
2. zone transfers (AXFR/IXFR): NOTIMP;
3. a name outside the domain (and not a reverse name): forwarded to the recursors when configured
   (SERVFAIL if none answers), REFUSED otherwise;
4. inside the domain, on an agent without a state backend (a client): the query is forwarded to a server
   of this datacenter over the server port, which answers it as its own (SERVFAIL if none can);
   on a server, a service or node name with a ``.<dc>`` label naming another datacenter is forwarded
   over the WAN to a server of that datacenter, whose reply is ours (an unknown datacenter is
   NXDOMAIN, Consul's answer to "No path to datacenter"; a known one that does not answer SERVFAIL);
   otherwise the read barrier (``stale`` while ``dns_config.allow_stale``, so DNS keeps
   answering without a leader; bounded by `READ_TIMEOUT`), then `Resolver` on the local replica as
   the agent's DNS token may read it (``acl_view``; a forwarding client's token when it sent one);
   a reverse name nobody has is forwarded like an outside name, else NXDOMAIN;
5. trimmed for the transport (`trim`), TC set only with ``enable_truncate``, and rendered; answers
   of more than `OFFLOAD_ANSWERS` records are trimmed and rendered in a worker thread (at most
   `RENDER_THREADS` at once) so a huge answer never stalls the event loop.

Any exception while answering becomes SERVFAIL and is counted: a bad record can never take down the
actor. What must never live here: sockets or concurrency limits (``udp``/``tcp``/``server``).
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
from typing import TYPE_CHECKING

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import trio

from actors.dns import recurse, trim, wire
from actors.dns.acl_view import dns_store
from actors.dns.names import NodeName, Outside, ServiceName, classify
from actors.dns.resolve import Outcome, Resolver
from actors.dns.settings import DnsSettings
from actors.dns.stats import DnsStats
from actors.forward.dns_forward import UnknownDatacenter, forward_query, forward_to_datacenter
from runtime import clock
from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("dns")

READ_TIMEOUT = 2.0  # seconds a query may wait for the read barrier before SERVFAIL
OUR_EDNS_PAYLOAD = 4096
OFFLOAD_ANSWERS = 256  # answers above which trimming and rendering run in a worker thread
RENDER_THREADS = 2
_TRANSFERS = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)


class QueryHandler:
    def __init__(self, ctx: "AgentContext", settings: DnsSettings, stats: DnsStats, rng: Random) -> None:
        self.ctx = ctx
        self.settings = settings
        self.stats = stats
        self.resolver = Resolver(settings, rng)
        self._render_limiter = trio.CapacityLimiter(RENDER_THREADS)

    async def answer(self, data: bytes, transport: str, token: str | None = None) -> bytes | None:
        """``token``: a forwarding client agent's DNS token (None: this agent's own, see ``acl_view``)."""
        stats = self.stats
        stats.queries += 1
        stats.in_flight += 1
        try:
            try:
                query = wire.decode(data)
            except wire.Drop:
                stats.malformed_dropped += 1
                return None
            except wire.Reject as rejected:
                stats.by_rcode[dns.rcode.to_text(rejected.rcode)] += 1
                return rejected.reply
            stats.by_qtype[dns.rdatatype.to_text(query.question[0].rdtype)] += 1
            try:
                response, capped = await self._respond(query, transport, token)
                if capped is not None:
                    reply = await self._render(query, response, transport, capped)
                else:
                    reply = response.to_wire(max_size=65535, want_shuffle=False)
            except Exception as exc:  # noqa: BLE001 - any failure to answer is SERVFAIL, never a crash
                stats.errors += 1
                log.warning("DNS query failed", question=str(query.question[0]), error=f"{type(exc).__name__}: {exc}")
                response = self._reply(query, dns.rcode.SERVFAIL)
                reply = response.to_wire()
            stats.by_rcode[dns.rcode.to_text(response.rcode())] += 1
            return reply
        finally:
            stats.in_flight -= 1

    def _reply(self, query: dns.message.Message, rcode: int) -> dns.message.Message:
        response = dns.message.make_response(query, recursion_available=bool(self.settings.recursors),
                                             our_payload=OUR_EDNS_PAYLOAD)
        response.set_rcode(rcode)
        return response

    async def _respond(self, query: dns.message.Message, transport: str,
                       token: str | None = None) -> tuple[dns.message.Message, bool | None]:
        """The response, and None when it is final (an error reply or a recursor's answer); otherwise
        whether its answers were already capped for the transport, before `trim.fit` renders it."""
        s = self.settings
        question = query.question[0]
        lookup = classify(question.name, question.rdtype, s.domain)
        if isinstance(lookup, Outside):
            if s.recursors:
                return await self._recurse(query, transport), None
            return self._reply(query, dns.rcode.REFUSED), None
        if question.rdtype in _TRANSFERS:
            return self._reply(query, dns.rcode.NOTIMP), None
        backend = self.ctx.backend
        other_dc = getattr(lookup, "datacenter", None) if isinstance(lookup, (ServiceName, NodeName)) else None
        if backend is not None and other_dc is not None and other_dc != s.datacenter:
            return await self._other_datacenter(query, other_dc, transport), None
        if backend is None:
            # A client agent holds no catalog: a server answers the query for it.
            forwarded = await forward_query(self.ctx, query.to_wire(), transport)
            if forwarded is None:
                return self._reply(query, dns.rcode.SERVFAIL), None
            return dns.message.from_wire(forwarded), None
        with trio.move_on_after(READ_TIMEOUT) as barrier:
            await backend.read_barrier("stale" if s.allow_stale else "default", max_stale=s.max_stale)
        if barrier.cancelled_caught:
            log.warning("DNS read barrier timed out", question=str(question))
            return self._reply(query, dns.rcode.SERVFAIL), None
        response = self._reply(query, dns.rcode.NOERROR)
        response.flags |= dns.flags.AA
        serial = int(clock.wall_time())
        cap = trim.answer_cap(query, transport, s.udp_answer_limit)
        store = dns_store(self.ctx, backend.store, token)  # what the DNS token may read (ACLs)
        outcome = self.resolver.resolve(store, lookup, question, response, serial, cap)
        if outcome is Outcome.PTR_MISS:
            if s.recursors:
                return await self._recurse(query, transport), None
            self.resolver.ptr_miss(response, serial)
        return response, outcome is Outcome.CAPPED

    async def _other_datacenter(self, query: dns.message.Message, dc: str, transport: str) -> dns.message.Message:
        self.stats.wan_forwarded += 1
        try:
            reply = await forward_to_datacenter(self.ctx, dc, query.to_wire(), transport)
        except UnknownDatacenter:
            response = self._reply(query, dns.rcode.NXDOMAIN)
            self.resolver.nxdomain(response, int(clock.wall_time()))
            return response
        if reply is None:
            self.stats.wan_failed += 1
            return self._reply(query, dns.rcode.SERVFAIL)
        return dns.message.from_wire(reply)

    async def _render(self, query: dns.message.Message, response: dns.message.Message, transport: str,
                      capped: bool) -> bytes:
        if len(response.answer) > OFFLOAD_ANSWERS:
            # Sizing thousands of records takes a while: off the event loop, so the HTTP API and the
            # other actors keep their turns (at most RENDER_THREADS such renders at once).
            reply, cut = await trio.to_thread.run_sync(self._fit, query, response, transport, capped,
                                                       limiter=self._render_limiter)
        else:
            reply, cut = self._fit(query, response, transport, capped)
        if cut:
            self.stats.truncated += 1
        return reply

    def _fit(self, query: dns.message.Message, response: dns.message.Message, transport: str,
             capped: bool) -> tuple[bytes, bool]:
        # Touches nothing but the two messages and the read-only settings: safe in a worker thread.
        s = self.settings
        return trim.fit(query, response, transport, s.udp_answer_limit, cut=capped,
                        flag_truncation=s.enable_truncate)

    async def _recurse(self, query: dns.message.Message, transport: str) -> dns.message.Message:
        s = self.settings
        self.stats.recursed += 1
        reply = await recurse.forward(query, s.recursors, s.recursor_timeout, transport)
        if reply is None:
            return self._reply(query, dns.rcode.SERVFAIL)
        if transport != "tcp" and trim.wire_size(reply) > trim.udp_size_limit(query):
            reply.flags |= dns.flags.TC  # let the client retry over TCP rather than send what it cannot take
            reply.answer, reply.authority, reply.additional = [], [], []
        return reply
