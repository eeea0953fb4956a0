"""What DNS may answer under ACLs: the state store as the agent's DNS token sees it.

Consul answers DNS with the agent's own token (``acl.tokens.dns`` where set, else ``acl.tokens.default``,
else ``anonymous``): a service instance is answered only when the token may read its service and its
node, a node only when it may read the node; anything else is as if it did not exist (NXDOMAIN, as
Consul's filtered RPC results give). Name servers (instances of ``consul``) and reverse lookups are
filtered the same way.

What lives here: `dns_store(ctx, store, secret)` (``secret``: a forwarding client agent's token, see
`forwarded_token`; None: this agent's own), which returns the store itself when nothing needs
filtering (ACLs off, a management token) and otherwise an `AclStoreView`: the few reads the
`Resolver` makes, filtered. Resolution is synchronous, from this server's replica
(`authorize_secret_now`); an unknown DNS token raises ``HTTPError(403, "ACL not found")``, which the
query path answers with SERVFAIL, as Consul does when its RPC fails.

What must never live here: record building (``resolve``) or the store's own rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from actors.acl import readable
from actors.acl.agent_tokens import agent_tokens
from actors.acl.authorizer import ALLOW_ALL, MANAGEMENT, Authorizer
from actors.acl.resolve import authorize_secret_now
from actors.state.models import Node, ServiceEntry, ServiceNode
from actors.state.store import StateStore

if TYPE_CHECKING:
    from actors.context import AgentContext


class AclStoreView:
    """The `StateStore` reads DNS uses, restricted to what ``authz`` may read."""

    def __init__(self, store: StateStore, authz: Authorizer) -> None:
        self.store = store
        self.authz = authz

    def service_health(self, name: str, tags: Iterable[str] = (), passing_only: bool = False,
                       ws: Any = None) -> tuple[int, list[ServiceEntry]]:
        index, entries = self.store.service_health(name, tags, passing_only, ws)
        return index, [e for e in entries if readable.service_entry(self.authz, e)]

    def service_nodes(self, name: str, tags: Iterable[str] = (), ws: Any = None) -> tuple[int, list[ServiceNode]]:
        index, found = self.store.service_nodes(name, tags, ws)
        return index, [s for s in found if readable.service_node(self.authz, s)]

    def services(self, ws: Any = None) -> tuple[int, dict[str, list[str]]]:
        index, found = self.store.services(ws)
        return index, {name: tags for name, tags in found.items() if self.authz.service_read(name)}

    def node(self, name: str, ws: Any = None) -> tuple[int, Node | None]:
        index, found = self.store.node(name, ws)
        if found is not None and not self.authz.node_read(found.node):
            return index, None
        return index, found

    def nodes(self, ws: Any = None) -> tuple[int, list[Node]]:
        index, found = self.store.nodes(ws)
        return index, [n for n in found if self.authz.node_read(n.node)]


def dns_secret(ctx: "AgentContext") -> str | None:
    """The agent's DNS token: ``dns`` if set, else None (the default token, else anonymous, applies)."""
    return agent_tokens(ctx).get("dns") or None


def forwarded_token(ctx: "AgentContext") -> str:
    """The token a client agent sends with a forwarded query: ``dns``, else ``default``, else ""."""
    return dns_secret(ctx) or agent_tokens(ctx).default or ""


def dns_store(ctx: "AgentContext", store: StateStore, secret: str | None = None) -> Any:
    """``store`` as the DNS token (``secret``, else the agent's) may see it."""
    if not ctx.config.acl.enabled:
        return store
    authz, _ = authorize_secret_now(secret or dns_secret(ctx), ctx)
    if authz is ALLOW_ALL or authz is MANAGEMENT:
        return store
    return AclStoreView(store, authz)
