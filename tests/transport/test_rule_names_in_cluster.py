"""Fault rules name nodes on the agents' RPC clients too: client-agent forwarding and Raft's server RPC.

In-process agents over real loopback sockets (``tests.cluster.cluster_kit``), each with its own
`FaultTable` in ``ctx.extras["faults"]`` (the sender's table decides what it sends). What is checked:

* a client agent's forwarding client names servers by node name (learned from gossip): one-way rules
  ``c1 -> s*`` make its forwarded requests fail with the forwarding error and deliver nothing, while the
  reverse rules alone (``s* -> c1``) let the request through (a forwarded write is applied) and lose
  only the reply;
* a server's Raft RPC client names the leader by node name (from the server directory): a one-way rule
  ``follower -> leader`` stops that follower's forwarded writes while it keeps receiving and committing
  the leader's appends;
* a one-way rule ``leader -> follower`` stalls that follower's commit index while the other follower
  keeps up, and it catches up once healed.

What must never live here: fault-table semantics (``test_faults``) or single-connection fault behaviour
(``test_stream_faults``, ``test_rpc``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import msgspec
import pytest
import trio

from actors.agent import serve_agent
from actors.backend import BackendError, NoLeader
from actors.context import AgentContext
from actors.flags import parse_agent_flags
from actors.forward.client import known_servers
from actors.state.commands import KVSet
from runtime.http import Request
from runtime.transport.faults import FaultRule
from tests.cluster.cluster_kit import Server, leader_of, make_cluster, wait_for, wait_leader
from tests.support.ports import free_ports


async def start_servers(tmp_path: Path, nursery: trio.Nursery, **kwargs: Any) -> list[Server]:
    servers = make_cluster(tmp_path, 3, **kwargs)
    for server in servers:
        await server.start(nursery)
    await wait_leader(servers, timeout=30)
    return servers


@pytest.fixture
async def servers(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[list[Server]]:
    started = await start_servers(tmp_path, nursery, hold_timeout=2.0)
    yield started
    for server in started:
        if server.running:
            server.crash()


async def start_client(tmp_path: Path, nursery: trio.Nursery, servers: list[Server]) -> AgentContext:
    """A client agent ``c1`` joined (LAN gossip) to every server, once it sees all of them alive."""
    server_port, lan, wan, http = free_ports(4)
    joins = [arg for s in servers for arg in ("-retry-join", f"127.0.0.1:{s.cfg.ports.serf_lan}")]
    cfg = parse_agent_flags(["-node", "c1", "-bind", "127.0.0.1", "-server-port", str(server_port),
                             "-serf-lan-port", str(lan), "-serf-wan-port", str(wan), "-seed", "9",
                             "-retry-interval", "1s", "-data-dir", str(tmp_path / "c1"), *joins], hostname="h")
    cfg = msgspec.structs.replace(cfg, ports=msgspec.structs.replace(cfg.ports, http=http, dns=-1))
    ctx: AgentContext = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
    await wait_for(lambda: len(known_servers(ctx)) == len(servers), timeout=30, what="c1 to see every server")
    return ctx


async def put(server: Server, key: str, value: bytes) -> int:
    assert server.ctx is not None and server.ctx.backend is not None
    applied = await server.ctx.backend.write(KVSet(key=key, value=value))
    assert applied.error is None, applied.error
    return applied.index


def value_at(server: Server, key: str) -> bytes | None:
    _, entry = server.raft.store.kv_get(key)
    return None if entry is None else entry.value


async def test_client_forwarding_obeys_one_way_rules_by_node_name(servers: list[Server], tmp_path: Path,
                                                                  nursery: trio.Nursery) -> None:
    with trio.fail_after(90):
        client = await start_client(tmp_path, nursery, servers)
        leader = await wait_leader(servers)
        index = await put(leader, "k", b"v")
        await wait_for(lambda: all(s.raft.applied_index >= index for s in servers), what="k applied everywhere")
        router = client.extras["router"]
        faults = client.extras["faults"]
        forward = client.extras["forward.client"]
        # Connections opened before a partition would blackhole the request until its timeout: start clean.
        for address in known_servers(client):
            forward.drop(address, "the test starts without pooled connections")

        # c1 -> every server, one way: nothing is sent, the request fails with the forwarding error.
        for server in servers:
            faults.set(FaultRule(src="c1", dst=server.name, drop=True))
        resp = await router.dispatch(Request("GET", "/v1/kv/k"))
        assert resp.status == 500, resp.body
        assert b"rpc error making call: no server reachable" in resp.body and b"partitioned" in resp.body
        resp = await router.dispatch(Request("PUT", "/v1/kv/cut", {}, b"x"))
        assert resp.status == 500, resp.body
        assert all(faults.links[f"c1->{s.name}"].dropped >= 1 for s in servers), faults.links
        faults.heal()
        resp = await router.dispatch(Request("GET", "/v1/kv/k"))
        assert resp.status == 200, resp.body
        assert value_at(leader, "cut") is None  # the cut write never reached a server

        # The reverse direction alone: the request is delivered and handled, only the reply is lost.
        for address in known_servers(client):
            forward.drop(address, "the request must dial afresh")
        for server in servers:
            assert server.ctx is not None
            server.ctx.extras["faults"].set(FaultRule(src=server.name, dst="c1", drop=True))
        answered: list[Any] = []

        async def write_through_c1() -> None:
            answered.append(await router.dispatch(Request("PUT", "/v1/kv/rev", {}, b"y")))

        async with trio.open_nursery() as pending:
            pending.start_soon(write_through_c1)
            await wait_for(lambda: all(value_at(s, "rev") == b"y" for s in servers), what="the write applied")
            assert not answered  # the reply is dropped on its way back to c1
            pending.cancel_scope.cancel()
        dropped = [s.ctx.extras["faults"].links[f"{s.name}->c1"].dropped for s in servers
                   if s.ctx is not None and f"{s.name}->c1" in s.ctx.extras["faults"].links]
        assert sum(dropped) >= 1


async def test_one_way_rule_from_a_follower_to_the_leader_cuts_its_forwarded_writes(servers: list[Server]) -> None:
    with trio.fail_after(60):
        leader = await wait_leader(servers)
        follower = next(s for s in servers if s is not leader)
        assert follower.ctx is not None and follower.ctx.backend is not None
        faults = follower.ctx.extras["faults"]
        faults.set(FaultRule(src=follower.name, dst=leader.name, drop=True))

        with pytest.raises((NoLeader, BackendError)):
            await follower.ctx.backend.write(KVSet(key="from-follower", value=b"x"))
        assert faults.links[f"{follower.name}->{leader.name}"].dropped >= 1
        # Only that direction is cut: the follower still receives and commits the leader's appends.
        index = await put(leader, "from-leader", b"y")
        await wait_for(lambda: follower.raft.commit_index >= index and value_at(follower, "from-leader") == b"y",
                       what="the follower to apply the leader's write")
        assert all(value_at(s, "from-follower") is None for s in servers)
        assert leader_of(servers) is leader

        faults.heal()
        index = await put(follower, "from-follower", b"z")  # forwarded again once healed
        await wait_for(lambda: all(s.raft.applied_index >= index for s in servers), what="the healed write")


async def test_one_way_rule_from_the_leader_stalls_one_follower_only(servers: list[Server]) -> None:
    with trio.fail_after(60):
        leader = await wait_leader(servers)
        cut, other = [s for s in servers if s is not leader]
        assert leader.ctx is not None
        faults = leader.ctx.extras["faults"]
        faults.set(FaultRule(src=leader.name, dst=cut.name, drop=True))

        first = index = await put(leader, "k0", b"0")
        for i in range(1, 5):
            await wait_for(lambda: other.raft.commit_index >= index, what="the other follower to commit")
            index = await put(leader, f"k{i}", str(i).encode())
        await wait_for(lambda: other.raft.commit_index >= index, what="the other follower to commit")
        assert cut.raft.commit_index < first  # appended after the cut: nothing of it reached that follower
        assert faults.links[f"{leader.name}->{cut.name}"].dropped >= 1
        assert leader_of([leader, other]) is leader

        faults.heal()
        await wait_for(lambda: cut.raft.commit_index >= index and value_at(cut, "k4") == b"4", timeout=20,
                       what="the cut follower to catch up once healed")
