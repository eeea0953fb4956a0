"""The tokens an agent holds for itself: ``acl.tokens.*`` from the config, overridable at run time.

What lives here: `AgentTokens` (one per agent, in ``ctx.extras["acl.tokens"]``, reached through
`agent_tokens(ctx)`) and `TOKEN_KINDS`, the names ``PUT /v1/agent/token/<kind>`` accepts (Consul's
current names and their legacy aliases). An override set through the API lives in memory only (Consul
persists it only with ``enable_token_persistence``) and wins over the config value until the agent
restarts. Setting ``""`` is an override too: the agent then uses no token of that kind, as in Consul.
Whoever acts with these tokens may `AgentTokens.subscribe` to hear which kind changed (the catalog
syncer runs a full sync when the agent or default token changes, as Consul's ``/v1/agent/token`` does).

What must never live here: token resolution (``resolve``) or HTTP handling (``actors/api/agent_token``).
Secrets are never logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from actors.context import AgentContext

# URL name -> canonical kind (the ``acl.tokens`` field it overrides, where there is one)
TOKEN_KINDS: dict[str, str] = {
    "default": "default",
    "acl_token": "default",
    "agent": "agent",
    "acl_agent_token": "agent",
    "agent_recovery": "agent_recovery",
    "agent_master": "agent_recovery",
    "acl_agent_master_token": "agent_recovery",
    "replication": "replication",
    "acl_replication_token": "replication",
    "config_file_service_registration": "config_file_service_registration",
    "dns": "dns",
}


class AgentTokens:
    """The agent's own tokens by kind: the API override if any, else the config value, else ``""``."""

    def __init__(self, ctx: "AgentContext") -> None:
        self._ctx = ctx
        self._overrides: dict[str, str] = {}
        self._listeners: list[Callable[[str], None]] = []

    def get(self, kind: str) -> str:
        if kind in self._overrides:
            return self._overrides[kind]
        return getattr(self._ctx.config.acl.tokens, kind, None) or ""

    def set(self, kind: str, secret: str) -> None:
        changed = self.get(kind) != secret
        self._overrides[kind] = secret
        if changed:
            for listener in list(self._listeners):
                listener(kind)

    def subscribe(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(kind)`` whenever a token's value changes; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    @property
    def default(self) -> str:
        """The token a request without one is made with (Consul's "user token")."""
        return self.get("default")


def agent_tokens(ctx: "AgentContext") -> AgentTokens:
    tokens = ctx.extras.get("acl.tokens")
    if tokens is None:
        tokens = ctx.extras["acl.tokens"] = AgentTokens(ctx)
    return tokens
