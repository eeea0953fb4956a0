"""The node's ID survives restarts: ``<data_dir>/node-id`` holds it, as in Consul.

What lives here: `settle_node_id`, which picks the node ID an agent runs with. In order: ``node_id``
from the configuration (``-node-id``), else the one persisted in ``<data_dir>/node-id``, else the
freshly drawn one, which is then written there (atomically, fsynced) so the next start finds it. A
configured ID that differs from the persisted one replaces it, as Consul lets an operator do. In-memory
agents (``-dev`` without a data dir) keep the drawn one and write nothing.

What must never live here: drawing IDs (the context does that from the seed) or any other state of the
data directory.
"""

from __future__ import annotations

import os
import uuid

from actors.raft.disk.files import atomic_write, make_dirs

NODE_ID_FILE = "node-id"


class NodeIdError(ValueError):
    """The persisted or configured node ID is unusable; the message says which and why."""


def _checked(value: str, where: str) -> str:
    text = value.strip().lower()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        raise NodeIdError(f"{where}: node ID {value.strip()!r} is not a valid UUID") from None
    if str(parsed) != text:
        raise NodeIdError(f"{where}: node ID {value.strip()!r} must be a UUID in its 8-4-4-4-12 form")
    return text


def settle_node_id(data_dir: str | None, configured: str | None, drawn: str) -> str:
    """The node ID to run with (see the module docstring); persists it when there is a data dir."""
    chosen = _checked(configured, "node_id") if configured else None
    if not data_dir:
        return chosen or drawn
    path = os.path.join(data_dir, NODE_ID_FILE)
    persisted: str | None = None
    try:
        with open(path, encoding="utf-8") as f:
            persisted = _checked(f.read(), path)
    except FileNotFoundError:
        pass
    if chosen is None:
        chosen = persisted or drawn
    if chosen != persisted:
        make_dirs(data_dir)
        atomic_write(data_dir, NODE_ID_FILE, [chosen.encode("ascii")])
    return chosen
