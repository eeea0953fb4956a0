"""What the Serf core asks of its shell, beyond the SWIM sends it passes through.

What lives here: the effects drained from `SerfCore.poll`, each with the shell's contract written on it.
``SendPacket`` and ``SendStream`` (from ``actors.swim.effects``) pass through unchanged, except that a
push-pull already carries Serf's state; ``LeaveCompleted`` passes through too.

What must never live here: behaviour.
"""

from __future__ import annotations

from typing import Union

import msgspec

from actors.gossip.queries import QueryResult
from actors.gossip.serf_messages import QueryResponse
from actors.swim.effects import LeaveCompleted, SendPacket, SendStream
from actors.swim.messages import Addr


class SendDirect(msgspec.Struct, frozen=True, kw_only=True):
    """Send `msg` to `addr` as one datagram (a query answer goes straight to the query's origin)."""

    addr: Addr
    msg: QueryResponse


class JoinResult(msgspec.Struct, frozen=True, kw_only=True):
    """A `SerfCore.join` finished. ``contacted`` seeds exchanged state. ``conflict`` is set when another
    live member already uses our name: the join was undone and this node is alone again."""

    contacted: int
    failed: tuple[Addr, ...]
    conflict: str | None = None


class NameClash(msgspec.Struct, frozen=True, kw_only=True):
    """Two addresses claim member ``name`` (``ours`` is the one kept); log it. ``about_us`` when the name
    is this node's own."""

    name: str
    kept: Addr
    claimant: Addr
    about_us: bool


class UserEventDelivered(msgspec.Struct, frozen=True, kw_only=True):
    """A user event to hand to the application (new, not filtered yet: Consul filters on receipt)."""

    ltime: int
    name: str
    payload: bytes


class QueryDone(msgspec.Struct, frozen=True, kw_only=True):
    """A query we started has every answer it expected, or reached its deadline."""

    result: QueryResult


class KeyringChanged(msgspec.Struct, frozen=True, kw_only=True):
    """The keyring changed (install, use, remove): persist it if the agent keeps a keyring file."""


SerfEffect = Union[SendPacket, SendStream, SendDirect, JoinResult, NameClash, UserEventDelivered, QueryDone,
                   KeyringChanged, LeaveCompleted]
