"""The children the local-state feature adds to an agent's tree, in start order.

What lives here: `local_subsystems(ctx)`, returning the `ChildSpec` of ``local`` (loads the local state
first), ``health`` (one actor per check) and ``catalog.sync`` (anti-entropy). They share the context's
`LocalAgent`, the same one the agent's HTTP endpoints use.

What must never live here: behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.catalog.syncer import CatalogSyncer
from actors.health.supervisor import HealthSupervisor
from runtime.supervisor import ChildSpec

from .actor import LocalStateActor
from .local_agent import local_agent_of

if TYPE_CHECKING:
    from actors.context import AgentContext


def local_subsystems(ctx: "AgentContext") -> list[ChildSpec]:
    local = local_agent_of(ctx)
    return [
        ChildSpec("local", LocalStateActor, local),
        ChildSpec("health", HealthSupervisor, local),
        ChildSpec("catalog.sync", CatalogSyncer, local),
    ]
