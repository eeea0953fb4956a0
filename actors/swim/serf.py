"""The pure pieces of the Serf layer that sits on SWIM: Lamport clocks, the user-event buffer, member tags.

What lives here:

* `LamportClock`: Serf keeps one for membership intents, one for user events and one for queries;
  ``witness`` keeps a local clock ahead of every time it has seen.
* `EventBuffer`: the recent user events, one slot per Lamport time modulo its size (Serf's
  ``EventBuffer``, 512). An event is new unless the same (time, name, payload) is already in its slot; an
  event older than the buffer's window, or older than the minimum time set on join, is dropped.
* `UserEventMsg`, the wire form of a user event, and `check_user_event` for Serf's size limit.
* `encode_tags` / `decode_tags`: a member's tag map as memberlist metadata, a 0xFF magic byte followed by
  a msgpack map (a buffer without the magic byte is an old-style bare role), plus `ConsulTags`, the typed
  view of the tags Consul puts on its agents (role, dc, port, id, vsn, ...).

What must never live here: IO, timers, or the membership state machine (that is `core.SwimCore`).
"""

from __future__ import annotations

import msgspec

from actors.swim.messages import META_MAX_SIZE
from runtime.messages import Message

EVENT_BUFFER_SIZE = 512
"""Serf EventBuffer: how many Lamport times of user events are remembered for de-duplication."""

USER_EVENT_SIZE_LIMIT = 512
"""Serf UserEventSizeLimit: bytes allowed for name + payload, and for the encoded message."""

TAG_MAGIC_BYTE = 0xFF


class LamportClock:
    """A logical clock: `increment` before sending, `witness` on receiving."""

    __slots__ = ("_counter",)

    def __init__(self, start: int = 0) -> None:
        self._counter = start

    def time(self) -> int:
        return self._counter

    def increment(self) -> int:
        """Advance and return the new time, to stamp an outgoing message."""
        self._counter += 1
        return self._counter

    def witness(self, seen: int) -> None:
        """Move past a time seen on a message, so our next stamp orders after it."""
        if seen >= self._counter:
            self._counter = seen + 1


class UserEventMsg(Message, frozen=True, tag="serf.user_event"):
    """A user event as gossiped: Lamport time, name, opaque payload, and whether it may be coalesced."""

    ltime: int
    name: str
    payload: bytes = b""
    coalesce: bool = True


def check_user_event(name: str, payload: bytes, limit: int = USER_EVENT_SIZE_LIMIT) -> None:
    """Raise ValueError if an event is too large to send, before or after encoding (as Serf does)."""
    raw = len(name.encode()) + len(payload)
    if raw > limit:
        raise ValueError(f"user event exceeds the {limit}-byte limit: name + payload is {raw} bytes")
    encoded = len(msgspec.msgpack.encode(UserEventMsg(ltime=0, name=name, payload=payload)))
    if encoded > limit:
        raise ValueError(f"user event exceeds the {limit}-byte limit once encoded ({encoded} bytes)")


class _Slot:
    __slots__ = ("ltime", "events")

    def __init__(self, ltime: int) -> None:
        self.ltime = ltime
        self.events: list[tuple[str, bytes]] = []


class EventBuffer:
    """Recently seen user events, for de-duplication. Not thread-safe; owned by one actor."""

    def __init__(self, clock: LamportClock, size: int = EVENT_BUFFER_SIZE) -> None:
        self.clock = clock
        self.size = size
        self.min_time = 0
        self._slots: list[_Slot | None] = [None] * size

    def ignore_before(self, ltime: int) -> None:
        """Drop every event stamped before `ltime` (Serf's eventMinTime, set when joining with
        ignore-old so a new member does not replay the cluster's history)."""
        self.min_time = max(self.min_time, ltime)

    def observe(self, ltime: int, name: str, payload: bytes) -> bool:
        """Record an event; True if it is new (deliver it and re-broadcast it), False if it is a
        duplicate, too old for the window, or before the minimum time."""
        self.clock.witness(ltime)
        if ltime < self.min_time:
            return False
        now = self.clock.time()
        if now > self.size and ltime < now - self.size:
            return False
        idx = ltime % self.size
        slot = self._slots[idx]
        if slot is not None and slot.ltime == ltime:
            if (name, payload) in slot.events:
                return False
        else:
            slot = self._slots[idx] = _Slot(ltime)
        slot.events.append((name, payload))
        return True

    def recent(self) -> list[tuple[int, str, bytes]]:
        """Every remembered event as (ltime, name, payload), oldest first: what a push-pull carries so
        that a member that missed the gossip still hears recent events."""
        out = [(s.ltime, name, payload) for s in self._slots if s is not None for name, payload in s.events]
        out.sort(key=lambda e: e[0])
        return out


def encode_tags(tags: dict[str, str]) -> bytes:
    """Tags as member metadata: the magic byte, then a msgpack map with keys sorted (so equal tags
    always encode to equal bytes and never trigger a spurious update). Raises ValueError above 512 B."""
    body = msgspec.msgpack.encode({k: tags[k] for k in sorted(tags)})
    meta = bytes([TAG_MAGIC_BYTE]) + body
    if len(meta) > META_MAX_SIZE:
        raise ValueError(f"encoded tags are {len(meta)} bytes; members may carry at most {META_MAX_SIZE}")
    return meta


def decode_tags(meta: bytes) -> dict[str, str]:
    """The inverse of `encode_tags`. Metadata without the magic byte is an old-style bare role name.
    Undecodable metadata yields an empty map rather than an error: it arrived from the network."""
    if not meta or meta[0] != TAG_MAGIC_BYTE:
        return {"role": meta.decode("utf-8", "replace")}
    try:
        decoded = msgspec.msgpack.decode(meta[1:], type=dict[str, str])
    except msgspec.DecodeError:
        return {}
    return decoded


class ConsulTags(msgspec.Struct, frozen=True, kw_only=True):
    """The tags a Consul agent advertises, typed. ``role`` is ``consul`` for servers, ``node`` for clients;
    ``port`` is the server RPC port; ``vsn`` the Consul protocol version; ``id`` the node ID."""

    role: str
    dc: str
    id: str = ""
    port: int | None = None
    vsn: int | None = None
    vsn_min: int | None = None
    vsn_max: int | None = None
    build: str = ""
    segment: str = ""
    extra: dict[str, str] = {}

    @property
    def is_server(self) -> bool:
        return self.role == "consul"

    def to_tags(self) -> dict[str, str]:
        tags = dict(self.extra)
        tags["role"] = self.role
        tags["dc"] = self.dc
        for key in ("id", "build", "segment"):
            if getattr(self, key):
                tags[key] = getattr(self, key)
        for key in ("port", "vsn", "vsn_min", "vsn_max"):
            if getattr(self, key) is not None:
                tags[key] = str(getattr(self, key))
        return tags

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> "ConsulTags":
        """Parse, keeping unknown keys in ``extra``; a malformed number raises ValueError naming the tag."""
        known = {"role", "dc", "id", "port", "vsn", "vsn_min", "vsn_max", "build", "segment"}
        numbers: dict[str, int | None] = {}
        for key in ("port", "vsn", "vsn_min", "vsn_max"):
            raw = tags.get(key)
            if raw is None:
                numbers[key] = None
                continue
            try:
                numbers[key] = int(raw)
            except ValueError:
                raise ValueError(f"tag {key!r} is not an integer: {raw!r}") from None
        return cls(role=tags.get("role", ""), dc=tags.get("dc", ""), id=tags.get("id", ""),
                   build=tags.get("build", ""), segment=tags.get("segment", ""),
                   extra={k: v for k, v in tags.items() if k not in known}, **numbers)
