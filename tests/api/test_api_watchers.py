"""Blocking-query fan-out at a modest scale: 2,000 concurrent watchers, woken by exactly the writes that
concern them.

Two settings:

* the state API through the router, without sockets (a `LocalBackend`): 2,000 watchers on one key, on
  2,000 keys, and prefix watchers; ``wait_all_tasks_blocked`` proves who is parked, the backend's
  waiter count proves who was woken;
* a full ``-dev`` agent over real keep-alive HTTP connections: 2,000 connections spread over ten
  loopback source addresses (127.0.0.2 .. 127.0.0.11, 200 each: Consul's default
  ``limits.http_max_conns_per_client`` is 200 per client IP, which a 201st connection from one address
  proves), and 127.0.0.1 for the writer.

Wake latencies are printed (write sent -> watcher answered). The full 10,000-watcher measurement is
``tests/cluster/bench_watchers.py``.

What must never live here: latency targets that depend on the machine (only generous bounds), or
blocking-query semantics already covered one watcher at a time (``test_api_blocking``).
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import trio
import trio.testing

from actors.context import AgentContext
from tests.api.conftest import Local
from tests.cluster.cluster_kit import HttpConn, percentile, wait_for

N = 2000


def index_of(resp: Any) -> int:
    return int(resp.headers["X-Consul-Index"])


def summary(latencies: list[float]) -> str:
    ms = [x * 1000 for x in latencies]
    return (f"n={len(ms)} p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
            f"max {max(ms):.1f} ms")


async def test_2000_watchers_on_one_key_wake_together_and_only_for_it(local: Local, nursery: trio.Nursery) -> None:
    first = await local.call("PUT", "/v1/kv/hot", "v0")
    assert first.status == 200
    index = index_of(await local.call("GET", "/v1/kv/hot"))
    woke: dict[int, tuple[float, Any]] = {}

    async def watch(i: int) -> None:
        resp = await local.call("GET", f"/v1/kv/hot?index={index}")
        woke[i] = (trio.current_time(), resp)

    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(N):
            nursery.start_soon(watch, i)
        await trio.testing.wait_all_tasks_blocked()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    per_watcher = sum(s.size_diff for s in after.compare_to(before, "filename")) / N
    assert len(local.backend.waiters) == N and not woke

    # Writes elsewhere (another key, a longer key with the same start) wake nobody.
    for key in ("other", "hot2", "hot/child"):
        assert (await local.call("PUT", f"/v1/kv/{key}", "x")).status == 200
    await trio.testing.wait_all_tasks_blocked()
    assert not woke and len(local.backend.waiters) == N

    written = trio.current_time()
    assert (await local.call("PUT", "/v1/kv/hot", "v1")).status == 200
    await trio.testing.wait_all_tasks_blocked()
    assert len(woke) == N and len(local.backend.waiters) == 0
    for _, resp in woke.values():
        assert resp.status == 200 and index_of(resp) > index
        assert json.loads(resp.body)[0]["Value"] == "djE="  # "v1"
    latencies = [t - written for t, _ in woke.values()]
    print(f"\nrouter, {N} watchers on one key: wake {summary(latencies)}; "
          f"{per_watcher / 1024:.1f} KiB traced per parked watcher (task, request, watch registration)")
    assert per_watcher < 64 * 1024


async def test_2000_watchers_on_2000_keys_each_wake_alone(local: Local, nursery: trio.Nursery) -> None:
    for i in range(N):
        assert (await local.call("PUT", f"/v1/kv/w/{i}", "v0")).status == 200
    index = index_of(await local.call("GET", f"/v1/kv/w/{N - 1}"))
    woke: dict[int, Any] = {}

    async def watch(i: int) -> None:
        woke[i] = await local.call("GET", f"/v1/kv/w/{i}?index={index}")

    for i in range(N):
        nursery.start_soon(watch, i)
    await trio.testing.wait_all_tasks_blocked()
    assert len(local.backend.waiters) == N

    # One write per key, in a scattered order: each wakes exactly its own watcher.
    order = [(i * 7919) % N for i in range(200)]
    for step, i in enumerate(order, start=1):
        assert (await local.call("PUT", f"/v1/kv/w/{i}", f"new{i}")).status == 200
        await trio.testing.wait_all_tasks_blocked()
        assert set(woke) == set(order[:step])
        assert len(local.backend.waiters) == N - step
    # A delete is a change too.
    victim = next(i for i in range(N) if i not in woke)
    assert (await local.call("DELETE", f"/v1/kv/w/{victim}")).status == 200
    await trio.testing.wait_all_tasks_blocked()
    assert woke[victim].status == 404 and index_of(woke[victim]) > index
    assert len(local.backend.waiters) == N - len(order) - 1


async def test_prefix_watchers_wake_on_writes_under_the_prefix_only(local: Local, nursery: trio.Nursery) -> None:
    assert (await local.call("PUT", "/v1/kv/dir/a", "1")).status == 200
    index = index_of(await local.call("GET", "/v1/kv/dir/?recurse"))
    woke: list[Any] = []

    async def watch() -> None:
        woke.append(await local.call("GET", f"/v1/kv/dir/?recurse&index={index}"))

    for _ in range(200):
        nursery.start_soon(watch)
    await trio.testing.wait_all_tasks_blocked()
    for key in ("dirt", "di", "other/dir/x"):
        assert (await local.call("PUT", f"/v1/kv/{key}", "x")).status == 200
    await trio.testing.wait_all_tasks_blocked()
    assert not woke and len(local.backend.waiters) == 200
    assert (await local.call("PUT", "/v1/kv/dir/deep/b", "2")).status == 200
    await trio.testing.wait_all_tasks_blocked()
    assert len(woke) == 200
    assert all([e["Key"] for e in json.loads(r.body)] == ["dir/a", "dir/deep/b"] for r in woke)


async def test_2000_watchers_over_keep_alive_http_on_a_dev_agent(agent: AgentContext) -> None:
    assert agent.http_addr is not None
    addr = ("127.0.0.1", agent.http_addr[1])
    waiters = agent.extras["raft"].waiters
    writer = HttpConn(addr)
    sources = [f"127.0.0.{2 + i % 10}" for i in range(N)]  # the writer uses 127.0.0.1
    conns = [HttpConn(addr, source=source) for source in sources]
    try:
        assert (await writer.request("PUT", "/v1/kv/fan/hot", b"v0")).status == 200
        index = int((await writer.request("GET", "/v1/kv/fan/hot")).headers["x-consul-index"])

        # Open the connections (bounded concurrency: the listen backlog is finite).
        limiter = trio.CapacityLimiter(200)

        async def open_one(conn: HttpConn) -> None:
            async with limiter:
                await conn.connect()

        with trio.fail_after(30):
            async with trio.open_nursery() as opening:
                for conn in conns:
                    opening.start_soon(open_one, conn)

        # One more connection from a source address that already has 200 is refused: Consul's limit.
        extra = HttpConn(addr, source="127.0.0.2")
        refused = await extra.request("GET", "/v1/kv/fan/hot")
        await extra.aclose()
        assert refused.status == 429

        woke: dict[int, tuple[float, Any]] = {}
        with trio.fail_after(60):
            async with trio.open_nursery() as watching:
                async def watch(i: int) -> None:
                    reply = await conns[i].request("GET", f"/v1/kv/fan/hot?index={index}&wait=60s")
                    woke[i] = (trio.current_time(), reply)

                for i in range(N):
                    watching.start_soon(watch, i)
                await wait_for(lambda: len(waiters) >= N, 30, f"{N} parked watchers")
                assert len(waiters) == N
                for key in ("fan/cold", "fan/hot2", "fan/hot/x"):
                    assert (await writer.request("PUT", f"/v1/kv/{key}", b"x")).status == 200
                # Waiters are woken synchronously when the write is applied, before it is acknowledged.
                assert len(waiters) == N and not woke
                written = trio.current_time()
                assert (await writer.request("PUT", "/v1/kv/fan/hot", b"v1")).status == 200
                acked = trio.current_time()
        assert len(woke) == N
        for _, reply in woke.values():
            assert reply.status == 200 and json.loads(reply.body)[0]["Value"] == "djE="
        # Client and server share this process, so the writer's own ack queues behind the fan-out:
        # measure from the moment the write was sent.
        latencies = [t - written for t, _ in woke.values()]
        print(f"\n-dev agent over HTTP, {N} keep-alive watchers on one key (10 source IPs x 200): "
              f"wake after the write was sent {summary(latencies)}; the writer's ack came after "
              f"{(acked - written) * 1000:.1f} ms")
        assert percentile(latencies, 99) < 5.0
    finally:
        await writer.aclose()
        for conn in conns:
            await conn.aclose()
