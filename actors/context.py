"""What every subsystem and HTTP handler of one agent can reach: its config, its tree, its identity.

What lives here: `AgentContext`, built once by the agent before its tree starts and handed to the
children that need it. Subsystems register themselves here when they start (``ctx.http_addr``) so
handlers can find them by attribute rather than by string paths.

What must never live here: behaviour. This is a plain record; logic belongs to the actors.
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
import uuid
from typing import TYPE_CHECKING, Any, Callable

from runtime.rng import derive
from runtime.tree import ActorTree

if TYPE_CHECKING:
    from actors.backend import StoreBackend
    from actors.config import AgentConfig


class AgentContext:
    """One agent's shared, read-mostly facts."""

    def __init__(self, config: "AgentConfig", tree: ActorTree, seed: int) -> None:
        self.config = config
        self.tree = tree
        self.seed = seed
        self.node_id = node_id_from(derive(seed, "node-id"))
        self.http_addr: tuple[str, int] | None = None  # set by the HTTP listener once bound
        self.backend: StoreBackend | None = None  # the replicated state, on servers (see actors/backend.py)
        self.extras: dict[str, Any] = {}
        self.on_close: list[Callable[[], None]] = []  # run when the agent's tree has stopped (close files)

    @property
    def root_path(self) -> str:
        return f"agent:{self.config.node_name}"

    def rng(self, name: str) -> Random:
        """An independent seeded stream for one subsystem (``ctx.rng("raft")``)."""
        return derive(self.seed, f"{self.config.node_name}/{name}")


def node_id_from(rng: Random) -> str:
    """A UUID4-shaped node ID drawn from a seeded stream (Consul generates one per data dir)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
