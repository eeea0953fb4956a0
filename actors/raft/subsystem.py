"""Assembles a server's Raft subsystem: storage, shared state, backend, the raft subtree, the RPC port.

What lives here: `build_raft(ctx)` which, on a server agent, opens the log storage (in memory for
``-dev``; `DiskStorage` under ``<data_dir>/raft`` otherwise), bootstraps it when this server forms a
cluster by itself (``-dev`` / ``-bootstrap``), creates the `RaftShared` and `RaftBackend`, and returns
the child specs to add to the agent's tree::

    raft                    rest_for_one
    ├── peers               one_for_one; one PeerLink per other member (added by the node)
    ├── rpc.client          pooled connections for forwarded writes and leader reads
    ├── node                the RaftNode driving the core
    └── leader              leader-only loops: self registration, session TTL expiry
    server                  the server port (8300): protocol "raft" into the node, "rpc" to the backend,
                            "http" for API calls forwarded by client agents

TLS (``actors/tls``): the port accepts TLS connections when the agent has a certificate and refuses
plaintext with ``verify_incoming``; peer links and the RPC client dial with TLS under ``verify_outgoing``;
with ``verify_server_hostname`` "raft" and "rpc" admit only peers presenting ``server.<dc>.<domain>``,
while "http" (client agents, other datacenters' servers) takes any certificate the CA signed.

``-bootstrap-expect N``: the node waits until N servers are known (from gossip's server list, or the
static ``ctx.extras["raft.servers"]`` tests may set), then all of them bootstrap the same configuration
(the N names, sorted). It happens at most once: a non-empty log means it already happened.

What must never live here: the loop itself (``node.py``) or endpoint logic.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import trio

from actors.forward.server import http_forward_server
from actors.raft.backend import RaftBackend
from actors.raft.config import RaftConfig
from actors.raft.leader_duties import LeaderDuties
from actors.raft.messages import ConfState, RaftWire
from actors.raft.node import RaftNode
from actors.raft.rpc import RaftRpcRequest, RaftRpcResponse
from actors.raft.shared import RaftShared
from actors.raft.storage import MemoryStorage, bootstrap_state
from actors.tls.agent_tls import agent_tls
from runtime.actor import ActorRef
from runtime.log import get_logger
from runtime.supervisor import ChildSpec, RestartPolicy, Supervisor
from runtime.transport.connection import FramedConnection
from runtime.transport.errors import ConnectionClosed
from runtime.transport.listener import StreamLimits, StreamListener
from runtime.transport.protocols import StreamProtocols
from runtime.transport.rpc_client import RpcClient, RpcClientActor
from runtime.transport.rpc_server import RpcServer

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("raft")


def open_storage(ctx: "AgentContext") -> tuple[Any, bool]:
    """(storage, blocking): the log storage and whether its calls belong in a worker thread."""
    cfg = ctx.config
    if cfg.data_dir is None:
        return MemoryStorage(), False
    from actors.raft.disk import DiskStorage

    return DiskStorage(os.path.join(cfg.data_dir, "raft")), True


def is_empty(storage: Any) -> bool:
    return storage.hard_state().term == 0 and not storage.entries() and storage.snapshot_meta().index == 0


def bootstrap(storage: Any, voters: list[str]) -> None:
    """Write the founding configuration (term 1, a config entry naming ``voters``) durably."""
    from actors.raft.ready import Ready

    hard, entries = bootstrap_state(ConfState(voters=tuple(sorted(voters))))
    storage.save_ready(Ready(hard_state=hard, entries=tuple(entries)))
    log.info("raft bootstrapped", voters=",".join(sorted(voters)))


def build_raft(ctx: "AgentContext") -> list[ChildSpec]:
    from actors.api.agent_self import advertise_address

    cfg = ctx.config
    node = cfg.node_name
    rpc_address = (advertise_address(ctx), cfg.ports.server)
    storage, blocking = open_storage(ctx)
    if hasattr(storage, "close"):
        ctx.on_close.append(storage.close)
    if is_empty(storage) and cfg.self_bootstrap:
        bootstrap(storage, [node])
    shared = RaftShared(node, storage, rpc_address=rpc_address)
    ctx.extras["raft"] = shared
    node_path = f"{ctx.root_path}/raft/node"
    peers_path = f"{ctx.root_path}/raft/peers"
    faults = ctx.extras.get("faults")
    tls = agent_tls(ctx)
    rpc = RpcClient(node=node, dc=cfg.datacenter, response_type=RaftRpcResponse, faults=faults,
                    addresses=shared.addresses, tls=tls.dial(cfg.datacenter))  # peers named by node name

    def node_ref() -> ActorRef:
        return ActorRef(ctx.tree.get(node_path))

    backend = RaftBackend(shared, node_ref, rpc, hold_timeout=cfg.performance.rpc_hold_timeout)
    ctx.backend = backend
    ctx.extras["raft.backend"] = backend

    raft_config = RaftConfig()
    raft_tree = ChildSpec(
        "raft", Supervisor,
        [
            ChildSpec("peers", Supervisor, [], RestartPolicy(strategy="one_for_one", max_restarts=50, within_seconds=10)),
            ChildSpec("rpc.client", RpcClientActor, rpc),
            ChildSpec("node", RaftNodeWithBootstrap, shared, raft_config, ctx=ctx, rng=ctx.rng("raft"),
                      peers_path=peers_path, dc=cfg.datacenter, faults=faults, blocking_storage=blocking),
            ChildSpec("leader", LeaderDuties, ctx, shared),
        ],
        RestartPolicy(strategy="rest_for_one", max_restarts=10, within_seconds=30),
        kind="raft",
    )

    protocols = StreamProtocols()

    async def raft_stream(conn: FramedConnection) -> None:
        ref = node_ref()
        try:
            while True:
                ref.send_nowait(await conn.receive())
        except ConnectionClosed:
            return

    protocols.register("raft", raft_stream, RaftWire, admit=tls.admit_server)  # servers only
    server_rpc = RpcServer(backend.handle_rpc, RaftRpcRequest, node=node, dc=cfg.datacenter).protocol()
    server_rpc.admit = tls.admit_server  # servers only
    protocols.add(server_rpc)
    protocols.add(http_forward_server(ctx).protocol())  # API calls forwarded by client agents
    server = ChildSpec("server", StreamListener, cfg.bind_addr, cfg.ports.server, protocols, node=node,
                       faults=faults, on_bound=lambda address: ctx.extras.__setitem__("server_addr", address),
                       tls=tls.listener,
                       limits=StreamLimits(max_conns_per_client=cfg.limits.rpc_max_conns_per_client))
    return [raft_tree, server]


class RaftNodeWithBootstrap(RaftNode):
    """A `RaftNode` that first waits, when ``-bootstrap-expect`` asks for it, for the founding servers."""

    def __init__(self, shared: RaftShared, config: RaftConfig, *, ctx: "AgentContext", **kwargs: Any) -> None:
        super().__init__(shared, config, **kwargs)
        self.ctx = ctx

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        expect = self.ctx.config.bootstrap_expect
        if expect > 0 and is_empty(self.shared.storage):
            task_status.started()  # ready to be reached; the core starts once bootstrapped
            await self._await_founders(expect)
            await super().run()
            return
        await super().run(task_status)

    def _link_spec(self, peer: str, address: tuple[str, int]) -> ChildSpec:
        spec = super()._link_spec(peer, address)
        spec.kwargs["tls"] = agent_tls(self.ctx).dial(self.dc)  # a peer is a server of our datacenter
        return spec

    async def _await_founders(self, expect: int) -> None:
        shared = self.shared
        while True:
            servers = self._known_servers()
            shared.update_directory(servers)
            if not is_empty(shared.storage):
                return  # a leader reached us first (we were added as a member): nothing to bootstrap
            if len(servers) >= expect:
                founders = sorted(servers)[:expect]
                if shared.node_id in founders:
                    bootstrap(shared.storage, founders)
                return
            with trio.move_on_after(0.2):
                await shared.directory_changed.wait()

    async def background(self) -> None:
        """Keep the server directory fresh from gossip, so links follow servers that move or join."""
        while True:
            self.shared.update_directory(self._known_servers())
            await trio.sleep(1.0)

    def _known_servers(self) -> dict[str, tuple[str, int]]:
        servers: dict[str, tuple[str, int]] = {self.shared.node_id: self.shared.rpc_address}
        static = self.ctx.extras.get("raft.servers")
        if static:
            servers.update(static)
        gossip = self.ctx.extras.get("gossip")
        if gossip is not None and hasattr(gossip, "servers"):
            for server in gossip.servers():
                if getattr(server, "datacenter", self.ctx.config.datacenter) == self.ctx.config.datacenter:
                    servers[server.name] = (server.address, server.port)
        return servers
