"""The helpers every endpoint uses to enforce ACLs: who is calling, refuse, and filter lists.

How an endpoint enforces (one resolution per request: the handler calls `acl_of` once and hands the
`Caller` to whatever needs it)::

    caller = await acl_of(req, ctx)                      # 403 "ACL not found" for an unknown secret
    require(caller, caller.authz.key_write(key), "key:write", key)   # 403 Permission denied: ...

    seen = AclFilter(caller)                             # lists: drop what the token may not read
    index, rows, meta = await api.blocker.run(backend, opts, seen.wrap(read))   # read calls seen.keep
    return api.reply(req, rows, headers=seen.mark(read_headers(index, meta)))

What lives here:

* `Caller`: the resolved authorizer, the AccessorID (for refusal texts) and whether the request was
  made with a token at all (its own or the agent's default one).
* `acl_of(req, ctx)` / `caller_for(secret, ctx)`: resolution through ``actors.acl.resolve``.
* `require`: raise Consul's 403 ``Permission denied: token with AccessorID '..' lacks permission
  'key:write' on "app/x"`` when a check failed.
* `AclFilter`: list filtering inside (blocking) reads that remembers whether anything was removed,
  and `AclFilter.mark`, which then sets ``X-Consul-Results-Filtered-By-ACLs: true``. As Consul
  (``maskResultsFilteredByACLs``), the header is never set for a request made without any token, so
  an anonymous caller cannot probe for what it may not see.
* `unrestricted`: True for `ALLOW_ALL` (ACLs off) and `MANAGEMENT`, so filters cost nothing then.

What must never live here: which permission an endpoint needs (each endpoint's, see the enforcement
table in ``tests/acl/test_acl_matrix.py``), token resolution itself (``resolve``), or logging of
secrets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple, TypeVar

from actors.acl.agent_tokens import agent_tokens
from actors.acl.authorizer import ALLOW_ALL, MANAGEMENT, Authorizer, permission_denied
from actors.acl.resolve import authorize_secret, token_of
from runtime.http import HTTPError, Request

if TYPE_CHECKING:
    from actors.context import AgentContext

T = TypeVar("T")
R = TypeVar("R")

FILTERED_HEADER = "X-Consul-Results-Filtered-By-ACLs"


class Caller(NamedTuple):
    authz: Authorizer
    accessor_id: str = ""
    has_token: bool = False  # the request named a token, or the agent has a default one


OPEN = Caller(ALLOW_ALL)  # what every request is with ACLs disabled


async def caller_for(secret: str | None, ctx: "AgentContext", *, stale: bool = False) -> Caller:
    """The `Caller` for a bare secret (None: no token given; the agent's default token applies)."""
    if not ctx.config.acl.enabled:
        return OPEN
    authz, accessor = await authorize_secret(secret, ctx, stale=stale)
    return Caller(authz, accessor, bool(secret or agent_tokens(ctx).default))


async def acl_of(req: Request, ctx: "AgentContext") -> Caller:
    """Resolve the request's token once; raises ``HTTPError(403, "ACL not found")`` for an unknown one."""
    if not ctx.config.acl.enabled:
        return OPEN
    return await caller_for(token_of(req), ctx, stale="stale" in req.query)


def unrestricted(caller: Caller) -> bool:
    return caller.authz is ALLOW_ALL or caller.authz is MANAGEMENT


def refusal(caller: Caller, permission: str, resource: str | None = None) -> HTTPError:
    return HTTPError(403, permission_denied(caller.accessor_id, permission, resource))


def require(caller: Caller, allowed: bool, permission: str, resource: str | None = None) -> None:
    """Raise Consul's 403 for ``permission`` (``"key:write"``) on ``resource`` unless ``allowed``."""
    if not allowed:
        raise refusal(caller, permission, resource)


class AclFilter:
    """Filters the results of one request and remembers whether it removed anything.

    `wrap` a blocking read so that each re-run starts afresh (the flag describes the answer sent)."""

    __slots__ = ("caller", "removed")

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.removed = False

    @property
    def authz(self) -> Authorizer:
        return self.caller.authz

    @property
    def active(self) -> bool:
        return not unrestricted(self.caller)

    def keep(self, items: list[T], allowed: Callable[[Authorizer, T], bool]) -> list[T]:
        """The items ``allowed(authz, item)`` accepts, in order (``items`` itself when unrestricted)."""
        if not self.active:
            return items
        authz = self.authz
        out = [item for item in items if allowed(authz, item)]
        if len(out) != len(items):
            self.removed = True
        return out

    def keep_dict(self, items: dict[str, T], allowed: Callable[[Authorizer, str, T], bool]) -> dict[str, T]:
        """The entries ``allowed(authz, key, value)`` accepts, order kept."""
        if not self.active:
            return items
        authz = self.authz
        out = {k: v for k, v in items.items() if allowed(authz, k, v)}
        if len(out) != len(items):
            self.removed = True
        return out

    def drop(self) -> None:
        """Record that something was withheld (a whole record answered as null)."""
        if self.active:
            self.removed = True

    def wrap(self, read: Callable[..., R]) -> Callable[..., R]:
        def run(*args: object) -> R:
            self.removed = False
            return read(*args)

        return run

    def mark(self, headers: dict[str, str] | None = None) -> dict[str, str]:
        """``headers`` (or a new dict) with Consul's filtered-by-ACLs header when it applies."""
        out = headers if headers is not None else {}
        if self.removed and self.caller.has_token:
            out[FILTERED_HEADER] = "true"
        return out


__all__ = ["FILTERED_HEADER", "OPEN", "AclFilter", "Caller", "acl_of", "caller_for", "refusal", "require",
           "unrestricted"]
