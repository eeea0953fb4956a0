"""The agent: builds one node's supervision tree from its config and runs it until shutdown.

What lives here: `build_router` (every HTTP endpoint of the agent, in one list), `build_agent` (the
root supervisor and its subsystem children, in dependency order), and `run_agent` (the process-level
lifecycle: logging, signals, graceful shutdown bounded in time).

The tree today::

    agent:<node>                 one_for_one: a failing subsystem is restarted alone
    ├── raft                     servers: the Raft subtree (peers, rpc.client, node, leader)
    ├── server                   servers: the server port (Raft + forwarded RPCs)
    ├── http                     the HTTP listener (API + inspector websocket)
    ├── https                    the same router over TLS, when ports.https is set (actors/tls)
    └── dns                      the DNS interface

Later issues add ``raft``, ``gossip.lan``/``gossip.wan``, ``health``, ``catalog.sync``, ``wan`` and
``dns`` as siblings, each its own supervised subtree, so that a crash in one never cancels another.

What must never live here: endpoint or protocol logic (those live in ``actors/api`` and the subsystem
packages); the agent only wires them together.
"""

from __future__ import annotations

import gc
import signal
from functools import partial
from typing import Callable, Iterable

import trio

from actors.api.agent_local import install_agent_local
from actors.api.agent_members import install_agent_members
from actors.api.agent_self import install_agent_self
from actors.api.common import install_common
from actors.api.event import install_event
from actors.api.keyring import install_keyring
from actors.api.operator_raft import install_operator_raft
from actors.api.runtime_acl import install_runtime_acl
from actors.api.state_api import install_state_api
from actors.api.status import install_status
from actors.config import AgentConfig
from actors.forward.client import forwarding_children, install_forwarding
from actors.context import AgentContext
from actors.dns import DnsServer
from actors.gossip.wiring import exit_when_requested, gossip_children
from actors.local.local_agent import local_agent_of
from actors.node_identity import settle_node_id
from actors.local.subsystems import local_subsystems
from actors.wan.router import install_wan_forwarding, wan_children
from actors.raft.subsystem import build_raft
from actors.tls.agent_tls import agent_tls
from runtime import log as logging_setup
from runtime.http import HttpLimits, Router
from runtime.http_listener import HttpListener
from runtime.inspect import install_fault_injection, install_fault_table, install_inspector
from runtime.log import get_logger
from runtime.rng import fresh_seed
from runtime.supervisor import ChildSpec, RestartPolicy, Supervisor, run_root
from runtime.transport.faults import FaultTable
from runtime.tree import ActorTree

log = get_logger("agent")

# How long a graceful shutdown may take before the process stops waiting (Consul's leave has a
# similar bound: leave_drain_time 5 s).
SHUTDOWN_GRACE_SECONDS = 5.0

AGENT_POLICY = RestartPolicy(strategy="one_for_one", max_restarts=10, within_seconds=30.0)


def build_router(ctx: AgentContext) -> Router:
    router = Router()
    ctx.extras["router"] = router  # servers answer forwarded API calls through it (actors/forward)
    install_forwarding(router, ctx)  # clients: state API requests go to a server
    install_wan_forwarding(router, ctx)  # servers: ?dc=<other> requests go to that datacenter
    install_common(router, ctx)
    install_agent_self(router, ctx)
    install_agent_local(router, ctx)
    install_agent_members(router, ctx)  # members, join, leave, force-leave
    install_event(router, ctx)
    install_keyring(router, ctx)
    install_status(router, ctx)
    install_state_api(router, ctx)
    install_operator_raft(router, ctx)
    install_inspector(router, ctx.tree)
    install_runtime_acl(router, ctx)  # operator:read/write on the inspector and fault injection
    if ctx.config.enable_fault_injection:
        install_fault_injection(router, ctx.tree)
        install_fault_table(router, ctx.extras["faults"])
    return router


def build_agent(ctx: AgentContext, extra_children: Iterable[ChildSpec] = ()) -> Supervisor:
    cfg = ctx.config

    def on_http_bound(addr: tuple[str, int]) -> None:
        ctx.http_addr = addr
        log.info("HTTP API listening", address=f"{addr[0]}:{addr[1]}")

    def on_https_bound(addr: tuple[str, int]) -> None:
        ctx.extras["https_addr"] = addr
        log.info("HTTPS API listening", address=f"{addr[0]}:{addr[1]}")

    tls = agent_tls(ctx)  # TLS contexts (server port, dialling, HTTPS); raises ConfigError for bad files
    local_agent_of(ctx).reload_hooks.append(tls.reload)  # reload re-reads certificates (actors/tls)
    children: list[ChildSpec] = []
    if cfg.server:
        children.extend(build_raft(ctx))  # sets ctx.backend: the Raft-backed replicated state
    children.extend(gossip_children(ctx))  # gossip.lan (+ gossip.wan on servers); sets ctx.extras["gossip"]
    children.extend(forwarding_children(ctx))  # clients: pooled connections to servers
    children.extend(wan_children(ctx))  # servers: wan/dc:<name>, links to other datacenters
    children.extend(local_subsystems(ctx))  # local state, health checks, anti-entropy (before HTTP serves)
    router = build_router(ctx) if cfg.ports.http >= 0 or cfg.ports.https >= 0 else None
    # Bodies: the server's default cap (4 MiB) holds for most routes; KV PUT, txn and event fire declare
    # their own limits (from kv_max_value_size / txn_max_req_len), refused with 413 before buffering.
    limits = HttpLimits(max_conns_per_client=cfg.limits.http_max_conns_per_client)
    if cfg.ports.http >= 0:  # -1 disables the listener, as in Consul (0 binds an ephemeral port: tests)
        children.append(ChildSpec("http", HttpListener, router, cfg.client_addr.split()[0], cfg.ports.http,
                                  limits=limits, on_bound=on_http_bound))
    if cfg.ports.https >= 0 and tls.https_context is not None:
        children.append(ChildSpec("https", HttpListener, router, cfg.client_addr.split()[0], cfg.ports.https,
                                  limits=limits, on_bound=on_https_bound, tls=tls.current_https,
                                  handshake_timeout=cfg.limits.https_handshake_timeout))
    if cfg.ports.dns >= 0:  # -1 disables DNS, as in Consul (0 binds an ephemeral port: tests)
        children.append(ChildSpec("dns", DnsServer, ctx))
    children.extend(extra_children)
    return Supervisor(children, AGENT_POLICY, kind="agent")


def agent_seed(cfg: AgentConfig) -> int:
    """``-seed`` when given (repeatable runs), otherwise a fresh seed per process start."""
    return cfg.seed if cfg.seed is not None else fresh_seed()


async def serve_agent(cfg: AgentConfig, *, extra_children: Iterable[ChildSpec] = (),
                      extras: dict[str, object] | None = None,
                      config_loader: Callable[[], AgentConfig] | None = None,
                      task_status: trio.TaskStatus[AgentContext] = trio.TASK_STATUS_IGNORED) -> None:
    """Run one agent's tree in the current Trio run until cancelled; ``started()`` gives its context.

    ``extras`` pre-seeds ``ctx.extras`` (in-process tests use ``"raft.servers"`` to name the founding
    servers' RPC addresses where gossip would otherwise discover them).
    """
    tree = ActorTree()
    ctx = AgentContext(cfg, tree, agent_seed(cfg))
    ctx.node_id = settle_node_id(None if cfg.dev and not cfg.data_dir else cfg.data_dir, cfg.node_id, ctx.node_id)
    ctx.extras.update(extras or {})
    if config_loader is not None:
        local_agent_of(ctx).config_loader = config_loader  # reload re-reads flags and config files
    ctx.extras["faults"] = FaultTable(ctx.rng("faults"))
    root = build_agent(ctx, extra_children)

    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(run_root, tree, ctx.root_path, root)
            log.info("agent started", node=cfg.node_name, datacenter=cfg.datacenter, server=cfg.server, seed=ctx.seed)
            task_status.started(ctx)
    finally:
        for close in reversed(ctx.on_close):
            close()


async def run_agent(cfg: AgentConfig, config_loader: Callable[[], AgentConfig] | None = None) -> int:
    """The ``proconsul agent`` process: run until SIGINT/SIGTERM, then shut down within the grace period."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with trio.open_nursery() as nursery:
            ctx = await nursery.start(partial(serve_agent, cfg, config_loader=config_loader))
            # Everything allocated while booting lives as long as the process: keep it out of the
            # collector's way, so full collections under load stay short (long pauses near the Raft
            # election timeout would cause needless elections).
            gc.collect()
            gc.freeze()
            nursery.start_soon(exit_when_requested, ctx, nursery.cancel_scope)  # PUT /v1/agent/leave ends the process
            async for signum in signals:
                if signum == signal.SIGHUP:  # as Consul: SIGHUP reloads the configuration
                    log.info("caught signal, reloading configuration", signal="SIGHUP")
                    nursery.start_soon(reload_on_signal, ctx)
                    continue
                log.info("caught signal, shutting down", signal=signal.Signals(signum).name)
                if leaves_on(cfg, signum):
                    await leave_before_exit(ctx)
                break
            # Shutdown is cancellation; subsystems that need a graceful step (gossip leave, raft
            # leadership transfer) do it in their own cancellation handlers, shielded and bounded
            # by SHUTDOWN_GRACE_SECONDS.
            nursery.cancel_scope.cancel()
    log.info("agent stopped", node=cfg.node_name)
    return 0


async def reload_on_signal(ctx: AgentContext) -> None:
    """SIGHUP: reload as ``PUT /v1/agent/reload`` does; a failed reload is logged and the agent carries on."""
    try:
        await local_agent_of(ctx).reload()
    except Exception as err:  # e.g. a config or certificate file that cannot be used: the old one stays
        log.error("reload failed", error=str(err))
        return
    log.info("configuration reloaded")


def leaves_on(cfg: AgentConfig, signum: int) -> bool:
    """Whether this signal ends the agent with a graceful leave first (Consul's ``leave_on_terminate``
    and ``skip_leave_on_interrupt``, whose defaults differ between client agents and servers)."""
    if signum == signal.SIGTERM:
        return cfg.leave_on_terminate if cfg.leave_on_terminate is not None else not cfg.server
    if signum == signal.SIGINT:
        skip = cfg.skip_leave_on_interrupt if cfg.skip_leave_on_interrupt is not None else cfg.server
        return not skip
    return False


async def leave_before_exit(ctx: AgentContext) -> None:
    """Leave the gossip pools (and the Raft configuration, on a server), bounded by the grace period."""
    gossip = ctx.extras.get("gossip")
    if gossip is None:
        return
    with trio.move_on_after(SHUTDOWN_GRACE_SECONDS) as scope:
        try:
            await gossip.leave()
        except Exception as err:  # a failed leave must not keep the process from exiting
            log.warning("graceful leave failed", error=str(err))
    if scope.cancelled_caught:
        log.warning("graceful leave did not finish within the grace period", seconds=SHUTDOWN_GRACE_SECONDS)


def configure_logging(cfg: AgentConfig) -> None:
    logging_setup.configure(cfg.log_level, json=cfg.log_json)
