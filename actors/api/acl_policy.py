"""``/v1/acl/policy*``: create, read (by ID or name), update, delete and list policies.

What lives here: the handlers and the checks Consul's ``ACL.PolicySet`` makes before proposing: a
name is required and limited to letters, digits, ``-`` and ``_`` (at most 128), the rules must parse
(a `RulesError` is a 400 whose body is its message), an ID may not be given on create and must match
the URL on update. Name uniqueness and the built-in ``global-management`` protections are the state
store's (they must hold against concurrent writers). Reading needs ``acl:read``, writing
``acl:write``.

Status codes as Consul 1.20: unknown policy on read 404 ``Requested policy does not exist: ACL not
found``; delete of an unknown policy ``true``; the list omits ``Rules``.

What must never live here: rule parsing (``actors/acl/rules``) or the policy tables.
"""

from __future__ import annotations

import re

from msgspec.structs import replace

from actors.acl.rules import RulesError, parse_rules
from actors.api.acl_common import AclApi, not_exist, uuid_error
from actors.api.acl_io import policy_json, policy_stub_json, read_policy_body
from actors.api.headers import read_headers
from actors.api.query import check_datacenter, parse_query
from actors.state.acl_commands import ACLPolicyDelete, ACLPolicySet
from actors.state.acl_models import ACLPolicy
from runtime.http import HTTPError, Request, Response, Router

_VALID_NAME = re.compile(r"[A-Za-z0-9\-_]{1,128}")


def _validated(body: dict, policy_id: str) -> ACLPolicy:
    name = body["Name"]
    if not name:
        raise HTTPError(500, "Invalid Policy: no Name is set")
    if not _VALID_NAME.fullmatch(name):
        raise HTTPError(500, "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed")
    try:
        parse_rules(body["Rules"])
    except RulesError as err:
        raise HTTPError(400, str(err)) from None
    return ACLPolicy(id=policy_id, name=name, description=body["Description"], rules=body["Rules"],
                     datacenters=list(body["Datacenters"]))


def install_acl_policies(router: Router, acl: AclApi) -> None:
    api, ctx = acl.api, acl.ctx

    async def create(req: Request) -> Response:
        acl.ensure_enabled()
        body = read_policy_body(req.body)
        if body["ID"]:
            raise HTTPError(400, "Cannot specify the ID when creating a new policy")
        await acl.require(req, "write")
        check_datacenter(ctx, req.arg("dc"))
        policy = _validated(body, "")
        if api.store.acl_policy_by_name(policy.name)[1] is not None:
            raise HTTPError(500, f'Invalid Policy: A Policy with Name "{policy.name}" already exists')
        stored = await acl.write(ACLPolicySet(policy=replace(policy, id=acl.new_id())))
        return api.reply(req, policy_json(stored))

    async def update(req: Request) -> Response:
        acl.ensure_enabled()
        policy_id = req.params["id"]
        body = read_policy_body(req.body)
        if body["ID"] and body["ID"] != policy_id:
            raise HTTPError(400, "Policy ID in URL and payload do not match")
        await acl.require(req, "write")
        check_datacenter(ctx, req.arg("dc"))
        policy = _validated(body, policy_id)
        if uuid_error(policy_id):
            raise HTTPError(500, "Policy ID invalid UUID")
        stored = await acl.write(ACLPolicySet(policy=policy, create=False))
        return api.reply(req, policy_json(stored))

    async def delete(req: Request) -> Response:
        acl.ensure_enabled()
        await acl.require(req, "write")
        check_datacenter(ctx, req.arg("dc"))
        await acl.write(ACLPolicyDelete(id=req.params["id"]))
        return api.reply(req, True)

    async def read_by(req: Request, by_name: bool) -> Response:
        acl.ensure_enabled()
        await acl.require(req, "read")
        opts = parse_query(req, ctx)
        if by_name:
            name = req.params["name"]
            if not name:
                raise HTTPError(400, "Missing policy Name")
            read = lambda ws: api.store.acl_policy_by_name(name, ws)  # noqa: E731
        else:
            policy_id = req.params["id"]
            read = lambda ws: api.store.acl_policy_by_id(policy_id, ws)  # noqa: E731
        index, policy, meta = await api.blocker.run(api.backend, opts, read)
        if policy is None:
            raise not_exist("policy")
        return api.reply(req, policy_json(policy), headers=read_headers(index, meta))

    async def read(req: Request) -> Response:
        return await read_by(req, by_name=False)

    async def read_name(req: Request) -> Response:
        return await read_by(req, by_name=True)

    async def listing(req: Request) -> Response:
        acl.ensure_enabled()
        await acl.require(req, "read")
        opts = parse_query(req, ctx)
        index, policies, meta = await api.blocker.run(api.backend, opts, lambda ws: api.store.acl_policy_list(ws))
        return api.reply(req, [policy_stub_json(p) for p in policies], headers=read_headers(index, meta))

    router.add("PUT", "/v1/acl/policy", create)
    router.add("GET", "/v1/acl/policy/{id}", read)
    router.add("PUT", "/v1/acl/policy/{id}", update)
    router.add("DELETE", "/v1/acl/policy/{id}", delete)
    router.add("GET", "/v1/acl/policy/name/{name:path}", read_name)
    router.add("GET", "/v1/acl/policies", listing)

