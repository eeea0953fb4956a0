"""Typed failures of the state store.

What lives here: `StoreError` and its few subclasses. Each carries a stable ``kind`` string that the HTTP
layer maps to a status code and that survives a trip through `runtime.messages.Error` when a follower
forwards a write to the leader. Messages are worded like Consul's own so that clients matching on text
keep working.

What must never live here: HTTP status codes (the API decides) or logic.

A store error always means *nothing was written*: `StateStore.apply` rolls the whole command back before
reporting one.
"""

from __future__ import annotations

import json
from typing import ClassVar

from runtime.messages import Error


def quote(s: str) -> str:
    """Go's ``%q`` for the strings quoted in Consul's messages (exact for printable text)."""
    return json.dumps(s, ensure_ascii=False)


class StoreError(Exception):
    """Base class: the command was refused and the store is unchanged."""

    kind: ClassVar[str] = "store"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.message == self.message  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.message))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def to_message(self, origin_node: str, origin_dc: str) -> Error:
        """Box this error for a trip between nodes (leader → forwarding server)."""
        return Error(
            origin_node=origin_node, origin_dc=origin_dc, kind=f"state.{self.kind}", message=self.message
        )

    @staticmethod
    def from_message(err: Error) -> "StoreError":
        """Rebuild the typed error from a boxed one; unknown kinds come back as plain `StoreError`."""
        kind = err.kind.removeprefix("state.")
        for cls in (InvalidInput, NotFound, TooLarge, StoreError):
            if cls.kind == kind:
                return cls(err.message)
        return StoreError(err.message)


class InvalidInput(StoreError):
    """The command itself is malformed: bad status, NUL in a key, bad behavior, bad TTL string..."""

    kind = "invalid_input"


class NotFound(StoreError):
    """Something the command depends on does not exist: the node, a session, a check, a service."""

    kind = "not_found"


class TooLarge(StoreError):
    """A KV value above the store's ceiling `MAX_VALUE_SIZE` (a value no Raft append could carry; the
    configured ``kv_max_value_size`` is the API's to enforce, with 413, before proposing)."""

    kind = "too_large"
