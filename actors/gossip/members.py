"""A gossip member as the rest of the agent sees it, and as Consul's HTTP API prints it.

What lives here: `SerfMember` (name, address, gossip port, tags and Serf status of one member),
`STATUS_CODES` (Serf's numeric statuses: 0 none, 1 alive, 2 leaving, 3 left, 4 failed) and `member_json`,
the object ``GET /v1/agent/members`` and ``/v1/agent/self`` return, with Serf's protocol range and
Consul's delegate protocol range.

What must never live here: how a status is decided (``membership``) or HTTP handling.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Status = Literal["alive", "leaving", "left", "failed"]

STATUS_CODES: dict[str, int] = {"none": 0, "alive": 1, "leaving": 2, "left": 3, "failed": 4}

# Serf's protocol range (ProtocolVersionMin/Max) and what Consul runs; Consul's delegate (its own tag
# protocol) range. These are the numbers a Consul 1.x agent reports.
PROTOCOL_MIN, PROTOCOL_MAX, PROTOCOL_CUR = 1, 5, 2
DELEGATE_MIN, DELEGATE_MAX, DELEGATE_CUR = 2, 5, 4


class SerfMember(msgspec.Struct, frozen=True, kw_only=True):
    """One member, alive or not, as this agent's Serf layer sees it."""

    name: str
    address: str
    port: int
    tags: dict[str, str]
    status: Status
    status_ltime: int = 0
    incarnation: int = 0

    @property
    def status_code(self) -> int:
        return STATUS_CODES[self.status]

    @property
    def is_server(self) -> bool:
        return self.tags.get("role") == "consul"


def member_json(member: SerfMember) -> dict[str, Any]:
    """Consul's member object (``api.AgentMember``)."""
    return {
        "Name": member.name,
        "Addr": member.address,
        "Port": member.port,
        "Tags": dict(member.tags),
        "Status": member.status_code,
        "ProtocolMin": PROTOCOL_MIN,
        "ProtocolMax": PROTOCOL_MAX,
        "ProtocolCur": PROTOCOL_CUR,
        "DelegateMin": DELEGATE_MIN,
        "DelegateMax": DELEGATE_MAX,
        "DelegateCur": DELEGATE_CUR,
    }
