"""Token resolution on a client agent (no ACL tables): ask a server, cache for ``acl.token_ttl``.

What lives here: both ends of the `ACLResolve` call on the server port ("http" protocol):

* `RemoteResolver` (client side): sends the secret to an alive server of this datacenter (the next
  one only when a server could not be reached), turns the `ACLResolved` answer into an authorizer
  with the client's own ``acl.default_policy`` and caches it for ``acl.token_ttl`` seconds of the
  agent's Trio clock (unknown secrets are not cached). When no server answers, Consul's
  ``down_policy`` applies: ``extend-cache``/``async-cache`` keep using an expired entry if there is
  one; otherwise (or with ``deny``/``allow``) the request is judged by a token without policies
  under ``deny``/``allow`` (``extend-cache`` without an entry counts as ``deny``).
* `answer_resolve` (server side): makes the replica fit for a default-consistency read (falling back
  to the local state when there is no leader) and reports the token and its policies' rules.

What must never live here: the resolution rules themselves (``store_resolver``), HTTP, or logging of
secrets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from actors.acl.authorizer import ALLOW_ALL, MANAGEMENT, authorizer_for
from actors.acl.store_resolver import Resolved, RulesCache
from actors.backend import BackendError
from actors.forward.client import known_servers
from actors.forward.messages import ACLResolve, ACLResolved
from actors.state.acl_models import ANONYMOUS_ACCESSOR_ID, ANONYMOUS_SECRET_ID, GLOBAL_MANAGEMENT_ID
from runtime import clock
from runtime.transport.errors import RpcError, RpcUnreachable

if TYPE_CHECKING:
    from actors.context import AgentContext

RESOLVE_TIMEOUT = 10.0
MAX_ENTRIES = 4096


class ServersUnavailable(Exception):
    """No server could answer a resolution."""


class RemoteResolver:
    def __init__(self, ctx: "AgentContext") -> None:
        self.ctx = ctx
        self.rules = RulesCache()
        self._cache: dict[str, tuple[float, Resolved]] = {}  # secret -> (fresh until, Trio time)
        self.calls = 0  # resolutions that went to a server (tests read it)

    async def resolve(self, secret: str) -> Resolved | None:
        acl = self.ctx.config.acl
        now = trio.current_time()
        entry = self._cache.get(secret)
        if entry is not None and now < entry[0] and not entry[1].expired(_wall_ns()):
            return entry[1]
        try:
            answer = await self._ask(secret)
        except ServersUnavailable:
            if entry is not None and acl.down_policy in ("extend-cache", "async-cache"):
                return None if entry[1].expired(_wall_ns()) else entry[1]
            fallback = "allow" if acl.down_policy == "allow" else "deny"
            return Resolved(authorizer_for([], fallback), "")
        resolved = self._resolved(answer)
        if resolved is None:
            self._cache.pop(secret, None)
            return None
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        self._cache[secret] = (trio.current_time() + float(acl.token_ttl), resolved)
        return resolved

    def forget(self, secret: str) -> None:
        self._cache.pop(secret, None)

    def _resolved(self, answer: ACLResolved) -> Resolved | None:
        if answer.disabled:
            return Resolved(ALLOW_ALL, "")
        if not answer.found:
            return None
        if answer.management:
            return Resolved(MANAGEMENT, answer.accessor_id, answer.expiration_time_ns)
        rules = [self.rules.get(pid, index, text) for pid, index, text in answer.policies]
        authz = authorizer_for(rules, self.ctx.config.acl.default_policy)
        return Resolved(authz, answer.accessor_id, answer.expiration_time_ns)

    async def _ask(self, secret: str) -> ACLResolved:
        client: Any = self.ctx.extras.get("forward.client")
        servers = known_servers(self.ctx)
        if client is None or not servers:
            raise ServersUnavailable("no known Consul servers")
        for address in servers:
            try:
                answer = await client.call(address, ACLResolve(secret=secret), timeout=RESOLVE_TIMEOUT)
            except RpcUnreachable:
                continue
            except RpcError as exc:
                raise ServersUnavailable(str(exc)) from None
            self.calls += 1
            if not isinstance(answer, ACLResolved):
                raise ServersUnavailable(f"unexpected answer {type(answer).__name__}")
            return answer
        raise ServersUnavailable("no server reachable")


def _wall_ns() -> int:
    return int(clock.wall_time() * 1e9)


async def answer_resolve(ctx: "AgentContext", call: ACLResolve) -> ACLResolved:
    """The server's side: what ``call.secret`` resolves to here, after a default-consistency barrier."""
    if not ctx.config.acl.enabled:
        return ACLResolved(found=False, disabled=True)
    backend = ctx.backend
    if backend is None:
        raise BackendError("this agent holds no ACL tables")
    try:
        await backend.read_barrier("default")
    except BackendError:
        pass  # no leader: answer from this replica (Consul's servers do the same for their own cache)
    store = backend.store
    _, token = store.acl_token_by_secret(call.secret, now_ns=_wall_ns())
    if token is None:
        if call.secret == ANONYMOUS_SECRET_ID:  # before the leader created it: a token without policies
            return ACLResolved(found=True, accessor_id=ANONYMOUS_ACCESSOR_ID)
        return ACLResolved(found=False)
    policies = []
    for pid in token.policies:
        _, policy = store.acl_policy_by_id(pid)
        if policy is None or (policy.datacenters and ctx.config.datacenter not in policy.datacenters):
            continue
        if pid == GLOBAL_MANAGEMENT_ID:
            return ACLResolved(found=True, accessor_id=token.accessor_id, management=True,
                               expiration_time_ns=token.expiration_time_ns)
        policies.append((policy.id, policy.modify_index, policy.rules))
    return ACLResolved(found=True, accessor_id=token.accessor_id, policies=policies,
                       expiration_time_ns=token.expiration_time_ns)
