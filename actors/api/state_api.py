"""Consul's HTTP API over the state store, installed in one call.

What lives here: `install_state_api(router, ctx)`, which builds the shared `Api` bundle and calls each
group's installer (KV, transactions, sessions, catalog, health, operator, ACL), and the re-export of
`register_self` for whoever starts the agent's state. Endpoint list:

* ``GET/PUT/DELETE /v1/kv/<key>`` (``kv``)
* ``PUT /v1/txn`` (``txn``)
* ``PUT /v1/session/create|destroy/<id>|renew/<id>``, ``GET /v1/session/info/<id>|node/<node>|list``
* ``PUT /v1/catalog/register|deregister``, ``GET /v1/catalog/datacenters|nodes|services|service/<name>
  |node/<node>|node-services/<node>`` (``catalog``)
* ``GET /v1/health/node/<node>|checks/<service>|service/<service>|state/<state>`` (``health``)
* ``GET /v1/operator/raft/configuration``, ``GET /v1/operator/autopilot/health`` (``operator``)
* ``/v1/acl/*`` and ``PUT /v1/agent/token/<kind>`` (``acl``)

What must never live here: endpoint logic. ``/v1/status/*`` and ``/v1/agent/self`` are installed
separately by the agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.api.acl import install_acl
from actors.api.catalog import install_catalog
from actors.api.health import install_health
from actors.api.kv import install_kv
from actors.api.operator import install_operator
from actors.api.reply import Api
from actors.api.self_register import register_self
from actors.api.session import install_session
from actors.api.txn import install_txn
from runtime.http import Router

if TYPE_CHECKING:
    from actors.context import AgentContext

__all__ = ["install_state_api", "register_self"]


def install_state_api(router: Router, ctx: "AgentContext") -> Api:
    api = Api(ctx)
    install_kv(router, api)
    install_txn(router, api)
    install_session(router, api)
    install_catalog(router, api)
    install_health(router, api)
    install_operator(router, api)
    install_acl(router, api)
    return api
