"""Who is asking, and what may they do: the one entry point endpoints use to enforce ACLs.

How an endpoint enforces (the pattern every handler follows)::

    from actors.acl.resolve import identify
    from actors.acl.authorizer import permission_denied

    authz, accessor = await identify(req, ctx)          # 403 "ACL not found" for an unknown secret
    if not authz.key_write(key):
        raise HTTPError(403, permission_denied(accessor, "key:write", key))

``await authorize(req, ctx)`` is the same without the AccessorID. With ACLs disabled both return
`ALLOW_ALL` at once (no lookup). Lists filter with the authorizer instead of refusing.

What lives here:

* `token_of(req)` (from ``request_token``): the secret a request carries, in Consul's order:
  ``?token=``, else ``X-Consul-Token``, else ``Authorization: Bearer <secret>``; None when none.
* `identify(req, ctx)` / `authorize(req, ctx)`: resolve the request's secret, or the agent's default
  token (``acl.tokens.default`` or its ``PUT /v1/agent/token/default`` override), or ``anonymous``.
* `authorize_secret(secret, ctx)`: the same for a bare secret (None means "no token given");
  returns ``(authorizer, accessor_id)``.
* `authorize_secret_now(secret, ctx)`: synchronous, servers only, from the local replica without a
  barrier (for DNS, which has no request token: pass None).

Freshness. On a server the token is resolved from the local replica through a `StoreResolver`, whose
cache empties whenever any ACL write is applied. Unless the request is ``?stale`` the replica first
passes a default-consistency read barrier (on a follower: learn the leader's commit index and apply
up to it), so a token deleted at the leader is refused by every server as soon as the delete was
acknowledged; without a leader the local replica answers as it is. On a client agent the secret is
sent to a server (`RemoteResolver`) and the answer cached for ``acl.token_ttl`` (Consul's lag).

Expired tokens count as unknown. Secrets are never logged.

What must never live here: permission decisions for particular endpoints (each endpoint's), rule
parsing (``rules``), or the ACL tables (``actors/state``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.acl.agent_tokens import agent_tokens
from actors.acl.authorizer import ALLOW_ALL, Authorizer
from actors.acl.authz_errors import ERR_NOT_FOUND
from actors.acl.remote_resolver import RemoteResolver
from actors.acl.request_token import token_of
from actors.acl.store_resolver import Resolved, StoreResolver
from actors.backend import BackendError
from actors.state.acl_models import ANONYMOUS_SECRET_ID
from runtime import clock
from runtime.http import HTTPError, Request

__all__ = ["authorize", "authorize_secret", "authorize_secret_now", "effective_secret", "identify", "token_of"]

if TYPE_CHECKING:
    from actors.context import AgentContext


def effective_secret(secret: str | None, ctx: "AgentContext") -> str:
    """The secret a request is judged by: its own, else the agent's default token, else anonymous."""
    return secret or agent_tokens(ctx).default or ANONYMOUS_SECRET_ID


def _store_resolver(ctx: "AgentContext") -> StoreResolver:
    resolver = ctx.extras.get("acl.resolver")
    if resolver is None:
        resolver = ctx.extras["acl.resolver"] = StoreResolver(ctx.config.acl.default_policy, ctx.config.datacenter)
    return resolver


def remote_resolver(ctx: "AgentContext") -> RemoteResolver:
    resolver = ctx.extras.get("acl.remote_resolver")
    if resolver is None:
        resolver = ctx.extras["acl.remote_resolver"] = RemoteResolver(ctx)
    return resolver


def _now_ns() -> int:
    return int(clock.wall_time() * 1e9)


def _not_found() -> HTTPError:
    return HTTPError(403, ERR_NOT_FOUND)


def authorize_secret_now(secret: str | None, ctx: "AgentContext") -> tuple[Authorizer, str]:
    """Synchronous resolution from this server's replica (no barrier). Raises on a client agent."""
    if not ctx.config.acl.enabled:
        return ALLOW_ALL, ""
    backend = ctx.backend
    if backend is None:
        raise RuntimeError("authorize_secret_now needs the ACL tables: only servers hold them")
    found = _store_resolver(ctx).resolve(backend.store, effective_secret(secret, ctx), _now_ns())
    if found is None:
        raise _not_found()
    return found.authorizer, found.accessor_id


async def authorize_secret(secret: str | None, ctx: "AgentContext", *, stale: bool = False) -> tuple[Authorizer, str]:
    """``(authorizer, accessor_id)`` for ``secret`` (None: no token given). ``stale`` skips the
    server's read barrier. Raises ``HTTPError(403, "ACL not found")`` for an unknown/expired secret."""
    if not ctx.config.acl.enabled:
        return ALLOW_ALL, ""
    effective = effective_secret(secret, ctx)
    backend = ctx.backend
    found: Resolved | None
    if backend is None:
        found = await remote_resolver(ctx).resolve(effective)
    else:
        if not stale:
            try:
                await backend.read_barrier("default")
            except BackendError:
                pass  # no leader: judge by this replica as it is
        found = _store_resolver(ctx).resolve(backend.store, effective, _now_ns())
    if found is None:
        raise _not_found()
    return found.authorizer, found.accessor_id


async def identify(req: Request, ctx: "AgentContext") -> tuple[Authorizer, str]:
    """``(authorizer, accessor_id)`` for the request's token (see the module docstring)."""
    if not ctx.config.acl.enabled:
        return ALLOW_ALL, ""
    return await authorize_secret(token_of(req), ctx, stale="stale" in req.query)


async def authorize(req: Request, ctx: "AgentContext") -> Authorizer:
    """The authorizer for the request's token (see the module docstring)."""
    authz, _ = await identify(req, ctx)
    return authz
