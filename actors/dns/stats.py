"""The DNS actor's counters, as the inspector shows them.

What lives here: `DnsStats`, a plain mutable record the query path and the socket loops bump, and
`as_dict` for ``statistics()``. Counters live as long as one actor incarnation.

What must never live here: decisions; nothing reads these counters to change behaviour.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DnsStats:
    queries: int = 0  # replies sent or dropped after parsing started (every datagram or TCP message)
    by_rcode: Counter[str] = field(default_factory=Counter)
    by_qtype: Counter[str] = field(default_factory=Counter)
    truncated: int = 0  # replies whose answers were cut to fit (whether or not TC was set)
    recursed: int = 0  # questions forwarded to a recursor
    wan_forwarded: int = 0  # questions naming another datacenter, sent to a server there
    wan_failed: int = 0  # ... of which no server of that datacenter answered (SERVFAIL)
    malformed_dropped: int = 0  # datagrams or messages dropped without a reply (no header, a response)
    udp_dropped: int = 0  # datagrams dropped because the worker queue was full
    in_flight: int = 0  # queries being answered now (UDP and TCP)
    tcp_connections: int = 0  # open TCP connections
    tcp_rejected: int = 0  # connections closed at once because the limit was reached
    tcp_closed_bad_length: int = 0  # connections closed for a length prefix out of bounds
    errors: int = 0  # internal errors turned into SERVFAIL
    send_errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "queries": self.queries,
            "by_rcode": dict(self.by_rcode),
            "by_qtype": dict(self.by_qtype),
            "truncated": self.truncated,
            "recursed": self.recursed,
            "wan_forwarded": self.wan_forwarded,
            "wan_failed": self.wan_failed,
            "malformed_dropped": self.malformed_dropped,
            "dropped": self.udp_dropped,
            "in_flight": self.in_flight,
            "tcp_connections": self.tcp_connections,
            "tcp_rejected": self.tcp_rejected,
            "tcp_closed_bad_length": self.tcp_closed_bad_length,
            "errors": self.errors,
            "send_errors": self.send_errors,
        }
