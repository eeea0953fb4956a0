"""What the SWIM core asks of its shell, and the snapshots it hands out.

What lives here: the `Effect` union drained from `SwimCore.poll` (sends, member events, conflicts, join and
leave completion), `Member` (a frozen view of one member) and `SwimStats`. These are local values, never
sent over the wire, so they are plain frozen Structs rather than tagged `Message`s.

What must never live here: behaviour. The shell's contract for each effect is written on the effect.
"""

from __future__ import annotations

import enum
from typing import Literal, Union

import msgspec

from actors.swim.messages import Addr, Packet, Stream


class MemberState(str, enum.Enum):
    ALIVE = "alive"
    SUSPECT = "suspect"
    DEAD = "dead"  # failed: stopped answering and could not refute
    LEFT = "left"  # said goodbye


class Member(msgspec.Struct, frozen=True, kw_only=True):
    """One member as the local node sees it. ``state_change`` is the local ``now`` of the last state change."""

    name: str
    addr: Addr
    state: MemberState
    incarnation: int
    meta: bytes
    state_change: float


class SendPacket(msgspec.Struct, frozen=True, kw_only=True):
    """Send `msg` as one datagram to `addr`, best effort. Never retry; losing it is part of the protocol."""

    addr: Addr
    msg: Packet


class SendStream(msgspec.Struct, frozen=True, kw_only=True):
    """Open a stream to `addr`, write `msg`, and hand every reply read back to `SwimCore.on_stream` (with
    `addr` as the source). If the connection or exchange fails or exceeds ``tcp_timeout``, call
    `SwimCore.on_stream_failed` with the same `addr` and `msg`. Used for push-pull and the TCP ping fallback."""

    addr: Addr
    msg: Stream


MemberEventKind = Literal["join", "update", "suspect", "alive", "failed", "left", "reaped"]


class MemberEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A member changed state. ``join``: became alive from unknown, failed or left. ``update``: alive with
    new metadata or address. ``suspect``: suspected. ``alive``: a suspicion was refuted. ``failed``:
    declared dead. ``left``: left gracefully. ``reaped``: forgotten after reconnect or tombstone timeout."""

    kind: MemberEventKind
    member: Member


class NameConflict(msgspec.Struct, frozen=True, kw_only=True):
    """Another address claims the name of a live member. The core kept `existing` and ignored the claim;
    it reports each distinct claimant once. The layer above may resolve it (Serf runs a query)."""

    existing: Member
    claimant_addr: Addr
    claimant_incarnation: int


class JoinCompleted(msgspec.Struct, frozen=True, kw_only=True):
    """Every seed given to `SwimCore.join` has answered or failed. ``contacted`` seeds exchanged state."""

    contacted: int
    failed: tuple[Addr, ...]


class LeaveCompleted(msgspec.Struct, frozen=True, kw_only=True):
    """The leave broadcast has been gossiped as often as any broadcast is; the shell may stop the node."""


class UserMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A `User` broadcast arrived; the layer above decides whether it is new and re-broadcasts it."""

    payload: bytes


Effect = Union[SendPacket, SendStream, MemberEvent, NameConflict, JoinCompleted, LeaveCompleted, UserMessage]


class SwimStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters for the inspector. Counts are cumulative since the core was created."""

    alive: int
    suspect: int
    dead: int
    left: int
    health_score: int
    incarnation: int
    probes_sent: int
    probes_failed: int
    acks_received: int
    nacks_received: int
    indirect_probes_sent: int
    suspicions_raised: int
    refutes: int
    corrections: int
    packets_sent: int
    packets_received: int
    streams_sent: int
    streams_received: int
    broadcast_queue: int
