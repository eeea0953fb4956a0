"""Wire messages of the Serf layer, which ride inside SWIM ``User`` broadcasts, push-pulls and datagrams.

What lives here:

- the broadcasts (`JoinIntent`, `LeaveIntent`, `QueryMsg`, and `UserEventMsg` from ``actors.swim.serf``),
  gossiped as the opaque payload of a SWIM ``User`` message and decoded with `decode_broadcast`;
- `QueryResponse`, sent straight back to a query's origin as its own datagram (not gossiped);
- `PushState`, Serf's part of a push-pull (clocks, intents, left members, recent events), carried
  untouched by the SWIM core in ``PushPull.user_state``;
- `KeyringRequest` / `KeyringReply`, the payloads of the internal keyring query.

Tags are wire format: add new ones, never rename or reuse one.

What must never live here: behaviour (``serf_core``) or envelopes and encryption (``wire``, ``crypto``).
"""

from __future__ import annotations

from typing import Literal, Union

import msgspec

from actors.swim.messages import Addr
from actors.swim.serf import UserEventMsg
from runtime.messages import Message


class JoinIntent(Message, frozen=True, tag="serf.join"):
    """``node`` is (again) a member as of Lamport time ``ltime``; refutes an older leave intent."""

    ltime: int
    node: str


class LeaveIntent(Message, frozen=True, tag="serf.leave"):
    """``node`` is leaving as of ``ltime``: alive members become *leaving*, failed ones *left*. Sent by
    the node itself on a graceful leave, or by anyone for ``force-leave`` (``prune`` also forgets it)."""

    ltime: int
    node: str
    prune: bool = False


class QueryMsg(Message, frozen=True, tag="serf.query"):
    """A request to every member: each one answers ``origin`` at ``addr`` with a `QueryResponse`."""

    ltime: int
    id: int
    origin: str
    addr: Addr
    name: str
    payload: bytes = b""


class QueryResponse(Message, frozen=True, tag="serf.query_response"):
    """One member's answer to the query (``ltime``, ``id``)."""

    ltime: int
    id: int
    from_: str = msgspec.field(name="from")
    payload: bytes = b""


SerfBroadcast = Union[JoinIntent, LeaveIntent, UserEventMsg, QueryMsg]


class PushState(msgspec.Struct, frozen=True, kw_only=True):
    """What Serf adds to a push-pull: its clocks, every member's status time (``left`` names those whose
    latest intent was a leave), and the recent user events so a member that missed gossip catches up."""

    ltime: int = 0
    status_ltimes: dict[str, int] = {}
    left: list[str] = []
    event_ltime: int = 0
    events: list[tuple[int, str, bytes]] = []
    query_ltime: int = 0


KeyringOp = Literal["list", "install", "use", "remove"]


class KeyringRequest(msgspec.Struct, frozen=True, kw_only=True):
    op: KeyringOp
    key: str = ""


class KeyringReply(msgspec.Struct, frozen=True, kw_only=True):
    """One member's outcome: ``ok`` or ``message``; its keys (base64) and primary key after the op."""

    ok: bool
    message: str = ""
    keys: list[str] = []
    primary: str = ""


_broadcast_decoder = msgspec.msgpack.Decoder(SerfBroadcast)
_push_decoder = msgspec.msgpack.Decoder(PushState)
_encoder = msgspec.msgpack.Encoder()


def encode(msg: msgspec.Struct) -> bytes:
    return _encoder.encode(msg)


def decode_broadcast(payload: bytes) -> JoinIntent | LeaveIntent | UserEventMsg | QueryMsg:
    """Raises msgspec.DecodeError on anything that is not a Serf broadcast."""
    return _broadcast_decoder.decode(payload)


def decode_push_state(payload: bytes) -> PushState:
    return _push_decoder.decode(payload)
