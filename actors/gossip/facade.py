"""``ctx.extras["gossip"]``: the one handle the rest of the agent uses to reach gossip.

Reading membership (no await, from the last published snapshot):

- ``members(wan=False) -> list[SerfMember]``: every known member with its Serf status and tags;
- ``local_member(wan=False) -> SerfMember | None``: this agent's own entry;
- ``servers(wan=False) -> list[ServerInfo]``: alive Consul servers (role ``consul``) with name, node, ID,
  address, server RPC ``port`` (from the ``port`` tag), datacenter, ``bootstrap``, ``bootstrap_expect``;
  on the LAN only those of our datacenter;
- ``version`` and ``await wait_members_changed(version, timeout=inf) -> int``: the LAN member list's change
  counter, and a wait until it moves past ``version`` (returns the new version, or the same one at timeout);
- ``subscribe(callback)``: ``callback(members, servers)`` runs synchronously on every LAN change (must not
  block or raise); ``unsubscribe(callback)``.

Acting (each bounded in time; errors are typed): ``join(addresses, wan=False) -> JoinOutcome``,
``leave()`` (graceful on both pools, then asks the agent to shut down), ``force_leave(node, prune, wan)``,
``fire_event(...) -> ConsulEvent``, ``keyring(op, key) -> list[dict]``; the user events this agent kept are
in ``events`` (an `EventLog`). The events' service and tag filters match this agent's services, read from
the local state (``ctx.extras["local"]``) unless ``local_services`` is set to a callable returning
``[(service_name, tags), ...]``.

What lives here: `Gossip` and its errors. What must never live here: protocol logic or HTTP handling.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Iterable

import trio

from actors.api.ids import new_uuid
from actors.gossip.event_log import EventLog
from actors.gossip.events import ConsulEvent, decode_event, encode_event, should_process, validate_fire
from actors.gossip.inputs import FireCmd, ForceLeaveCmd, GossipUnavailable, JoinOutcome, LeaveCmd, QueryCmd
from actors.gossip.keyring_file import initial_keyring, save_keyring
from actors.gossip.keyring_ops import NOT_ENABLED, KeyringFailed, query_name, summarise
from actors.gossip.members import SerfMember
from actors.gossip.pool import PoolState
from actors.gossip.serf_messages import KeyringOp
from actors.gossip.settings import lan_settings, wan_settings
from actors.gossip.shell import UnknownMember
from actors.gossip.tags import ServerInfo
from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("gossip")

COMMAND_TIMEOUT = 5.0

__all__ = ["Gossip", "GossipError", "GossipUnavailable", "JoinOutcome", "KeyringFailed"]


class GossipError(Exception):
    """An operation Consul would refuse; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class Gossip:
    def __init__(self, ctx: "AgentContext", lan: PoolState, wan: PoolState | None,
                 request_shutdown: Callable[[str], None]) -> None:
        self.ctx = ctx
        self.lan = lan
        self.wan = wan
        self.events: EventLog = lan.events if lan.events is not None else EventLog()
        self.local_services: Callable[[], Iterable[tuple[str, list[str]]]] | None = None
        self._request_shutdown = request_shutdown
        self._event_rng = ctx.rng("gossip.events")
        lan.on_user_event = self._on_user_event
        for pool in self.pools():
            pool.request_shutdown = request_shutdown
            pool.on_keyring_changed = self._persister(pool)

    @classmethod
    def build(cls, ctx: "AgentContext", request_shutdown: Callable[[str], None]) -> "Gossip":
        cfg = ctx.config
        faults = ctx.extras.get("faults")
        settings = lan_settings(cfg, ctx.node_id)
        keyring, _ = initial_keyring(cfg.encrypt, settings.keyring_file)
        lan = PoolState(settings, keyring=keyring, rng=ctx.rng, faults=faults, events=EventLog())
        wan = None
        if cfg.server and cfg.ports.serf_wan >= 0:
            settings = wan_settings(cfg, ctx.node_id)
            keyring, _ = initial_keyring(cfg.encrypt, settings.keyring_file)
            wan = PoolState(settings, keyring=keyring, rng=ctx.rng, faults=faults)
        return cls(ctx, lan, wan, request_shutdown)

    def pools(self) -> list[PoolState]:
        return [p for p in (self.lan, self.wan) if p is not None]

    def _pool(self, wan: bool) -> PoolState:
        if not wan:
            return self.lan
        if self.wan is None:
            raise GossipError("WAN gossip is not available on this agent (only servers join the WAN pool)")
        return self.wan

    # -- membership ------------------------------------------------------------------------------------

    def members(self, wan: bool = False) -> list[SerfMember]:
        if wan and self.wan is None:
            return []
        return list(self._pool(wan).members)

    def local_member(self, wan: bool = False) -> SerfMember | None:
        if wan and self.wan is None:
            return None
        return self._pool(wan).local_member()

    def servers(self, wan: bool = False) -> list[ServerInfo]:
        if wan and self.wan is None:
            return []
        return self._pool(wan).servers()

    @property
    def version(self) -> int:
        return self.lan.version

    async def wait_members_changed(self, version: int, timeout: float = math.inf, wan: bool = False) -> int:
        return await self._pool(wan).wait_changed(version, timeout)

    def subscribe(self, callback: Callable[[list[SerfMember], list[ServerInfo]], None]) -> None:
        self.lan.listeners.append(callback)

    def unsubscribe(self, callback: Callable[[list[SerfMember], list[ServerInfo]], None]) -> None:
        if callback in self.lan.listeners:
            self.lan.listeners.remove(callback)

    # -- joining and leaving ---------------------------------------------------------------------------

    async def join(self, addresses: list[str], wan: bool = False) -> JoinOutcome:
        return await self._pool(wan).join(addresses)

    async def leave(self) -> None:
        """Leave every pool gracefully (WAN first, as Consul), let it propagate, then stop the agent.

        A server first leaves the Raft configuration (handing leadership over if it leads), as Consul's
        servers do on a graceful leave.
        """
        raft = self.ctx.extras.get("raft.backend")
        if raft is not None:
            removed = await raft.leave()
            log.info("left the raft configuration" if removed else "raft leave not confirmed")
        for pool in reversed(self.pools()):
            settings = pool.settings
            try:
                await pool.call(LeaveCmd(), settings.broadcast_timeout)
            except (GossipUnavailable, RuntimeError) as err:
                log.warning("leave not confirmed before the timeout", pool=settings.pool, error=str(err))
            await trio.sleep(settings.leave_propagate_delay)
        log.info("left the cluster")
        self._request_shutdown("graceful leave")

    async def force_leave(self, node: str, prune: bool = False, wan: bool = False) -> None:
        pool = self._pool(wan)
        try:
            await pool.call(ForceLeaveCmd(node, prune), COMMAND_TIMEOUT)
        except UnknownMember:
            raise GossipError(f"agent: No node found with name '{node}'") from None
        log.info("force-leave", pool=pool.settings.pool, node=node, prune=prune)

    # -- user events -----------------------------------------------------------------------------------

    async def fire_event(self, name: str, payload: bytes, node_filter: str = "", service_filter: str = "",
                         tag_filter: str = "") -> ConsulEvent:
        validate_fire(name, node_filter, service_filter, tag_filter)
        event = ConsulEvent(id=new_uuid(self._event_rng), name=name, payload=payload or None,
                            node_filter=node_filter, service_filter=service_filter, tag_filter=tag_filter)
        serf_name, serf_payload = encode_event(event)
        try:
            await self.lan.call(FireCmd(serf_name, serf_payload), COMMAND_TIMEOUT)
        except ValueError as err:
            raise GossipError(str(err)) from None
        return event

    def _on_user_event(self, ltime: int, name: str, payload: bytes) -> None:
        event = decode_event(name, payload, ltime)
        if event is None:
            return
        if not should_process(event, self.ctx.config.node_name, self._services()):
            return
        log.debug("new event", name=event.name, id=event.id, ltime=ltime)
        self.events.add(event)

    def _services(self) -> list[tuple[str, list[str]]]:
        """This agent's services for the event filters: the provider if set, else the local state."""
        if self.local_services is not None:
            return list(self.local_services())
        local = self.ctx.extras.get("local")
        services = getattr(getattr(local, "state", None), "services", None)
        if not isinstance(services, dict):
            return []
        out = []
        for service in services.values():
            tags = list(getattr(service, "tags", []) or [])
            out.append((getattr(service, "name", ""), tags))
            if getattr(service, "id", "") != getattr(service, "name", ""):
                out.append((getattr(service, "id", ""), tags))
        return out

    # -- keyring ---------------------------------------------------------------------------------------

    @property
    def encrypted(self) -> bool:
        return self.lan.keyring is not None

    async def keyring(self, op: KeyringOp, key: str = "") -> list[dict[str, Any]]:
        """Run ``op`` on every member of every pool; Consul's responses, or `KeyringFailed`."""
        if not self.encrypted:
            raise GossipError(NOT_ENABLED)
        responses, problems = [], []
        for pool in reversed(self.pools()):
            settings = pool.settings
            timeout = settings.swim.gossip_interval * 16 * 4 + COMMAND_TIMEOUT
            result = await pool.call(QueryCmd(query_name(op), key.encode()), timeout)
            doc, issues = summarise(result, wan=settings.pool == "wan", datacenter=settings.datacenter)
            responses.append(doc)
            problems += issues
        if problems:
            raise KeyringFailed("; ".join(problems))
        return responses

    @staticmethod
    def _persister(pool: PoolState) -> Callable[[], None]:
        def persist() -> None:
            path = pool.settings.keyring_file
            if path and pool.keyring is not None:
                try:
                    save_keyring(path, pool.keyring)
                except OSError as err:
                    log.warning("cannot save the keyring", path=path, error=str(err))

        return persist

    # -- statistics for /v1/agent/self -----------------------------------------------------------------

    def stats(self, wan: bool = False) -> dict[str, str] | None:
        if wan and self.wan is None:
            return None
        pool = self._pool(wan)
        shell = pool.shell
        counts = {"alive": 0, "leaving": 0, "left": 0, "failed": 0}
        for member in pool.members:
            counts[member.status] += 1
        out = {"members": str(len(pool.members)), "failed": str(counts["failed"]), "left": str(counts["left"]),
               "encrypted": str(pool.keyring is not None).lower(), "coordinate_resets": "0"}
        if shell is not None and shell.serf is not None:
            stats = shell.serf.statistics()
            for key in ("health_score", "member_time", "event_time", "query_time", "intent_queue"):
                out[key] = str(stats[key])
        return out
