"""Three Raft servers in one process over real loopback sockets: election, forwarding, failover, restart.

Each agent is a full agent tree (raft subtree, server port, HTTP) started with ``serve_agent``; a
"crash" cancels one agent's whole tree, which loses nothing that was acknowledged because every
acknowledged entry was fsynced to its data dir first. Real clock, bounded waits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import trio

from actors.state.commands import KVSet
from tests.cluster.cluster_kit import Server as Node
from tests.cluster.cluster_kit import leader_of, make_cluster, wait_for


async def put(node: Node, key: str, value: bytes) -> Any:
    assert node.ctx is not None and node.ctx.backend is not None
    applied = await node.ctx.backend.write(KVSet(key=key, value=value))
    assert applied.error is None, applied.error
    return applied


def value_at(node: Node, key: str) -> bytes | None:
    _, entry = node.raft.store.kv_get(key)
    return None if entry is None else entry.value


async def test_three_servers_elect_replicate_fail_over_and_restart(tmp_path: Path, nursery: trio.Nursery) -> None:
    nodes = make_cluster(tmp_path)
    for node in nodes:
        await node.start(nursery)
    await wait_for(lambda: leader_of(nodes) is not None, what="a leader")
    leader = leader_of(nodes)
    assert leader is not None
    follower = next(n for n in nodes if n is not leader)

    # Writes at the leader and at a follower (forwarded), visible everywhere once applied.
    await put(leader, "a", b"1")
    applied = await put(follower, "b", b"2")
    await wait_for(lambda: all(n.raft.applied_index >= applied.index for n in nodes))
    assert all(value_at(n, "a") == b"1" and value_at(n, "b") == b"2" for n in nodes)

    # Consistent read at a follower goes through ReadIndex.
    meta = await follower.ctx.backend.read_barrier("consistent")
    assert meta.consistency == "consistent" and meta.known_leader

    # Crash the leader: the survivors elect a new one and keep accepting writes.
    acknowledged = {"a": b"1", "b": b"2"}
    t0 = trio.current_time()
    leader.crash()
    survivors = [n for n in nodes if n is not leader]
    await wait_for(lambda: leader_of(survivors) is not None and leader_of(survivors) is not leader)
    for i in range(10):
        await put(survivors[i % 2], f"k{i}", str(i).encode())
        acknowledged[f"k{i}"] = str(i).encode()
    failover = trio.current_time() - t0
    assert failover < 10

    # The old leader restarts from its data dir and catches up.
    await leader.start(nursery)
    target = max(n.raft.applied_index for n in survivors)
    await wait_for(lambda: leader.raft.applied_index >= target)
    for key, value in acknowledged.items():
        assert value_at(leader, key) == value

    for node in nodes:
        node.crash()


async def test_server_joins_as_learner_is_promoted_then_leadership_moves_and_a_peer_is_removed(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    nodes = make_cluster(tmp_path, count=4)
    # s4 is known to everyone (as gossip would make it) but is not a founder: -bootstrap-expect 3.
    founders, late = nodes[:3], nodes[3]
    for node in nodes:
        node.cfg = msgspec.structs.replace(node.cfg, bootstrap_expect=3)
    for node in founders:
        await node.start(nursery)
    await wait_for(lambda: leader_of(founders) is not None)
    await put(founders[0], "before", b"x")

    await late.start(nursery)
    await wait_for(lambda: "s4" in leader_of(founders).raft.conf.voters, timeout=20)
    await wait_for(lambda: value_at(late, "before") == b"x")

    leader = leader_of(nodes)
    assert leader is not None
    await leader.ctx.backend.transfer_leadership("s4")
    await wait_for(lambda: leader_of(nodes) is late)

    victim = next(n for n in founders if n is not leader)
    await late.ctx.backend.change_membership("remove", victim.name)
    await wait_for(lambda: victim.name not in late.raft.conf.voters)
    await put(late, "after", b"y")
    assert value_at(late, "after") == b"y"
    for node in nodes:
        node.crash()


async def test_graceful_leave_of_the_leader_hands_over_and_removes_it(tmp_path: Path, nursery: trio.Nursery) -> None:
    nodes = make_cluster(tmp_path)
    for node in nodes:
        await node.start(nursery)
    await wait_for(lambda: leader_of(nodes) is not None)
    leader = leader_of(nodes)
    assert leader is not None
    assert await leader.ctx.backend.leave() is True
    others = [n for n in nodes if n is not leader]
    await wait_for(lambda: leader_of(others) is not None and leader_of(others) is not leader)
    new_leader = leader_of(others)
    await wait_for(lambda: leader.name not in new_leader.raft.conf.voters)
    await put(others[0], "after-leave", b"1")
    await wait_for(lambda: value_at(others[1], "after-leave") == b"1")
    for node in nodes:
        node.crash()
