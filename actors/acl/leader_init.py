"""What a newly elected leader does for the ACL system: make sure the built-ins exist.

What lives here: `init_acl(ctx)`, run by ``LeaderDuties`` once per term when ``acl.enabled``: it
proposes one `ACLInitBuiltins` carrying the configured ``acl.tokens.initial_management`` secret (with
a fresh AccessorID), so that the ``global-management`` policy, the anonymous token and the initial
management token (description "Initial Management Token") exist, and bootstrapping is closed once the
configured token was created. The anonymous token's CreateTime is the command's leader-stamped
``now_ns`` (an anonymous token stored without one is given it). The command is idempotent, so every new leader may propose it; it is
skipped when the replica already holds everything. Retried while no leader can commit it.

What must never live here: the tables' rules (``actors/state/acl_tables``) or HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from actors.api.ids import new_uuid
from actors.backend import BackendError
from actors.state.acl_commands import ACLInitBuiltins
from actors.state.acl_models import ANONYMOUS_ACCESSOR_ID, GLOBAL_MANAGEMENT_ID, GLOBAL_MANAGEMENT_RULES
from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("acl")

ATTEMPTS = 50
RETRY_DELAY = 0.2


def _needed(ctx: "AgentContext", secret: str) -> bool:
    store = ctx.backend.store  # type: ignore[union-attr]
    policy = store.acl_policy_by_id(GLOBAL_MANAGEMENT_ID)[1]
    if policy is None or policy.rules != GLOBAL_MANAGEMENT_RULES:
        return True
    anonymous = store.acl_token_by_accessor(ANONYMOUS_ACCESSOR_ID)[1]
    if anonymous is None or not anonymous.create_time_ns:  # missing, or stored without a CreateTime
        return True
    return bool(secret) and store.acl_token_by_secret(secret)[1] is None


async def init_acl(ctx: "AgentContext") -> None:
    if not ctx.config.acl.enabled or ctx.backend is None:
        return
    secret = ctx.config.acl.tokens.initial_management or ""
    rng = ctx.rng("acl/leader-accessor")
    for attempt in range(ATTEMPTS):
        if not _needed(ctx, secret):
            return
        command = ACLInitBuiltins(initial_management_accessor=new_uuid(rng) if secret else "",
                                  initial_management_secret=secret)
        try:
            applied = await ctx.backend.write(command)
        except BackendError as exc:
            log.warning("ACL initialisation failed, retrying", error=str(exc), attempt=attempt)
            await trio.sleep(RETRY_DELAY)
            continue
        if applied.error is not None:
            log.error("ACL initialisation refused", error=applied.error.message)
            return
        log.info("ACL built-ins in place", initial_management=bool(secret))
        return
