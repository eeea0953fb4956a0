"""SWIM gossip membership with HashiCorp's Lifeguard extensions, as a sans-IO core.

What lives here: the pure protocol (`core.SwimCore`), its wire messages (`messages`), the effects it asks
its shell to perform (`effects`), its configuration (`config`) and the pure pieces it is built from
(`suspicion`, `awareness`, `broadcast`), plus the pure Serf-layer helpers (`serf`).

What must never live here: trio, sockets, clocks, the global ``random`` generator, or anything else that
makes a run depend on the wall clock or on scheduling. The Trio shell that owns the sockets lives elsewhere
and feeds this package explicit ``now`` values and a seeded ``random.Random``.
"""

from actors.swim.config import SwimConfig
from actors.swim.core import SwimCore
from actors.swim.effects import (
    Effect,
    JoinCompleted,
    LeaveCompleted,
    Member,
    MemberEvent,
    MemberState,
    NameConflict,
    SendPacket,
    SendStream,
    SwimStats,
    UserMessage,
)

__all__ = [
    "Effect",
    "JoinCompleted",
    "LeaveCompleted",
    "Member",
    "MemberEvent",
    "MemberState",
    "NameConflict",
    "SendPacket",
    "SendStream",
    "SwimConfig",
    "SwimCore",
    "SwimStats",
    "UserMessage",
]
