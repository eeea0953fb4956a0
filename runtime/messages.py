"""Base classes for every typed message in proconsul, and the boxed error that travels between nodes.

What lives here: the `Message` base Struct (frozen, keyword-only, tagged with a stable string under the
field ``t``), the `Error` box for failures that cross an actor or node boundary, and nothing protocol
specific. Each protocol (raft, swim, catalog...) declares its own messages in its own ``messages.py`` by
subclassing `Message` with an explicit tag such as ``tag="raft.append"``; the tag is part of the wire
format and may only ever be added, never renamed.

What must never live here: protocol logic, IO, or any import of ``actors``.
"""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="t"):
    """Base of every typed message: mailbox messages and wire messages alike.

    Subclasses must pass an explicit ``tag="<subsystem>.<verb>"`` so that renaming a class never changes
    what goes over the wire.
    """


class Error(Message, tag="error"):
    """A failure boxed as data: where it happened, what kind it was, what it said, and the hops it took.

    The WAN forwarder and the RPC layer relay it unchanged, appending their own hop to ``relay``.
    """

    origin_node: str
    origin_dc: str
    kind: str
    message: str
    relay: tuple[str, ...] = ()

    def with_hop(self, hop: str) -> "Error":
        return msgspec.structs.replace(self, relay=(*self.relay, hop))
