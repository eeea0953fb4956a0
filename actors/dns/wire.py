"""Bytes from a client turned into a query to answer, or into the error reply it deserves.

What lives here: `decode(data)`, which returns a parsed dnspython query or raises `Drop` (nothing is
sent back) or `Reject` (carrying the reply bytes and its rcode), and `header_reply`, which answers
from the 12-byte header alone (the only bytes read by hand: ID and flags). The order of checks:

1. fewer than 12 bytes (no header) or the QR bit set (a response, possibly spoofed to start a loop):
   dropped;
2. an opcode other than QUERY (NOTIFY, UPDATE, ...): NOTIMP;
3. bytes dnspython cannot parse: FORMERR;
4. a question count other than one: FORMERR; an EDNS version above 0: BADVERS.

What must never live here: answering the question.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode

HEADER_SIZE = 12


class Drop(Exception):
    """Send nothing back."""


class Reject(Exception):
    """Send ``reply`` back: the query cannot be answered (``rcode`` says why)."""

    def __init__(self, rcode: int, reply: bytes) -> None:
        super().__init__(dns.rcode.to_text(rcode))
        self.rcode = rcode
        self.reply = reply


def decode(data: bytes) -> dns.message.Message:
    if len(data) < HEADER_SIZE:
        raise Drop("shorter than a DNS header")
    query_id, flags = int.from_bytes(data[0:2], "big"), int.from_bytes(data[2:4], "big")
    if flags & dns.flags.QR:
        raise Drop("a response, not a query")
    if dns.opcode.from_flags(flags) != dns.opcode.QUERY:
        raise Reject(dns.rcode.NOTIMP, header_reply(query_id, flags, dns.rcode.NOTIMP))
    try:
        query = dns.message.from_wire(data)
    except Exception:  # noqa: BLE001 - whatever the parser trips on, the sender gets FORMERR
        raise Reject(dns.rcode.FORMERR, header_reply(query_id, flags, dns.rcode.FORMERR)) from None
    if len(query.question) != 1:
        raise Reject(dns.rcode.FORMERR, header_reply(query_id, flags, dns.rcode.FORMERR))
    if query.edns > 0:
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.BADVERS)
        raise Reject(dns.rcode.BADVERS, response.to_wire())
    return query


def header_reply(query_id: int, query_flags: int, rcode: int) -> bytes:
    """A reply with no sections: the query's ID, opcode and RD bit, QR set, and ``rcode``."""
    reply = dns.message.Message(id=query_id)
    reply.flags = dns.flags.QR | (query_flags & dns.flags.RD)
    reply.set_opcode(dns.opcode.from_flags(query_flags))
    reply.set_rcode(rcode)
    return reply.to_wire()
