"""Which ACL token a client agent's anti-entropy acts with, call by call (Consul's ``agent/local/state.go``).

A client agent syncs through a server (``actors/forward/remote_catalog``), which authorizes every call
with the token it carries, as the HTTP endpoints would. The tokens, as Consul chooses them:

* reading the catalog's view of this node, registering the node itself, and every deregistration:
  the agent token (``acl.tokens.agent`` or its ``PUT /v1/agent/token/agent`` override), else the
  default token (Consul's ``AgentToken()``). Deregistrations never use the service's own token (it may
  have been deleted since; the agent token needs ``node:write``, which covers them);
* registering a service or a check, and updating a check's status: the token it was registered with
  (``LocalService.token`` / ``LocalCheck.token``: the request's, including for maintenance checks, or
  a config-file definition's ``token``), else, for a definition from the config files, the
  ``config_file_service_registration`` token, else the default token (Consul's
  ``aclTokenForServiceSync`` / ``aclTokenForCheckSync`` falling back to ``UserToken()``). The agent
  token is *not* a fallback there, as in Consul: give services their own token, or a default one.

``""`` means no token: the server judges the call as ``anonymous``. A server agent's own syncer writes
to its replica directly and needs none of this.

What must never live here: the plan (``diff``), the writes' retries (``syncer``), or logging of secrets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.acl.agent_tokens import AgentTokens
from actors.local.records import SOURCE_CONFIG, LocalCheck, LocalService
from actors.local.state import LocalState
from actors.state.commands import CheckUpdate, Command, NodeRegister

if TYPE_CHECKING:
    from actors.forward.remote_catalog import RemoteApplied, RemoteCatalog


def agent_token(tokens: AgentTokens) -> str:
    """Consul's ``AgentToken()``: the agent token, else the default one."""
    return tokens.get("agent") or tokens.default


def registration_token(record: LocalService | LocalCheck | None, tokens: AgentTokens) -> str:
    """The token a service or check is (re)registered with (see the module docstring)."""
    if record is None:
        return tokens.default
    if record.token:
        return record.token
    if record.source == SOURCE_CONFIG:
        return tokens.get("config_file_service_registration") or tokens.default
    return tokens.default


def command_token(command: Command, state: LocalState, tokens: AgentTokens) -> str:
    """The token to send ``command`` (one anti-entropy op, from ``ops.to_command``) with."""
    if isinstance(command, NodeRegister):
        if command.service is not None:
            return registration_token(state.service(command.service.id or command.service.service), tokens)
        if command.checks:
            return registration_token(state.check(command.checks[0].check_id), tokens)
        return agent_token(tokens)
    if isinstance(command, CheckUpdate):
        return registration_token(state.check(command.check_id), tokens)
    return agent_token(tokens)  # deregistrations


class TokenWriter:
    """Writes through a `RemoteCatalog`, each with the token Consul would use for it."""

    def __init__(self, catalog: "RemoteCatalog", state: LocalState, tokens: AgentTokens) -> None:
        self.catalog = catalog
        self.state = state
        self.tokens = tokens

    async def write(self, command: Command) -> "RemoteApplied":
        return await self.catalog.write(command, token=command_token(command, self.state, self.tokens))

    async def node_view(self, node: str) -> Any:
        return await self.catalog.node_view(node, token=agent_token(self.tokens))
