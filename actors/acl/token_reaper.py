"""The leader's reaper of expired ACL tokens (Consul's ``agent/consul/acl_token_exp.go``).

What lives here: `reap_expired_tokens`, one pass: if the earliest ExpirationTime in the replica is
reached, it proposes `ACLTokenReap` commands naming at most `BATCH_SIZE` expired tokens each
(Consul's ``aclBatchDeleteSize``), at most `BURST` of them in a pass; and `run_token_reaper`, the loop
``LeaderDuties`` runs while this server leads with ACLs on: one pass every `INTERVAL` seconds of the
injected Trio clock (Consul's limiter: ``aclTokenReapingRateLimit`` 1 per second, burst
``aclTokenReapingBurst`` 5).

Reads use the leader's wall clock (``wall_ns``) only to choose the batch; the command is stamped with
the leader's ``now_ns`` on proposal, and apply deletes the named tokens expired at that time, so every
replica deletes the same ones. Tokens past their ExpirationTime already read as missing everywhere;
reaping only frees them, so a failed pass is retried on the next tick.

What must never live here: the tables' rules (``actors/state/acl_tables``), or any other clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import trio

from actors.backend import BackendError
from actors.state.acl_commands import ACLTokenReap
from runtime import clock
from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.state.store import StateStore

log = get_logger("acl")

INTERVAL = 1.0  # seconds between two passes (aclTokenReapingRateLimit: 1 batch per second)
BURST = 5  # batches one pass may propose after a quiet period (aclTokenReapingBurst)
BATCH_SIZE = 4096  # tokens named by one command (aclBatchDeleteSize)


def _wall_ns() -> int:
    return int(clock.wall_time() * 1e9)


async def reap_expired_tokens(backend: Any, store: "StateStore", now_ns: int, *, batch_size: int = BATCH_SIZE,
                              burst: int = BURST) -> int:
    """One pass at ``now_ns``: propose up to ``burst`` batches; the number of tokens deleted."""
    deleted = 0
    for _ in range(burst):
        first = store.acl_next_token_expiry()
        if first is None or first > now_ns:
            break
        accessors = store.acl_expired_tokens(now_ns, batch_size)
        if not accessors:
            break
        applied = await backend.write(ACLTokenReap(accessor_ids=accessors))
        if applied.error is not None:
            log.error("expired ACL token reaping refused", error=applied.error.message)
            break
        deleted += int(applied.value or 0)
        log.info("deleted expired ACL tokens", amount=int(applied.value or 0))
        if len(accessors) < batch_size:
            break
    return deleted


async def run_token_reaper(backend: Any, store: "StateStore", *, wall_ns: Callable[[], int] | None = None,
                           interval: float = INTERVAL, batch_size: int = BATCH_SIZE, burst: int = BURST,
                           on_reaped: Callable[[int], None] | None = None) -> None:
    """Reap every ``interval`` seconds until cancelled (leadership lost); errors wait for the next tick."""
    now_ns = wall_ns or _wall_ns
    while True:
        try:
            deleted = await reap_expired_tokens(backend, store, now_ns(), batch_size=batch_size, burst=burst)
            if deleted and on_reaped is not None:
                on_reaped(deleted)
        except BackendError as exc:
            log.warning("expired ACL token reaping failed", error=str(exc))
        await trio.sleep(interval)
