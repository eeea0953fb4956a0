"""The agent-local HTTP API, installed in one call: services, checks, maintenance, health, reload.

What lives here: `install_agent_local(router, ctx)`, which fetches the context's `LocalAgent` (the
same one the ``local``, ``health`` and ``catalog.sync`` actors use) and installs each group:

* ``agent_services``: ``/v1/agent/service/register``, ``/deregister/<id>``, ``/v1/agent/services``,
  ``/v1/agent/service/<id>``;
* ``agent_checks``: ``/v1/agent/checks``, ``/v1/agent/check/register|deregister|pass|warn|fail|update``;
* ``agent_maintenance``: ``/v1/agent/maintenance``, ``/v1/agent/service/maintenance/<id>``;
* ``agent_health``: ``/v1/agent/health/service/id/<id>``, ``/name/<name>``;
* here: ``PUT /v1/agent/reload`` (``agent:write``), re-reading the config's service and check definitions (through
  ``LocalAgent.config_loader`` when set).

What must never live here: endpoint logic of the groups, or the local state's rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.api.agent_checks import install_agent_checks
from actors.api.agent_health import install_agent_health
from actors.acl.enforce import acl_of, require
from actors.api.agent_io import empty, local_errors
from actors.api.agent_maintenance import install_agent_maintenance
from actors.api.agent_services import install_agent_services
from actors.config import ConfigError
from actors.local.local_agent import LocalAgent, local_agent_of
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext


def install_agent_local(router: Router, ctx: "AgentContext") -> LocalAgent:
    local = local_agent_of(ctx)
    install_agent_services(router, ctx, local)
    install_agent_checks(router, ctx, local)
    install_agent_maintenance(router, ctx, local)
    install_agent_health(router, ctx, local)

    async def reload(req: Request) -> Response:
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.agent_write(ctx.config.node_name), "agent:write", ctx.config.node_name)
        try:
            with local_errors():
                await local.reload()
        except ConfigError as err:
            raise HTTPError(500, f"Failed to reload configs: {err}") from None
        return empty()

    router.add("PUT", "/v1/agent/reload", reload)
    return local
