"""Consul's HTTP API against a three-server Raft cluster, driven through a *follower* with py-consul.

Three server agents run in this process over real loopback sockets (see ``cluster_kit``); py-consul is
synchronous, so every call runs in a worker thread. What is checked:

* every write kind (KV put/cas/delete, session create + acquire/release, catalog register, txn) sent to
  a follower is forwarded to the leader and is visible at every server, and every read kind answers at
  the follower;
* ``?stale`` is served by the follower itself, with ``X-Consul-KnownLeader``/``X-Consul-LastContact``;
  ``?consistent`` and default reads at a follower see a write acknowledged by the leader just before;
* a blocking query on a follower wakes after a write made at the leader;
* after the leader crashes, writes through the same follower succeed again once a new leader exists
  (the gap is measured and printed), and every acknowledged write survives;
* with two of three servers down, a write answers 500 ``No cluster leader`` after the RPC hold time
  (shortened to 2 s on the parsed config) and a ``?stale`` read still answers.

What must never live here: single-server API semantics (``tests/api``) or linearizability checking
(``test_linearizable``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import consul
import pytest
import trio

from tests.cluster.cluster_kit import HttpConn, Server, leader_of, make_cluster, wait_for, wait_leader

CALL_TIMEOUT = 30.0


def client(server: Server, consistency: str = "default") -> consul.Consul:
    host, port = server.http
    c = consul.Consul(host=host, port=port, consistency=consistency, connections_timeout=20)
    c.http.session.trust_env = False  # never route loopback through an environment proxy
    return c


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One blocking py-consul call in a worker thread, bounded."""
    with trio.fail_after(CALL_TIMEOUT):
        return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def start_cluster(tmp_path: Path, nursery: trio.Nursery, **kwargs: Any) -> list[Server]:
    servers = make_cluster(tmp_path, 3, **kwargs)
    for server in servers:
        await server.start(nursery)
    await wait_leader(servers)
    return servers


@pytest.fixture
async def cluster(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[list[Server]]:
    servers = await start_cluster(tmp_path, nursery)
    yield servers
    for server in servers:
        if server.running:
            server.crash()


def roles(servers: list[Server]) -> tuple[Server, Server, Server]:
    """(leader, the follower the test talks to, the other follower)."""
    leader = leader_of(servers)
    assert leader is not None
    follower, other = [s for s in servers if s is not leader]
    return leader, follower, other


async def everywhere(servers: list[Server], read: Callable[[consul.Consul], Any]) -> list[Any]:
    """``read`` through a ``?consistent`` client at every running server."""
    return [await call(read, client(s, "consistent")) for s in servers if s.running]


async def test_writes_through_a_follower_are_forwarded_and_visible_at_every_server(cluster: list[Server]) -> None:
    leader, follower, _ = roles(cluster)
    c = client(follower)

    # KV put / get / cas / delete.
    assert await call(c.kv.put, "app/config", "v1") is True
    for index, item in await everywhere(cluster, lambda cc: cc.kv.get("app/config")):
        assert item["Value"] == b"v1"
    _, item = await call(c.kv.get, "app/config")
    modify = item["ModifyIndex"]
    assert await call(c.kv.put, "app/config", "v2", cas=modify) is True
    assert await call(c.kv.put, "app/config", "v3", cas=modify) is False  # index moved on
    assert await call(c.kv.put, "app/fresh", "x", cas=0) is True  # cas=0: create only
    assert await call(c.kv.put, "app/fresh", "y", cas=0) is False
    for _, item in await everywhere(cluster, lambda cc: cc.kv.get("app/config")):
        assert item["Value"] == b"v2"
    _, keys = await call(c.kv.get, "app/", keys=True)
    assert keys == ["app/config", "app/fresh"]
    assert await call(c.kv.delete, "app/fresh") is True
    for _, item in await everywhere(cluster, lambda cc: cc.kv.get("app/fresh")):
        assert item is None

    # Sessions: create through the follower (on the leader's node: only the leader has registered
    # itself in the catalog until gossip reconciles the others), acquire and release a lock.
    # The new leader registers itself (with serfHealth) just after taking office; wait for that.
    await wait_for(lambda: any(chk.check_id == "serfHealth"
                               for chk in follower.raft.store.node_checks(leader.name)[1]),
                   10, "the leader's serfHealth check")
    sid = await call(c.session.create, node=leader.name, lock_delay=0)
    rival = await call(c.session.create, node=leader.name, lock_delay=0)
    assert await call(c.kv.put, "locks/db", "me", acquire=sid) is True
    assert await call(c.kv.put, "locks/db", "them", acquire=rival) is False
    for _, item in await everywhere(cluster, lambda cc: cc.kv.get("locks/db")):
        assert item["Session"] == sid and item["LockIndex"] == 1
    assert await call(c.kv.put, "locks/db", "done", release=sid) is True
    for _, item in await everywhere(cluster, lambda cc: cc.kv.get("locks/db")):
        assert "Session" not in item and item["Value"] == b"done"
    _, info = await call(c.session.info, sid)
    assert info["ID"] == sid
    assert await call(c.session.destroy, rival) is True
    for _, sessions in await everywhere(cluster, lambda cc: cc.session.list()):
        assert [s["ID"] for s in sessions] == [sid]

    # Catalog register, then catalog and health reads at every server.
    assert await call(
        c.catalog.register, "ext-node", "10.0.0.5",
        service={"Service": "redis", "ID": "redis1", "Port": 6379, "Tags": ["primary"]},
        check={"CheckID": "service:redis1", "Name": "redis alive", "Status": "passing", "ServiceID": "redis1"},
    ) is True
    for _, instances in await everywhere(cluster, lambda cc: cc.catalog.service("redis")):
        assert [(i["Node"], i["ServiceID"], i["ServicePort"]) for i in instances] == [("ext-node", "redis1", 6379)]
    for _, healthy in await everywhere(cluster, lambda cc: cc.health.service("redis", passing=True)):
        assert [h["Service"]["ID"] for h in healthy] == ["redis1"]
    _, services = await call(c.catalog.services)
    assert services["redis"] == ["primary"] and "consul" in services

    # A transaction: two sets and a check, applied atomically through the follower.
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    result = await call(c.txn.put, [
        {"KV": {"Verb": "set", "Key": "txn/a", "Value": b64(b"1")}},
        {"KV": {"Verb": "set", "Key": "txn/b", "Value": b64(b"2")}},
        {"KV": {"Verb": "get", "Key": "app/config"}},
    ])
    assert result["Errors"] is None and len(result["Results"]) == 3
    assert base64.b64decode(result["Results"][2]["KV"]["Value"]) == b"v2"
    for _, items in await everywhere(cluster, lambda cc: cc.kv.get("txn/", recurse=True)):
        assert [(i["Key"], i["Value"]) for i in items] == [("txn/a", b"1"), ("txn/b", b"2")]
    with pytest.raises(consul.ConsulException):  # rolled back: 409
        await call(c.txn.put, [{"KV": {"Verb": "set", "Key": "txn/c", "Value": b64(b"3")}},
                               {"KV": {"Verb": "get", "Key": "txn/missing"}}])
    for _, item in await everywhere(cluster, lambda cc: cc.kv.get("txn/c")):
        assert item is None

    # Every server applied the same log: same KV index.
    indexes = {int(index) for index, _ in await everywhere(cluster, lambda cc: cc.kv.get("", recurse=True))}
    assert len(indexes) == 1


async def test_read_modes_at_a_follower(cluster: list[Server]) -> None:
    leader, follower, _ = roles(cluster)
    at_leader, at_follower = client(leader), client(follower)
    conn = HttpConn(follower.http)
    leader_conn = HttpConn(leader.http)
    try:
        for round_ in range(20):
            value = f"r{round_}"
            assert await call(at_leader.kv.put, "modes/k", value) is True
            # Acknowledged by the leader: a consistent and a default read at the follower must see it.
            consistent = await conn.request("GET", "/v1/kv/modes/k?consistent")
            assert consistent.status == 200
            assert base64.b64decode(consistent.json()[0]["Value"]).decode() == value
            assert consistent.headers["x-consul-effective-consistency"] == "consistent"
            default = await conn.request("GET", "/v1/kv/modes/k")
            assert base64.b64decode(default.json()[0]["Value"]).decode() == value
            assert default.headers["x-consul-effective-consistency"] == "leader"

        stale = await conn.request("GET", "/v1/kv/modes/k?stale")
        assert stale.status == 200
        assert stale.headers["x-consul-effective-consistency"] == "stale"
        assert stale.headers["x-consul-knownleader"] == "true"
        contact = int(stale.headers["x-consul-lastcontact"])
        assert 0 <= contact < 2000, contact  # heartbeats every 50 ms
        leader_stale = await leader_conn.request("GET", "/v1/kv/modes/k?stale")
        assert leader_stale.headers["x-consul-lastcontact"] == "0"
        both = await conn.request("GET", "/v1/kv/modes/k?stale&consistent")
        assert both.status == 400

        # The stale read was served by the follower from its own replica: with the leader gone, it
        # still answers (and says so), while a consistent read cannot.
        leader.crash()
        alone = await conn.request("GET", "/v1/kv/modes/k?stale")
        assert alone.status == 200 and base64.b64decode(alone.json()[0]["Value"]) == b"r19"
        print(f"\nstale read at follower: LastContact {contact} ms with a leader; "
              f"{alone.headers['x-consul-lastcontact']} ms just after the leader crashed")
    finally:
        await conn.aclose()
        await leader_conn.aclose()


async def test_blocking_query_on_a_follower_wakes_after_a_write_at_the_leader(cluster: list[Server]) -> None:
    leader, follower, _ = roles(cluster)
    at_leader = client(leader)
    assert await call(at_leader.kv.put, "watch/k", "before") is True
    conn = HttpConn(follower.http)
    latencies = []
    try:
        first = await conn.request("GET", "/v1/kv/watch/k")
        index = int(first.headers["x-consul-index"])
        for round_ in range(5):
            woke: dict[str, Any] = {}

            async def watch(index: int = index) -> None:
                reply = await conn.request("GET", f"/v1/kv/watch/k?index={index}&wait=20s")
                woke["at"] = trio.current_time()
                woke["reply"] = reply

            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch)
                # The watcher is parked once the follower's registry holds it; an unrelated write at
                # the leader must not wake it.
                await wait_for(lambda: len(follower.raft.waiters) >= 1, 5, "the blocking query to park")
                assert await call(at_leader.kv.put, "watch/other", f"noise{round_}") is True
                await wait_for(lambda: follower.raft.applied_index >= leader.raft.commit_index, 5, "follower catch-up")
                assert "reply" not in woke
                written = trio.current_time()
                assert await call(at_leader.kv.put, "watch/k", f"after{round_}") is True
                acked = trio.current_time()
            reply = woke["reply"]
            assert reply.status == 200
            assert base64.b64decode(reply.json()[0]["Value"]) == f"after{round_}".encode()
            new_index = int(reply.headers["x-consul-index"])
            assert new_index > index
            index = new_index
            latencies.append((woke["at"] - written, woke["at"] - acked))
        print("\nblocking query at follower, write at leader: wake after write sent / after leader ack (ms): "
              + ", ".join(f"{a * 1000:.1f}/{b * 1000:.1f}" for a, b in latencies))
        assert all(sent < 2.0 for sent, _ in latencies)
    finally:
        await conn.aclose()


async def test_writes_through_a_follower_resume_after_the_leader_crashes(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    servers = await start_cluster(tmp_path, nursery)
    leader, follower, other = roles(servers)
    c = client(follower)
    acknowledged: dict[str, str] = {}
    for i in range(10):
        assert await call(c.kv.put, f"fo/{i}", f"v{i}") is True
        acknowledged[f"fo/{i}"] = f"v{i}"

    crashed_at = trio.current_time()
    leader.crash()
    elected_at: list[float] = []

    async def watch_election() -> None:
        with trio.fail_after(15):
            while follower.raft.leader in (None, leader.name):
                await follower.raft.wait_leader_change()
        elected_at.append(trio.current_time())

    nursery.start_soon(watch_election)
    # Keep writing through the same follower: the first write may wait out the election (the agent
    # holds it up to rpc_hold_timeout) or fail with a 5xx; count until one succeeds.
    attempts, failures = 0, []
    while True:
        attempts += 1
        key, value = f"fo/after/{attempts}", f"a{attempts}"
        try:
            ok = await call(c.kv.put, key, value)
        except consul.ConsulException as exc:
            failures.append(str(exc))
            assert trio.current_time() - crashed_at < 20, failures
            continue
        assert ok is True
        acknowledged[key] = value
        break
    gap = trio.current_time() - crashed_at
    await wait_for(lambda: bool(elected_at), 5, "the election to be observed")
    new_leader = leader_of([follower, other])
    assert new_leader is not None and new_leader is not leader
    print(f"\nleader {leader.name} crashed: new leader {new_leader.name} seen by the follower after "
          f"{(elected_at[0] - crashed_at) * 1000:.0f} ms; first write through follower {follower.name} "
          f"acknowledged {gap * 1000:.0f} ms after the crash ({attempts} attempt(s), failures: {failures})")
    assert gap < 10

    # Nothing acknowledged was lost, at either survivor; the old leader catches up on restart.
    for key, value in acknowledged.items():
        for s in (follower, other):
            _, item = await call(client(s, "consistent").kv.get, key)
            assert item is not None and item["Value"] == value.encode(), (s.name, key)
    await leader.start(nursery)
    target = new_leader.raft.commit_index
    await wait_for(lambda: leader.raft.applied_index >= target, 15, "the restarted server to catch up")
    for key, value in acknowledged.items():
        _, entry = leader.raft.store.kv_get(key)
        assert entry is not None and entry.value == value.encode()
    for s in servers:
        s.crash()


async def test_without_quorum_writes_fail_with_no_cluster_leader_and_stale_reads_answer(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    hold = 2.0
    servers = await start_cluster(tmp_path, nursery, hold_timeout=hold)
    leader, follower, other = roles(servers)
    c = client(follower)
    assert await call(c.kv.put, "nq/k", "kept") is True
    await wait_for(lambda: all(s.raft.applied_index >= leader.raft.commit_index for s in servers), 5, "replication")

    leader.crash()
    other.crash()
    # The survivor stops believing in a leader once it has heard nothing for an election timeout.
    await wait_for(lambda: follower.raft.leader is None, 10, "the survivor to lose its leader")

    conn = HttpConn(follower.http)
    try:
        started = trio.current_time()
        refused = await conn.request("PUT", "/v1/kv/nq/k", b"lost")
        took = trio.current_time() - started
        assert refused.status == 500 and refused.text == "No cluster leader", refused
        assert hold - 0.1 <= took <= hold + 2.0, took

        started = trio.current_time()
        default = await conn.request("GET", "/v1/kv/nq/k")
        read_took = trio.current_time() - started
        assert default.status == 500 and default.text == "No cluster leader", default

        stale = await conn.request("GET", "/v1/kv/nq/k?stale")
        assert stale.status == 200
        assert base64.b64decode(stale.json()[0]["Value"]) == b"kept"
        assert stale.headers["x-consul-knownleader"] == "false"
        assert stale.headers["x-consul-effective-consistency"] == "stale"
        assert int(stale.headers["x-consul-lastcontact"]) > 0
        keys = await conn.request("GET", "/v1/kv/?keys&stale")
        assert keys.status == 200 and "nq/k" in json.loads(keys.body)
        print(f"\nno quorum: write refused after {took:.2f} s (rpc_hold_timeout {hold} s), default read after "
              f"{read_took:.2f} s; stale read answered, LastContact {stale.headers['x-consul-lastcontact']} ms")
    finally:
        await conn.aclose()
    for s in servers:
        if s.running:
            s.crash()
