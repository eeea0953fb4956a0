"""`LocalAgent`: the agent's local state together with its side effects, as the API and actors use it.

What lives here: every operation on local services and checks that the HTTP endpoints, the health
checkers and the reaper perform (register, deregister, TTL updates, maintenance, config load and
reload), each one validating with Consul's wording (raising `DefinitionError` with the status to answer),
mutating `LocalState`, and then *committing*: persisting the state under ``data_dir`` when there is one
(group commit: concurrent callers share one write; the call returns once a write that includes its change
is on disk) and asking the catalog syncer for a sync of the changes, as Consul's endpoints do
(best effort: a sync failure is logged by the syncer and repaired by anti-entropy later).

Hooks connect it to the rest of the agent without imports in the wrong direction: ``sync_hook`` is
set by the catalog syncer while it runs, ``config_loader`` (a callable returning a fresh `AgentConfig`)
may be set by whoever knows where the config files are, and is used on reload, and ``reload_hooks``
(callables taking the reloaded `AgentConfig`, e.g. the agent's TLS re-reading its certificates) run on
reload before the definitions are replaced.

What must never live here: HTTP request parsing or responses, probing checks, or catalog writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

import msgspec
import trio

from actors.state.errors import quote
from runtime import clock
from runtime.log import get_logger

from .definitions import (
    CheckDefinition,
    DefinitionError,
    ServiceDefinition,
    check_from_definition,
    parse_check,
    parse_service,
    service_from_definition,
)
from .maintenance import node_maintenance_check, service_maintenance_check
from .persist import decode, encode, live_ttl_states, read_file, restore_records, snapshot, state_path, write_atomic
from .records import NODE_MAINT_CHECK_ID, SOURCE_API, SOURCE_CONFIG, LocalCheck, service_maint_check_id
from .state import Change, LocalState

if TYPE_CHECKING:
    from actors.config import AgentConfig
    from actors.context import AgentContext

log = get_logger("local")

SYNC_WAIT_SECONDS = 5.0  # how long an endpoint waits for its changes to reach the catalog (best effort)

REMOTE_SCRIPTS_DISABLED = (
    "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true"
)
LOCAL_SCRIPTS_DISABLED = (
    "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or "
    "'enable_local_script_checks' to true"
)


def unknown_service(service_id: str) -> DefinitionError:
    return DefinitionError(
        f"Unknown service ID {quote(service_id)}. Ensure that the service ID is passed, not the service name.", 404)


def unknown_check(check_id: str) -> DefinitionError:
    return DefinitionError(
        f"Unknown check ID {quote(check_id)}. Ensure that the check ID is passed, not the check name.", 404)


def truncate_output(output: str, limit: int) -> str:
    """Consul's TTL output cap: the first ``limit`` bytes and a note of how much was dropped."""
    data = output.encode()
    if len(data) <= limit:
        return output
    kept = data[:limit].decode(errors="ignore")
    return f"{kept} ... (captured {limit} of {len(data)} bytes)"


class PersistError(Exception):
    """The state could not be written to disk (the change is in memory only)."""


class LocalAgent:
    """One agent's local services and checks, with persistence and catalog sync. See the module docstring."""

    def __init__(self, ctx: "AgentContext") -> None:
        self.ctx = ctx
        self.config: "AgentConfig" = ctx.config
        self.node = ctx.config.node_name
        self.state = LocalState(rng=ctx.rng("local/defer"))
        self.path = state_path(self.config.data_dir) if self.config.data_dir else None
        self.loaded = False
        self.config_loader: Callable[[], "AgentConfig"] | None = None
        self.reload_hooks: list[Callable[["AgentConfig"], None]] = []  # e.g. TLS re-reads its certificates
        self.sync_hook: Callable[[], Awaitable[Any]] | None = None
        self.writes = 0
        self._dirty = 0
        self._written = 0
        self._write_lock = trio.Lock()
        self.state.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if change.kind in ("service", "check", "ttl"):
            self._dirty += 1

    def statistics(self) -> dict[str, Any]:
        return {
            "services": len(self.state.services),
            "checks": len(self.state.checks),
            "persisted": self.path is not None,
            "writes": self.writes,
            "unwritten_changes": self._dirty - self._written,
        }

    # -- committing ----------------------------------------------------------------------------------

    async def commit(self) -> None:
        """Persist (when configured), then let the syncer push the changes to the catalog."""
        await self.flush()
        await self.sync_changes()

    async def flush(self) -> None:
        """Return once a write including every change made before this call is on disk."""
        if self.path is None:
            return
        wanted = self._dirty
        async with self._write_lock:
            if self._written >= wanted:
                return
            generation = self._dirty
            data = encode(snapshot(self.state, clock.wall_time))
            try:
                await trio.to_thread.run_sync(write_atomic, self.path, data)
            except OSError as err:
                log.error("failed to persist local state", path=str(self.path), error=str(err))
                raise PersistError(f"failed persisting local state: {err}") from err
            self._written = generation
            self.writes += 1

    async def sync_changes(self) -> None:
        hook = self.sync_hook
        if hook is None:
            return
        with trio.move_on_after(SYNC_WAIT_SECONDS):
            await hook()

    # -- services ------------------------------------------------------------------------------------

    def _allow_scripts(self, checks: list[LocalCheck], source: str) -> None:
        if not any(c.spec is not None and c.spec.args for c in checks):
            return
        if source == SOURCE_API and not self.config.enable_script_checks:
            raise DefinitionError(REMOTE_SCRIPTS_DISABLED, 500)
        if source == SOURCE_CONFIG and not self.config.enable_local_script_checks:
            raise DefinitionError(LOCAL_SCRIPTS_DISABLED, 500)

    def _put_service(self, d: ServiceDefinition, source: str, replace_checks: bool,
                     token: str = "") -> tuple[str, list[str]]:
        service, checks = service_from_definition(d, source=source)
        if token:  # the registration's ACL token, kept for anti-entropy (inline checks share it)
            service = msgspec.structs.replace(service, token=token)
            checks = [msgspec.structs.replace(c, token=token) for c in checks]
        self._allow_scripts(checks, source)
        self.state.put_service(service, checks, now=clock.now(), replace_checks=replace_checks)
        return service.id, [c.id for c in checks]

    def _put_check(self, d: CheckDefinition, source: str, token: str = "") -> str:
        check = check_from_definition(d, source=source)
        if token:
            check = msgspec.structs.replace(check, token=token)
        if check.service_id and check.service_id not in self.state.services:
            raise DefinitionError(f"ServiceID {quote(check.service_id)} does not exist", 404)
        self._allow_scripts([check], source)
        self.state.put_check(check, now=clock.now())
        return check.id

    async def register_service(self, d: ServiceDefinition, *, replace_checks: bool = False,
                               token: str = "") -> str:
        """``token``: the request's ACL token, which anti-entropy will sync the service with."""
        service_id, _ = self._put_service(d, SOURCE_API, replace_checks, token)
        await self.commit()
        return service_id

    async def deregister_service(self, service_id: str) -> None:
        if service_id not in self.state.services:
            raise unknown_service(service_id)
        self.state.remove_service(service_id)
        await self.commit()

    async def reap_service(self, service_id: str) -> bool:
        """Remove a service whose check stayed critical too long (no error if already gone)."""
        if self.state.remove_service(service_id) is None:
            return False
        await self.commit()
        return True

    # -- checks --------------------------------------------------------------------------------------

    async def register_check(self, d: CheckDefinition, *, token: str = "") -> str:
        check_id = self._put_check(d, SOURCE_API, token)
        await self.commit()
        return check_id

    async def deregister_check(self, check_id: str) -> None:
        if check_id not in self.state.checks:
            raise unknown_check(check_id)
        self.state.remove_check(check_id)
        await self.commit()

    async def update_ttl(self, check_id: str, status: str, output: str) -> None:
        """``/v1/agent/check/pass|warn|fail|update``: TTL checks only."""
        check = self.state.check(check_id)
        if check is None:
            raise unknown_check(check_id)
        if check.spec is None or check.spec.ttl <= 0:
            raise DefinitionError(f"CheckID {quote(check_id)} does not have associated TTL", 500)
        self.state.update_ttl(check_id, status, truncate_output(output, check.spec.output_limit), now=clock.now())
        await self.commit()

    # -- maintenance ---------------------------------------------------------------------------------

    async def set_node_maintenance(self, enable: bool, reason: str, *, token: str = "") -> None:
        """``token``: the request's ACL token, which anti-entropy syncs the maintenance check with."""
        if enable:
            if NODE_MAINT_CHECK_ID not in self.state.checks:
                check = msgspec.structs.replace(node_maintenance_check(reason), token=token)
                self.state.put_check(check, now=clock.now())
        else:
            self.state.remove_check(NODE_MAINT_CHECK_ID)
        await self.commit()

    async def set_service_maintenance(self, service_id: str, enable: bool, reason: str, *,
                                      token: str = "") -> None:
        if service_id not in self.state.services:
            raise unknown_service(service_id)
        check_id = service_maint_check_id(service_id)
        if enable:
            if check_id not in self.state.checks:
                check = msgspec.structs.replace(service_maintenance_check(service_id, reason), token=token)
                self.state.put_check(check, now=clock.now())
        else:
            self.state.remove_check(check_id)
        await self.commit()

    # -- config and disk -----------------------------------------------------------------------------

    def _apply_config(self, config: "AgentConfig") -> tuple[set[str], set[str]]:
        """Register the config file's services and checks; bad ones are logged and skipped. A
        definition's ``token`` is kept as its registration token (anti-entropy syncs it with that)."""
        services: set[str] = set()
        checks: set[str] = set()
        for raw in config.services:
            try:
                service_def = parse_service(raw)
                service_id, check_ids = self._put_service(service_def, SOURCE_CONFIG, replace_checks=False,
                                                          token=service_def.token)
                services.add(service_id)
                checks.update(check_ids)
            except DefinitionError as err:
                log.error("invalid service definition in config", error=err.message)
        for raw in config.checks:
            try:
                check_def = parse_check(raw)
                checks.add(self._put_check(check_def, SOURCE_CONFIG, token=check_def.token))
            except DefinitionError as err:
                log.error("invalid check definition in config", error=err.message)
        return services, checks

    async def load(self) -> None:
        """At start: the config's definitions, then what was persisted (config wins on conflicts)."""
        if self.loaded:
            return
        self.loaded = True
        self._apply_config(self.config)
        if self.path is None:
            return
        data = await trio.to_thread.run_sync(read_file, self.path)
        if data is None:
            return
        try:
            persisted = decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            log.error("ignoring unreadable local state file", path=str(self.path), error=str(err))
            return
        now = clock.now()
        services, checks = restore_records(persisted, set(self.state.services), set(self.state.checks))
        for service in services:
            self.state.put_service(service, [], now=now)
        ttl = live_ttl_states(persisted, clock.wall_time())
        for check in checks:
            saved = ttl.get(check.id)
            if saved is not None:
                check = msgspec.structs.replace(check, status=saved.status, output=saved.output)
            self.state.put_check(check, now=now)
        for check_id, saved in ttl.items():
            current = self.state.check(check_id)
            if current is not None and current.source == SOURCE_CONFIG:
                self.state.update_ttl(check_id, saved.status, saved.output, now=now)
        log.info("restored local state", services=len(services), checks=len(checks))

    async def reload(self) -> None:
        """``PUT /v1/agent/reload``: re-read the config, run the ``reload_hooks`` with it (in a worker
        thread: they may read files; one raising `ConfigError` fails the reload before anything changes
        here), then replace the config-file definitions."""
        config = self.config
        if self.config_loader is not None:
            config = await trio.to_thread.run_sync(self.config_loader)
        for hook in self.reload_hooks:
            await trio.to_thread.run_sync(hook, config)
        self.config = config
        old_services = {s.id for s in self.state.services.values() if s.source == SOURCE_CONFIG}
        old_checks = {c.id for c in self.state.checks.values() if c.source == SOURCE_CONFIG}
        services, checks = self._apply_config(self.config)
        for check_id in old_checks - checks:
            current = self.state.check(check_id)
            if current is not None and current.source == SOURCE_CONFIG:
                self.state.remove_check(check_id)
        for service_id in old_services - services:
            current = self.state.service(service_id)
            if current is not None and current.source == SOURCE_CONFIG:
                self.state.remove_service(service_id)
        await self.commit()


def local_agent_of(ctx: "AgentContext") -> LocalAgent:
    """The context's `LocalAgent`, created on first use (the router and the tree share one)."""
    local = ctx.extras.get("local")
    if local is None:
        local = ctx.extras["local"] = LocalAgent(ctx)
    return local
