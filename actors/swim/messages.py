"""Wire messages of the SWIM protocol.

What lives here: one frozen msgspec Struct per message, each tagged ``swim.<verb>``, plus the unions that
describe what may arrive on each path and the decoders for them. Tags are part of the wire format: add new
ones, never rename or reuse one. Field names are wire names too (``from_`` is spelled ``from`` on the wire).

Two paths, as in memberlist:

* the packet path (UDP-like, lossy, at most ``udp_buffer_size`` bytes): `Ping`, `IndirectPingReq`, `Ack`,
  `Nack`, the broadcasts `Alive`, `Suspect`, `Dead`, `User`, and `Compound` which bundles several of them;
* the stream path (TCP-like, reliable, unbounded): `PushPull` state exchange, and `Ping` / `Ack` for the
  TCP fallback probe.

What must never live here: protocol decisions or IO.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import msgspec

from runtime.messages import Message

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Addr = tuple[str, Port]
"""A node's advertised (host, port). The port's range is checked when a message is decoded: a packet
naming port 70000 is refused at the wire, not discovered by ``sendto`` deep inside the SWIM actor."""

StateName = Literal["alive", "suspect", "dead", "left"]


class Ping(Message, frozen=True, tag="swim.ping"):
    """Are you there? ``node`` names the intended target: a node with another name ignores the ping, which
    keeps a probe from being answered by whoever reused the address."""

    seq: int
    node: str
    source_node: str = ""
    source_addr: Addr | None = None


class IndirectPingReq(Message, frozen=True, tag="swim.ping_req"):
    """Please ping ``node`` at ``target`` for me and relay its ack under my ``seq``; when ``nack`` is set, tell
    me with a `Nack` if it does not answer in time (Lifeguard)."""

    seq: int
    target: Addr
    node: str
    nack: bool = False
    source_node: str = ""
    source_addr: Addr | None = None


class Ack(Message, frozen=True, tag="swim.ack"):
    """Answer to a `Ping` (direct, relayed, or over the stream fallback), echoing its ``seq``."""

    seq: int
    payload: bytes = b""


class Nack(Message, frozen=True, tag="swim.nack"):
    """From an indirect-probe helper: "I asked, the target did not answer" (Lifeguard). It proves the
    helper, and the path to it, are alive, so a missing nack counts against the prober's own health."""

    seq: int


class Alive(Message, frozen=True, tag="swim.alive"):
    """``node`` is alive at ``addr`` as of ``incarnation``, with metadata ``meta``. Only the node itself
    ever raises its incarnation."""

    incarnation: int
    node: str
    addr: Addr
    meta: bytes = b""


class Suspect(Message, frozen=True, tag="swim.suspect"):
    """``from_`` suspects ``node`` at ``incarnation``. Other nodes' suspicions confirm it (Lifeguard)."""

    incarnation: int
    node: str
    from_: str = msgspec.field(name="from")


class Dead(Message, frozen=True, tag="swim.dead"):
    """``node`` is dead at ``incarnation`` according to ``from_``. When ``from_ == node`` the node said so
    itself: it left gracefully, and is recorded as left, not failed."""

    incarnation: int
    node: str
    from_: str = msgspec.field(name="from")


class User(Message, frozen=True, tag="swim.user"):
    """An opaque broadcast from the layer above (Serf user events, leave intents); gossiped, not interpreted."""

    payload: bytes


Broadcast = Union[Alive, Suspect, Dead, User]
"""Messages that ride the transmit-limited queue and get piggybacked."""

SinglePacket = Union[Ping, IndirectPingReq, Ack, Nack, Alive, Suspect, Dead, User]


class Compound(Message, frozen=True, tag="swim.compound"):
    """Several packet messages in one datagram, processed in order. Never nested."""

    parts: tuple[SinglePacket, ...]


Packet = Union[SinglePacket, Compound]
"""Anything that may arrive on the packet path."""


class PushNodeState(msgspec.Struct, frozen=True, kw_only=True):
    """One member as the sender sees it, inside a `PushPull`."""

    name: str
    addr: Addr
    incarnation: int
    state: StateName
    meta: bytes = b""


class PushPull(Message, frozen=True, tag="swim.push_pull"):
    """Full membership state. The initiator sends it with ``reply=False``; the receiver merges it and
    answers with its own state and ``reply=True``. ``join`` marks the exchange made when joining.
    ``user_state`` carries the layer above's own state (Serf's clocks and intents) untouched."""

    join: bool
    reply: bool
    states: tuple[PushNodeState, ...]
    user_state: bytes = b""


Stream = Union[PushPull, Ping, Ack]
"""Anything that may arrive on the stream path."""

_encoder = msgspec.msgpack.Encoder()
packet_decoder = msgspec.msgpack.Decoder(Packet)
stream_decoder = msgspec.msgpack.Decoder(Stream)


def encode(msg: Message) -> bytes:
    """The msgpack bytes of a message, as sent on either path."""
    return _encoder.encode(msg)


def encoded_size(msg: Message) -> int:
    """Bytes `msg` occupies on the wire, used for the packet budget."""
    return len(_encoder.encode(msg))


META_MAX_SIZE = 512
"""memberlist MetaMaxSize: the most metadata bytes a member may advertise in `Alive`."""

COMPOUND_OVERHEAD = encoded_size(Compound(parts=())) + 2
"""Bytes a `Compound` adds around its parts: the envelope plus the widest array header we ever need
(msgpack spends 1 byte on arrays up to 15 items and 3 up to 65535; a 1400-byte packet never holds more)."""
