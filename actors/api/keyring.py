"""The gossip keyring: ``/v1/operator/keyring`` with GET (list), POST (install), PUT (use), DELETE (remove).

What lives here: the four handlers. The write verbs take ``{"Key": "<base64>"}`` (keys matched case-
insensitively, as Go's JSON decoder does) and answer 200 with an empty body; list answers Consul's
``KeyringResponse`` objects, WAN pool first on servers. Every call fails with 500 when gossip
encryption is off, and with 500 listing the nodes when any member failed the operation or did not
answer in time. ``relay-factor`` and ``local-only`` are accepted and ignored.

ACLs: list ``keyring:read``; install/use/remove ``keyring:write``.

What must never live here: keyring logic (``actors.gossip``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.acl.enforce import acl_of, require
from actors.api.agent_members import gossip_of
from actors.api.reply import json_reply
from actors.gossip.crypto import KeyringError, decode_key
from actors.gossip.facade import GossipError, GossipUnavailable, KeyringFailed
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext

_OPS = {"POST": "install", "PUT": "use", "DELETE": "remove"}


def _key_of(req: Request) -> str:
    body: Any = req.json() if req.body.strip() else {}
    if not isinstance(body, dict):
        raise HTTPError(400, "Request decode failed: expected a JSON object")
    key = next((v for k, v in body.items() if k.lower() == "key"), None)
    if not isinstance(key, str) or not key:
        raise HTTPError(400, "Request decode failed: missing Key")
    try:
        decode_key(key)
    except KeyringError as err:
        raise HTTPError(400, f"Invalid key: {err}") from None
    return key


def install_keyring(router: Router, ctx: "AgentContext") -> None:
    async def run(req: Request, op: str, key: str = "") -> list[dict[str, Any]]:
        gossip = gossip_of(ctx)
        try:
            return await gossip.keyring(op, key)
        except (GossipError, KeyringFailed, GossipUnavailable) as err:
            raise HTTPError(500, str(err)) from None

    async def listing(req: Request) -> Response:
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.keyring_read(), "keyring:read")
        return json_reply(ctx, req, await run(req, "list"))

    async def change(req: Request) -> Response:
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.keyring_write(), "keyring:write")
        gossip = gossip_of(ctx)
        if not gossip.encrypted:  # refuse before even reading the body, as every keyring call does
            await run(req, _OPS[req.method])
        await run(req, _OPS[req.method], _key_of(req))
        return Response(200)

    router.add("GET", "/v1/operator/keyring", listing)
    router.add(["POST", "PUT", "DELETE"], "/v1/operator/keyring", change)
