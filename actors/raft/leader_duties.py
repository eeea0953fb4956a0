"""What only the Raft leader does: register itself in the catalog and expire TTL sessions.

What lives here: `LeaderDuties`, an actor beside the node that waits until this server is the leader
and has applied an entry of its own term, then runs the leader's loops until leadership is lost:

- register this server in the catalog as Consul does (node, service ``consul``, ``serfHealth``);
- with ACLs on, create the built-in policy and tokens and ``acl.tokens.initial_management``
  (``actors/acl/leader_init.py``);
- with ACLs on, delete expired tokens in bounded batches every second (``actors/acl/token_reaper.py``);
- destroy sessions whose TTL ran out (2 x TTL after the last renewal, timers on the leader only;
  ``now_ns`` is stamped by the leader when the command is proposed);
- reconcile LAN membership into ``serfHealth`` checks (``actors/gossip/reconcile.py`` plans it);
- grow the configuration: servers discovered in this datacenter (the directory) join as learners and
  are promoted to voters once caught up (Consul's autopilot does the same with non-voters).

Gossip-driven reconciliation (``serfHealth`` per LAN member) joins these loops when gossip lands.

What must never live here: Raft logic or the store's rules (``expired_sessions`` is the store's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import trio

from actors.backend import BackendError
from actors.state.commands import SessionDestroy
from runtime import clock
from runtime.actor import Actor
from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.context import AgentContext
    from actors.raft.shared import RaftShared

log = get_logger("raft.leader")

MEMBERSHIP_INTERVAL = 0.5  # seconds between two looks at discovered servers vs the configuration
CATCH_UP_ENTRIES = 64
REJOIN_HOLDOFF = 30.0  # seconds a server removed from the configuration is not re-added (it is leaving)
RECONCILE_INTERVAL = 60.0  # Consul's reconcile_interval: a full pass even without member events  # a learner this close to the commit index is promoted to voter


class LeaderDuties(Actor):
    kind: ClassVar[str] = "leader"
    inbox_size: ClassVar[int | None] = 1

    def __init__(self, ctx: "AgentContext", shared: "RaftShared") -> None:
        self.ctx = ctx
        self.shared = shared
        self.terms_led = 0
        self.sessions_expired = 0
        self.changes = 0
        self.reconciled = 0
        self.tokens_reaped = 0

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        shared = self.shared
        while True:
            while not (shared.role == "leader" and shared.leader_ready_term == shared.term):
                with trio.move_on_after(0.1):
                    await shared.wait_leader_change()
            term = shared.term
            self.terms_led += 1
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_leadership, term, nursery.cancel_scope)
                nursery.start_soon(self._register_self)
                nursery.start_soon(self._init_acl)
                nursery.start_soon(self._expire_sessions)
                nursery.start_soon(self._reap_acl_tokens)
                nursery.start_soon(self._manage_membership)
                nursery.start_soon(self._reconcile_members)

    async def _watch_leadership(self, term: int, scope: trio.CancelScope) -> None:
        while self.shared.role == "leader" and self.shared.term == term:
            with trio.move_on_after(0.1):
                await self.shared.wait_leader_change()
        scope.cancel()

    async def _register_self(self) -> None:
        from actors.api.self_register import register_self

        for attempt in range(50):
            try:
                await register_self(self.ctx)
                return
            except BackendError as exc:
                log.warning("self registration failed, retrying", error=str(exc), attempt=attempt)
                await trio.sleep(0.2)

    async def _init_acl(self) -> None:
        from actors.acl.leader_init import init_acl

        await init_acl(self.ctx)

    async def _reap_acl_tokens(self) -> None:
        from actors.acl.token_reaper import run_token_reaper

        if not self.ctx.config.acl.enabled or self.ctx.backend is None:
            return

        def counted(n: int) -> None:
            self.tokens_reaped += n

        await run_token_reaper(self.ctx.backend, self.shared.store, on_reaped=counted)

    async def _expire_sessions(self) -> None:
        backend = self.ctx.backend
        assert backend is not None
        while True:
            now_ns = int(clock.wall_time() * 1e9)
            for session_id in self.shared.store.expired_sessions(now_ns):
                try:
                    await backend.write(SessionDestroy(id=session_id))
                    self.sessions_expired += 1
                except BackendError as exc:
                    log.warning("session expiry failed", session=session_id, error=str(exc))
            next_ns = self.shared.store.next_session_expiry()
            delay = 1.0 if next_ns is None else min(1.0, max(0.01, (next_ns - now_ns) / 1e9))
            await trio.sleep(delay)

    async def _manage_membership(self) -> None:
        """Autopilot's core: servers discovered in this datacenter join as learners, then become voters
        once caught up (within ``CATCH_UP_ENTRIES`` of the commit index). One change at a time."""
        backend = self.ctx.backend
        shared = self.shared
        while True:
            conf = shared.conf
            members = set(conf.voters) | set(conf.learners)
            now = trio.current_time()
            # A member that just left (or was removed) is not pulled straight back in while it goes.
            held_off = {name for name, at in shared.removed_at.items() if now - at < REJOIN_HOLDOFF}
            newcomers = sorted(self._live_servers() - members - held_off)
            conf_index = shared.stats.get("conf_index", 0)
            caught_up = [l for l in sorted(conf.learners)
                         if shared.peer_match.get(l, 0) >= conf_index
                         and shared.commit_index - shared.peer_match.get(l, 0) <= CATCH_UP_ENTRIES]
            try:
                if newcomers:
                    await backend.change_membership("add_learner", newcomers[0])  # type: ignore[union-attr]
                    log.info("server added as learner", server=newcomers[0])
                    self.changes += 1
                elif caught_up:
                    await backend.change_membership("add_voter", caught_up[0])  # type: ignore[union-attr]
                    log.info("learner promoted to voter", server=caught_up[0])
                    self.changes += 1
            except Exception as exc:  # a refused change (another pending, lost leadership): try later
                log.debug("membership change deferred", error=str(exc))
            await trio.sleep(MEMBERSHIP_INTERVAL)

    def _live_servers(self) -> set[str]:
        """Servers of this datacenter that are alive now (gossip) or named statically (tests): only
        these may join. A server that left is in the directory still, but must not be re-added."""
        names = set((self.ctx.extras.get("raft.servers") or {}).keys())
        gossip = self.ctx.extras.get("gossip")
        if gossip is not None:
            names |= {s.name for s in gossip.servers() if s.datacenter == self.ctx.config.datacenter}
        return names

    async def _reconcile_members(self) -> None:
        """Turn LAN membership into each node's ``serfHealth`` check: alive -> passing, failed ->
        critical, left -> node deregistered. On every member change and every `RECONCILE_INTERVAL`.
        (Sessions tied to a node's serfHealth are invalidated by the store when it turns critical.)"""
        from actors.gossip.reconcile import catalog_nodes_from_store, plan_serf_health

        backend = self.ctx.backend
        assert backend is not None
        version = -1
        while True:
            gossip = self.ctx.extras.get("gossip")
            if gossip is not None:
                version = gossip.version
                ops = plan_serf_health(gossip.members(), catalog_nodes_from_store(self.shared.store),
                                       datacenter=self.ctx.config.datacenter, self_node=self.ctx.config.node_name)
                for op in ops:
                    try:
                        await backend.write(op)
                        self.reconciled += 1
                    except BackendError as exc:
                        log.warning("member reconciliation failed", error=str(exc))
                        break
                with trio.move_on_after(RECONCILE_INTERVAL):
                    await gossip.wait_members_changed(version)
            else:
                await trio.sleep(1.0)

    def statistics(self) -> dict[str, Any]:
        return {"terms_led": self.terms_led, "sessions_expired": self.sessions_expired, "changes": self.changes, "reconciled": self.reconciled,
                "tokens_reaped": self.tokens_reaped,
                "leading": self.shared.role == "leader"}
