"""Consul's ACL HTTP API, installed in one call: bootstrap, tokens, policies, the agent's own tokens.

What lives here: `install_acl(router, api)`, which builds the `AclApi` bundle and calls each group's
installer. Endpoint list:

* ``PUT /v1/acl/bootstrap`` (``acl_bootstrap``)
* ``PUT /v1/acl/token``, ``GET /v1/acl/token/self``, ``GET|PUT|DELETE /v1/acl/token/<accessor>``,
  ``PUT /v1/acl/token/<accessor>/clone``, ``GET /v1/acl/tokens?policy=`` (``acl_token``)
* ``PUT /v1/acl/policy``, ``GET|PUT|DELETE /v1/acl/policy/<id>``, ``GET /v1/acl/policy/name/<name>``,
  ``GET /v1/acl/policies`` (``acl_policy``)
* ``PUT /v1/agent/token/<kind>`` (``agent_token``)

On a client agent every ``/v1/acl/`` request is forwarded whole to a server (``actors/forward``), its
token header with it; ``/v1/agent/token`` is answered locally.

What must never live here: endpoint logic.
"""

from __future__ import annotations

from actors.api.acl_bootstrap import install_acl_bootstrap
from actors.api.acl_common import AclApi
from actors.api.acl_policy import install_acl_policies
from actors.api.acl_token import install_acl_tokens
from actors.api.agent_token import install_agent_token
from actors.api.reply import Api
from runtime.http import Router


def install_acl(router: Router, api: Api) -> AclApi:
    acl = AclApi(api)
    install_acl_bootstrap(router, acl)
    install_acl_tokens(router, acl)
    install_acl_policies(router, acl)
    install_agent_token(router, acl)
    return acl
