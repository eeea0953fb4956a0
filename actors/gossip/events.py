"""Consul's user events on top of Serf's: the envelope, the receive-side filters, and the list index.

A Consul event travels as the Serf user event ``consul:event:<name>`` whose payload is the msgpack of
`ConsulEvent` (Consul's short codec names: ``n``, ``p``, ``nf``, ``sf``, ``tf``, ``v``). The node, service
and tag filters are regular expressions applied by each *receiving* agent (`should_process`): the node
filter to its node name, the service filter to its local services, the tag filter to those services'
tags (only together with a service filter). Matching is a search, as Go's ``MatchString``.

What lives here: `ConsulEvent`, `validate_fire` (Consul's checks and messages), `encode_event` /
`decode_event`, `should_process`, `event_json` (what ``/v1/event/fire`` and ``/v1/event/list`` return)
and `uuid_index` (the list's ``X-Consul-Index``: the XOR of the newest event ID's two 64-bit halves).

What must never live here: the event buffer and blocking (``event_log``) or gossip.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Iterable

import msgspec

PREFIX = "consul:event:"
EVENT_VERSION = 1  # Consul's userEventMaxVersion


class FireError(ValueError):
    """A fire request Consul refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConsulEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One user event. ``ltime`` is not on the wire: receivers take it from the Serf event."""

    id: str = msgspec.field(default="", name="ID")
    name: str = msgspec.field(default="", name="n")
    payload: bytes | None = msgspec.field(default=None, name="p")
    node_filter: str = msgspec.field(default="", name="nf")
    service_filter: str = msgspec.field(default="", name="sf")
    tag_filter: str = msgspec.field(default="", name="tf")
    version: int = msgspec.field(default=EVENT_VERSION, name="v")
    ltime: int = msgspec.field(default=0, name="-lt")


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(ConsulEvent)


def _compile(kind: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as err:
        raise FireError(500, f"Invalid {kind} filter: {err}") from None


def validate_fire(name: str, node_filter: str, service_filter: str, tag_filter: str) -> None:
    """Consul's checks, in its order and words; names starting with ``_`` are reserved for Consul."""
    if not name:
        raise FireError(400, "Missing name")
    if name.startswith("_"):
        raise FireError(400, f"Event name {name!r} is reserved: names starting with '_' are for internal use")
    if tag_filter and not service_filter:
        raise FireError(500, "Cannot provide tag filter without service filter")
    for kind, pattern in (("node", node_filter), ("service", service_filter), ("tag", tag_filter)):
        if pattern:
            _compile(kind, pattern)


def encode_event(event: ConsulEvent) -> tuple[str, bytes]:
    """The Serf event name and payload carrying ``event`` (``ltime`` is left out)."""
    wire = msgspec.structs.replace(event, ltime=0)
    return PREFIX + event.name, _encoder.encode(wire)


def decode_event(serf_name: str, payload: bytes, ltime: int) -> ConsulEvent | None:
    """The Consul event in a Serf event, or None if it is not one (or is malformed)."""
    if not serf_name.startswith(PREFIX):
        return None
    try:
        event = _decoder.decode(payload)
    except msgspec.DecodeError:
        return None
    return msgspec.structs.replace(event, ltime=ltime)


def should_process(event: ConsulEvent, node_name: str, services: Iterable[tuple[str, list[str]]]) -> bool:
    """Whether this agent keeps the event. Unparseable filters reject it, as Consul logs and drops."""
    try:
        if event.node_filter and not re.search(event.node_filter, node_name):
            return False
        if not event.service_filter:
            return True
        service_re = re.compile(event.service_filter)
        tag_re = re.compile(event.tag_filter) if event.tag_filter else None
    except re.error:
        return False
    for service, tags in services:
        if not service_re.search(service):
            continue
        if tag_re is None or any(tag_re.search(tag) for tag in tags):
            return True
    return False


def event_json(event: ConsulEvent) -> dict[str, Any]:
    """Consul's ``UserEvent`` JSON: the payload base64 (``null`` when empty)."""
    return {
        "ID": event.id,
        "Name": event.name,
        "Payload": base64.b64encode(event.payload).decode() if event.payload else None,
        "NodeFilter": event.node_filter,
        "ServiceFilter": event.service_filter,
        "TagFilter": event.tag_filter,
        "Version": event.version,
        "LTime": event.ltime,
    }


def uuid_index(event_id: str) -> int:
    """Consul's ``uuidToUint64``: the first 16 hex digits XOR the last 16 (dashes skipped)."""
    digits = event_id.replace("-", "")
    if len(digits) != 32:
        return 1
    try:
        return int(digits[:16], 16) ^ int(digits[16:], 16)
    except ValueError:
        return 1
