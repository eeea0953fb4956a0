"""``PUT /v1/agent/token/<kind>``: replace one of the agent's own ACL tokens at run time.

What lives here: the handler. ``kind`` is one of `TOKEN_KINDS` (``default``, ``agent``,
``agent_recovery``, ``replication``, their legacy ``acl_*`` names, ...); the body is
``{"Token": "<secret>"}``. The new value overrides ``acl.tokens.<kind>`` in memory until the agent
restarts. Needs ``acl:write``. As Consul: ACLs off 401 ``ACL support disabled``; an unknown kind 404
``Token "<kind>" is unknown``; success is a 200 with an empty body. This is an agent endpoint: a client
agent answers it itself, it is never forwarded. The secret is never logged.

What must never live here: token resolution or the override store (``actors/acl/agent_tokens``).
"""

from __future__ import annotations

from actors.acl.agent_tokens import TOKEN_KINDS, agent_tokens
from actors.api.acl_common import AclApi
from actors.api.decode import fold_key, json_type, read_json
from runtime.http import HTTPError, Request, Response, Router
from runtime.log import get_logger

log = get_logger("agent")

PREFIX = "Request decode failed: "


def install_agent_token(router: Router, acl: AclApi) -> None:
    ctx = acl.ctx

    async def set_token(req: Request) -> Response:
        acl.ensure_enabled()
        await acl.require(req, "write")
        body = read_json(req.body, PREFIX)
        if not isinstance(body, dict):
            raise HTTPError(400, f"{PREFIX}json: cannot unmarshal {json_type(body)} into Go value of type api.AgentToken")
        secret = ""
        for key, value in body.items():
            if fold_key(key) == "token" and value is not None:
                if not isinstance(value, str):
                    raise HTTPError(400, f"{PREFIX}json: cannot unmarshal {json_type(value)} into Go struct field "
                                         "AgentToken.Token of type string")
                secret = value
        target = req.params["kind"]
        kind = TOKEN_KINDS.get(target)
        if kind is None:
            raise HTTPError(404, f'Token "{target}" is unknown')
        agent_tokens(ctx).set(kind, secret)
        log.info("Updated agent's ACL token", token=target)
        return Response(200, b"")

    router.add("PUT", "/v1/agent/token/{kind}", set_token)
