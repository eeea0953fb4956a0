"""UUIDs at the API edge: minting session IDs from a seeded stream, and judging IDs clients send.

What lives here: `new_uuid` (a version-4-shaped UUID drawn from a `Random`, never ``uuid4()``,
so runs repeat), `session_id_error` (why a session ID cannot be one, worded as Consul's session-table
lookup reports it) and `node_id_error` (hashicorp/go-uuid's wording, for a catalog node ``ID``).

What must never live here: lookups in the store or HTTP responses.
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
import re
import uuid

_HEX = re.compile(r"[0-9a-fA-F]+")


def new_uuid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _uuid_shape_error(text: str) -> str | None:
    """None for ``8-4-4-4-12`` hex; else a short reason."""
    if len(text) != 36:
        return "wrong length"
    if [i for i, c in enumerate(text) if c == "-"] != [8, 13, 18, 23]:
        return "improperly formatted"
    if not _HEX.fullmatch(text.replace("-", "")):
        return "not hexadecimal"
    return None


def session_id_error(session_id: str) -> str | None:
    """The message for a malformed session ID (Consul's memdb UUID index wording), or None."""
    problem = _uuid_shape_error(session_id)
    if problem is None:
        return None
    if problem == "wrong length":
        return "failed session lookup: index error: UUID must be 36 characters"
    return f"failed session lookup: index error: invalid UUID {session_id!r}: {problem}"


def node_id_error(node_id: str) -> str | None:
    """``Bad node ID: ...`` for a node ID that is not a UUID (go-uuid's ParseUUID wording), or None."""
    problem = _uuid_shape_error(node_id)
    if problem is None:
        return None
    if problem == "wrong length":
        return "Bad node ID: uuid string is wrong length"
    return "Bad node ID: uuid is improperly formatted"
