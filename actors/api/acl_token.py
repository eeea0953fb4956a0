"""``/v1/acl/token*``: create, read, self, update, clone, delete and list tokens.

What lives here: the seven handlers and the checks Consul's ``ACL.TokenSet``/``TokenClone``/
``TokenDelete`` make before proposing (caller-chosen IDs must be UUIDs outside the reserved prefix,
policy names resolved to IDs, expiration between 1 minute and 24 hours ahead, AccessorID in the URL
and the body must agree, a token cannot delete itself). The state store re-checks whatever depends on
its tables when the command applies. Reading needs ``acl:read``, writing ``acl:write``; a reader
without ``acl:write`` sees SecretIDs as ``<hidden>``. ``token/self`` needs only the secret itself.

Status codes as Consul 1.20: ACLs off 401; unknown accessor on read 404 ``Requested token does not
exist: ACL not found``; unknown secret on ``self`` 404 ``Supplied token does not exist``; cloning an
unknown token 403 ``ACL not found``; deleting an unknown one ``true``; other refusals 500 with Consul's
text; malformed bodies 400.

What must never live here: the token tables (``actors/state/acl_tables``) or token resolution.
"""

from __future__ import annotations

from typing import Any

from actors.acl.agent_tokens import agent_tokens
from actors.acl.authz_errors import ERR_NOT_FOUND
from actors.acl.resolve import effective_secret, token_of
from actors.api.acl_common import AclApi, not_exist, reserved, reserved_message, uuid_error
from actors.api.acl_io import read_token_body, token_json, token_stub_json
from actors.api.headers import read_headers
from actors.api.query import check_datacenter, parse_query
from actors.state.acl_commands import ACLTokenDelete, ACLTokenSet
from actors.state.acl_models import ANONYMOUS_ACCESSOR_ID
from actors.state.durations import format_duration_ns
from runtime import clock
from runtime.http import HTTPError, Request, Response, Router

MIN_EXPIRATION_NS = 60 * 1_000_000_000  # Consul's acl_token_min_expiration_ttl (1m)
MAX_EXPIRATION_NS = 24 * 3600 * 1_000_000_000  # Consul's acl_token_max_expiration_ttl (24h)


def _now_ns() -> int:
    return int(clock.wall_time() * 1e9)


def _policy_ids(acl: AclApi, links: list[tuple[str, str]]) -> list[str]:
    store = acl.api.store
    ids = []
    for pid, name in links:
        if not pid:
            _, policy = store.acl_policy_by_name(name)
            if policy is None:
                raise HTTPError(500, f'No such ACL policy with name "{name}"')
            pid = policy.id
        elif store.acl_policy_by_id(pid)[1] is None:
            raise HTTPError(500, f'No such ACL policy with ID "{pid}"')
        if pid not in ids:
            ids.append(pid)
    return ids


def _check_expiration(body: dict[str, Any]) -> None:
    ttl = body.get("ExpirationTTL", 0)
    at = body.get("ExpirationTime", 0)
    if ttl < 0:
        raise HTTPError(500, f"Token Expiration TTL '{format_duration_ns(ttl)}' should be > 0")
    if ttl and at:
        raise HTTPError(500, "Token Expiration TTL and Expiration Time cannot both be set")
    expires_in = ttl or (at - _now_ns() if at else 0)
    if not (ttl or at):
        return
    if expires_in < 0:
        raise HTTPError(500, "ExpirationTime cannot be before CreateTime")
    if expires_in > MAX_EXPIRATION_NS:
        raise HTTPError(500, f"ExpirationTime cannot be more than {format_duration_ns(MAX_EXPIRATION_NS)} in the "
                             f"future (was {format_duration_ns(expires_in)})")
    if expires_in < MIN_EXPIRATION_NS:
        raise HTTPError(500, f"ExpirationTime cannot be less than {format_duration_ns(MIN_EXPIRATION_NS)} in the "
                             f"future (was {format_duration_ns(expires_in)})")


def _new_ids(acl: AclApi, body: dict[str, Any]) -> tuple[str, str]:
    store = acl.api.store
    accessor = body.get("AccessorID", "")
    if accessor:
        if uuid_error(accessor):
            raise HTTPError(500, "Invalid Token: AccessorID is not a valid UUID")
        if store.acl_token_by_accessor(accessor)[1] or store.acl_token_by_secret(accessor)[1]:
            raise HTTPError(500, "Invalid Token: AccessorID is already in use")
        if reserved(accessor):
            raise HTTPError(500, reserved_message())
    else:
        accessor = acl.new_id()
    secret = body.get("SecretID", "")
    if secret:
        if uuid_error(secret):
            raise HTTPError(500, "Invalid Token: SecretID is not a valid UUID")
        if store.acl_token_by_secret(secret)[1] or store.acl_token_by_accessor(secret)[1]:
            raise HTTPError(500, "Invalid Token: SecretID is already in use")
        if reserved(secret):
            raise HTTPError(500, reserved_message())
    else:
        secret = acl.new_secret()
    return accessor, secret


def install_acl_tokens(router: Router, acl: AclApi) -> None:
    api, ctx = acl.api, acl.ctx

    async def create(req: Request) -> Response:
        acl.ensure_enabled()
        body = read_token_body(req.body)
        await acl.require(req, "write")
        check_datacenter(ctx, req.arg("dc"))
        accessor, secret = _new_ids(acl, body)
        _check_expiration(body)
        token = await acl.write(ACLTokenSet(
            accessor_id=accessor,
            secret_id=secret,
            description=body.get("Description", ""),
            policies=_policy_ids(acl, body["Policies"]),
            local=body.get("Local", False),
            expiration_time_ns=body.get("ExpirationTime", 0),
            expiration_ttl_ns=body.get("ExpirationTTL", 0),
        ))
        return api.reply(req, token_json(token, api.store))

    async def update(req: Request) -> Response:
        acl.ensure_enabled()
        accessor = req.params["id"]
        body = read_token_body(req.body)
        if body.get("AccessorID") and body["AccessorID"] != accessor:
            raise HTTPError(400, "Token Accessor ID in URL and payload do not match")
        await acl.require(req, "write")
        check_datacenter(ctx, req.arg("dc"))
        if uuid_error(accessor):
            raise HTTPError(500, "AccessorID is not a valid UUID")
        token = await acl.write(ACLTokenSet(
            accessor_id=accessor,
            secret_id=body.get("SecretID", ""),
            description=body.get("Description", ""),
            policies=_policy_ids(acl, body["Policies"]),
            local=body.get("Local", False),
            expiration_time_ns=body.get("ExpirationTime", 0),
            expiration_ttl_ns=body.get("ExpirationTTL", 0),
            create=False,
        ))
        return api.reply(req, token_json(token, api.store))

    async def clone(req: Request) -> Response:
        acl.ensure_enabled()
        body = read_token_body(req.body, allow_empty=True)
        await acl.require(req, "write")
        check_datacenter(ctx, req.arg("dc"))
        _, source = api.store.acl_token_by_accessor(req.params["id"], now_ns=_now_ns())
        if source is None:
            raise HTTPError(403, ERR_NOT_FOUND)
        accessor, secret = acl.new_id(), acl.new_secret()
        token = await acl.write(ACLTokenSet(
            accessor_id=accessor,
            secret_id=secret,
            description=body.get("Description") or source.description,
            policies=list(source.policies),
            local=source.local,
            expiration_time_ns=source.expiration_time_ns,
        ))
        return api.reply(req, token_json(token, api.store))

    async def delete(req: Request) -> Response:
        acl.ensure_enabled()
        accessor = req.params["id"]
        await acl.require(req, "write")
        check_datacenter(ctx, req.arg("dc"))
        if uuid_error(accessor):
            raise HTTPError(500, "Accessor ID is missing or an invalid UUID")
        if accessor == ANONYMOUS_ACCESSOR_ID:
            raise HTTPError(500, "Delete operation not permitted on the anonymous token")
        _, token = api.store.acl_token_by_accessor(accessor)
        if token is not None and token.secret_id == effective_secret(token_of(req), ctx):
            raise HTTPError(500, "Deletion of the request's authorization token is not permitted")
        await acl.write(ACLTokenDelete(accessor_id=accessor))
        return api.reply(req, True)

    async def read(req: Request) -> Response:
        acl.ensure_enabled()
        authz, _ = await acl.require(req, "read")
        opts = parse_query(req, ctx)
        accessor = req.params["id"]
        index, token, meta = await api.blocker.run(
            api.backend, opts, lambda ws: api.store.acl_token_by_accessor(accessor, _now_ns(), ws))
        if token is None:
            raise not_exist("token")
        return api.reply(req, token_json(token, api.store, redact=not authz.acl_write()),
                         headers=read_headers(index, meta))

    async def self_(req: Request) -> Response:
        acl.ensure_enabled()
        opts = parse_query(req, ctx)
        secret = token_of(req) or agent_tokens(ctx).default
        index, token, meta = await api.blocker.run(
            api.backend, opts, lambda ws: api.store.acl_token_by_secret(secret, _now_ns(), ws) if secret else (1, None))
        if token is None:
            raise HTTPError(404, "Supplied token does not exist")
        return api.reply(req, token_json(token, api.store), headers=read_headers(index, meta))

    async def listing(req: Request) -> Response:
        acl.ensure_enabled()
        authz, _ = await acl.require(req, "read")
        opts = parse_query(req, ctx)
        policy = req.arg("policy") or ""
        unsupported = any(req.arg(name) for name in ("role", "authmethod", "servicename"))
        index, tokens, meta = await api.blocker.run(
            api.backend, opts, lambda ws: api.store.acl_token_list(policy, _now_ns(), ws))
        redact = not authz.acl_write()
        body = [] if unsupported else [token_stub_json(t, api.store, redact=redact) for t in tokens]
        return api.reply(req, body, headers=read_headers(index, meta))

    router.add("PUT", "/v1/acl/token", create)
    router.add("GET", "/v1/acl/token/self", self_)
    router.add("GET", "/v1/acl/token/{id}", read)
    router.add("PUT", "/v1/acl/token/{id}", update)
    router.add("DELETE", "/v1/acl/token/{id}", delete)
    router.add("PUT", "/v1/acl/token/{id}/clone", clone)
    router.add("GET", "/v1/acl/tokens", listing)
