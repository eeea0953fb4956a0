"""Forwarding a question outside the domain to the configured recursors (Consul's ``handleRecurse``).

What lives here: `forward(query, recursors, timeout, transport)`, which asks each recursor in turn (the
``sequential`` strategy) over the client's transport and returns the first reply whose rcode is NOERROR
or NXDOMAIN, re-encoded with the client's query ID; ``None`` when every recursor failed, timed out or
answered something else (the caller then answers SERVFAIL). Each attempt is bounded by ``timeout``.
A UDP reply is accepted only from the recursor asked (the socket is connected), with the query's ID.

What must never live here: names inside the domain, or retries beyond one pass over the recursors.
"""

from __future__ import annotations

import dns.exception
import dns.message
import dns.rcode
import trio

from actors.dns.framing import frame, receive_message
from runtime.log import get_logger

log = get_logger("dns")

_ACCEPTED = (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
MAX_UDP_REPLY = 65535


async def forward(query: dns.message.Message, recursors: tuple[tuple[str, int], ...], timeout: float,
                  transport: str) -> dns.message.Message | None:
    for host, port in recursors:
        with trio.move_on_after(timeout):
            try:
                if transport == "tcp":
                    reply = await _exchange_tcp(query, host, port)
                else:
                    reply = await _exchange_udp(query, host, port)
            except (OSError, dns.exception.DNSException, trio.BrokenResourceError, ValueError) as exc:
                log.debug("recursor failed", recursor=f"{host}:{port}", error=str(exc))
                continue
            if reply is not None and reply.rcode() in _ACCEPTED:
                reply.id = query.id
                return reply
            log.debug("recursor refused", recursor=f"{host}:{port}",
                      rcode=dns.rcode.to_text(reply.rcode()) if reply is not None else "none")
    return None


def _family(host: str) -> trio.socket.AddressFamily:
    return trio.socket.AF_INET6 if ":" in host else trio.socket.AF_INET


async def _exchange_udp(query: dns.message.Message, host: str, port: int) -> dns.message.Message | None:
    with trio.socket.socket(_family(host), trio.socket.SOCK_DGRAM) as sock:
        await sock.connect((host, port))
        await sock.send(query.to_wire())
        while True:
            data = await sock.recv(MAX_UDP_REPLY)
            try:
                reply = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue  # not a DNS message: keep waiting for the real reply within the timeout
            if reply.id == query.id and query.is_response(reply):
                return reply


async def _exchange_tcp(query: dns.message.Message, host: str, port: int) -> dns.message.Message | None:
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        await stream.send_all(frame(query.to_wire()))
        body = await receive_message(stream)
        if body is None:
            return None
        reply = dns.message.from_wire(body)
        return reply if reply.id == query.id and query.is_response(reply) else None
