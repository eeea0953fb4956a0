"""Blocking queries through the router, without sockets: wakes on relevant writes only, times out with
the same index, honours the wait cap and jitter, and never reports index 0."""

from __future__ import annotations

import json
from typing import Any

import trio
import trio.testing

from actors.api.state_api import register_self
from runtime.http import Response
from tests.api.conftest import Local


class Pending:
    """A request running in the background; ``response`` is set once it answers."""

    def __init__(self) -> None:
        self.response: Response | None = None
        self.finished_at: float | None = None

    @property
    def done(self) -> bool:
        return self.response is not None


async def start(nursery: trio.Nursery, api: Local, target: str) -> Pending:
    pending = Pending()

    async def run() -> None:
        pending.response = await api.call("GET", target)
        pending.finished_at = trio.current_time()

    nursery.start_soon(run)
    await trio.testing.wait_all_tasks_blocked()
    return pending


def index_of(resp: Response) -> int:
    return int(resp.headers["X-Consul-Index"])


async def test_kv_get_wakes_only_for_its_key(local: Local, nursery: trio.Nursery) -> None:
    first = await local.call("PUT", "/v1/kv/watched", "v1")
    assert first.status == 200
    index = index_of(await local.call("GET", "/v1/kv/watched"))
    pending = await start(nursery, local, f"/v1/kv/watched?index={index}")
    assert not pending.done

    await local.call("PUT", "/v1/kv/unrelated", "x")
    await local.call("PUT", "/v1/kv/watched-but-longer", "x")
    await trio.testing.wait_all_tasks_blocked()
    assert not pending.done

    await local.call("PUT", "/v1/kv/watched", "v2")
    await trio.testing.wait_all_tasks_blocked()
    assert pending.done and pending.response is not None
    assert pending.response.status == 200
    assert index_of(pending.response) > index
    assert json.loads(pending.response.body)[0]["Value"] == "djI="


async def test_missing_key_blocks_until_created(local: Local, nursery: trio.Nursery) -> None:
    miss = await local.call("GET", "/v1/kv/later")
    assert miss.status == 404
    pending = await start(nursery, local, f"/v1/kv/later?index={index_of(miss)}")
    await local.call("PUT", "/v1/kv/other", "x")  # bumps the KV index, but not this key
    await trio.testing.wait_all_tasks_blocked()
    assert not pending.done
    await local.call("PUT", "/v1/kv/later", "now")
    await trio.testing.wait_all_tasks_blocked()
    assert pending.response is not None and pending.response.status == 200


async def test_prefix_watch_wakes_on_delete(local: Local, nursery: trio.Nursery) -> None:
    await local.call("PUT", "/v1/kv/dir/a", "1")
    await local.call("PUT", "/v1/kv/dir/b", "2")
    listing = await local.call("GET", "/v1/kv/dir/?recurse")
    pending = await start(nursery, local, f"/v1/kv/dir/?recurse&index={index_of(listing)}")
    await local.call("PUT", "/v1/kv/dirt", "not under dir/")
    await trio.testing.wait_all_tasks_blocked()
    assert not pending.done
    await local.call("DELETE", "/v1/kv/dir/a")
    await trio.testing.wait_all_tasks_blocked()
    assert pending.response is not None
    assert [e["Key"] for e in json.loads(pending.response.body)] == ["dir/b"]
    assert index_of(pending.response) > index_of(listing)


async def test_health_service_wakes_on_its_service_only(local: Local, nursery: trio.Nursery) -> None:
    register = {"Node": "n2", "Address": "10.0.0.2", "Service": {"Service": "web", "Port": 80}}
    await local.json("PUT", "/v1/catalog/register", json.dumps(register))
    current = await local.call("GET", "/v1/health/service/web")
    pending = await start(nursery, local, f"/v1/health/service/web?index={index_of(current)}")
    other = {"Node": "n3", "Address": "10.0.0.3", "Service": {"Service": "db", "Port": 5432}}
    await local.json("PUT", "/v1/catalog/register", json.dumps(other))
    await trio.testing.wait_all_tasks_blocked()
    assert not pending.done
    check = {"Node": "n2", "Address": "10.0.0.2",
             "Check": {"Name": "web-alive", "ServiceID": "web", "Status": "critical"}}
    await local.json("PUT", "/v1/catalog/register", json.dumps(check))
    await trio.testing.wait_all_tasks_blocked()
    assert pending.response is not None
    [entry] = json.loads(pending.response.body)
    assert [c["CheckID"] for c in entry["Checks"]] == ["web-alive"]


async def test_session_list_blocks(local: Local, nursery: trio.Nursery) -> None:
    current = await local.call("GET", "/v1/session/list")
    pending = await start(nursery, local, f"/v1/session/list?index={index_of(current)}")
    await local.call("PUT", "/v1/kv/noise", "x")
    await trio.testing.wait_all_tasks_blocked()
    assert not pending.done
    await local.json("PUT", "/v1/session/create")
    await trio.testing.wait_all_tasks_blocked()
    assert pending.response is not None and len(json.loads(pending.response.body)) == 1


async def test_wait_timeout_returns_same_index(autojump_clock: Any) -> None:
    api = Local()
    await register_self(api.ctx)
    await api.call("PUT", "/v1/kv/k", "v")
    index = index_of(await api.call("GET", "/v1/kv/k"))
    t0 = trio.current_time()
    resp = await api.call("GET", f"/v1/kv/k?index={index}&wait=10s")
    elapsed = trio.current_time() - t0
    assert resp.status == 200 and index_of(resp) == index
    assert 10.0 <= elapsed <= 10.0 + 10.0 / 16


async def test_wait_defaults_and_cap(autojump_clock: Any) -> None:
    api = Local()
    await register_self(api.ctx)
    index = index_of(await api.call("GET", "/v1/catalog/nodes"))
    for query, wait in (("", 300.0), ("&wait=1h", 600.0), ("&wait=0s", 300.0)):
        t0 = trio.current_time()
        resp = await api.call("GET", f"/v1/catalog/nodes?index={index}{query}")
        elapsed = trio.current_time() - t0
        assert resp.status == 200 and index_of(resp) == index
        assert wait <= elapsed <= wait + wait / 16, query


async def test_index_is_never_zero(autojump_clock: Any) -> None:
    api = Local()  # nothing written at all
    for target in ("/v1/kv/none", "/v1/kv/?recurse", "/v1/catalog/nodes", "/v1/session/list",
                   "/v1/health/state/any", "/v1/catalog/services"):
        resp = await api.call("GET", target)
        assert index_of(resp) == 1, target
    # ?index=0 never blocks.
    t0 = trio.current_time()
    await api.call("GET", "/v1/kv/none?index=0&wait=5s")
    assert trio.current_time() == t0


async def test_client_ahead_of_server_blocks_then_times_out(autojump_clock: Any) -> None:
    api = Local()
    resp = await api.call("GET", "/v1/kv/x?index=1000&wait=2s")
    assert resp.status == 404 and index_of(resp) == 1
    assert trio.current_time() >= 2.0


async def test_jitter_comes_from_the_seeded_stream(autojump_clock: Any) -> None:
    async def durations() -> list[float]:
        api = Local()
        out = []
        for _ in range(3):
            t0 = trio.current_time()
            await api.call("GET", "/v1/kv/x?index=5&wait=16s")
            out.append(trio.current_time() - t0)
        return out

    first, second = await durations(), await durations()
    assert first == second  # same seed, same jitter
    assert all(16.0 <= d <= 17.0 for d in first) and len(set(first)) > 1
