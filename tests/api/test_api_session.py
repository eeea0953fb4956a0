"""``/v1/session/*``: defaults, validation with Consul's texts, and TTL expiry with the reaper."""

from __future__ import annotations

import json
from typing import Any

import trio

from actors.api.state_api import register_self
from tests.api.conftest import Local

UNKNOWN = "00000000-0000-4000-8000-000000000000"


async def test_create_defaults(local: Local) -> None:
    sid = (await local.json("PUT", "/v1/session/create"))["ID"]
    [info] = await local.json("GET", f"/v1/session/info/{sid}")
    assert info["ID"] == sid and info["Node"] == "n1" and info["Name"] == ""
    assert info["LockDelay"] == 15_000_000_000 and info["Behavior"] == "release" and info["TTL"] == ""
    assert info["NodeChecks"] == ["serfHealth"] and info["ServiceChecks"] is None
    assert info["CreateIndex"] == info["ModifyIndex"] > 0
    assert set(info) == {"ID", "Name", "Node", "LockDelay", "Behavior", "TTL", "NodeChecks",
                         "ServiceChecks", "CreateIndex", "ModifyIndex"}


async def test_create_lenient_body(local: Local) -> None:
    body = {"name": "svc-lock", "NODE": "n1", "lock_delay": "20s", "checks": [], "behavior": "delete",
            "ttl": "30s", "unknown": 1, "Namespace": "default"}
    sid = (await local.json("PUT", "/v1/session/create", json.dumps(body)))["ID"]
    [info] = await local.json("GET", f"/v1/session/info/{sid}")
    assert (info["Name"], info["LockDelay"], info["Behavior"], info["TTL"]) == ("svc-lock", 20 * 10**9, "delete", "30s")
    assert info["NodeChecks"] == []  # an explicit empty list drops serfHealth


async def test_lock_delay_numbers_and_small_values(local: Local) -> None:
    for given, expected in ((5, 5 * 10**9), ("7", None), (2_000_000_000, 2_000_000_000), ("250ms", 250_000_000),
                            ("0s", 0), (999, 999 * 10**9)):
        resp = await local.call("PUT", "/v1/session/create", json.dumps({"LockDelay": given}))
        if expected is None:
            assert resp.status == 400 and resp.body == b'Request decode failed: time: missing unit in duration "7"'
            continue
        sid = json.loads(resp.body)["ID"]
        [info] = await local.json("GET", f"/v1/session/info/{sid}")
        assert info["LockDelay"] == expected, given


async def test_session_ids_are_seeded(local: Local) -> None:
    first = (await local.json("PUT", "/v1/session/create"))["ID"]
    other = Local()
    await register_self(other.ctx)
    assert (await other.json("PUT", "/v1/session/create"))["ID"] == first
    assert len(first) == 36 and first[14] == "4"


async def test_create_errors(local: Local) -> None:
    cases = [
        ('{"TTL": "5s"}', 400, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]"),
        ('{"TTL": "86401s"}', 400, "Invalid Session TTL '86401000000000', must be between [10s=24h0m0s]"),
        ('{"TTL": "soon"}', 400, "Session TTL 'soon' invalid: time: invalid duration \"soon\""),
        ('{"TTL": 30}', 400, "Request decode failed: TTL must be a string"),
        ('{"Behavior": "explode"}', 400, "Invalid Behavior setting 'explode'"),
        ('{"Node": "ghost"}', 500, "Missing node registration"),
        ('{"Checks": ["nope"]}', 500, "Missing check 'nope' registration"),
        ('{"Checks": "serfHealth"}', 400, "Request decode failed: Checks must be a list of strings"),
        ('{"Name": ', 400, "Request decode failed: Input data was truncated"),
        ('[1, 2]', 400, "Request decode failed: expected an object, got array at $"),
    ]
    for body, status, text in cases:
        resp = await local.call("PUT", "/v1/session/create", body)
        assert (resp.status, resp.body.decode()) == (status, text), body
    assert await local.json("GET", "/v1/session/list") == []
    ok = await local.call("PUT", "/v1/session/create", '{"TTL": "0s"}')  # zero means "no TTL"
    assert ok.status == 200


async def test_destroy_info_node_list_renew(local: Local) -> None:
    a = (await local.json("PUT", "/v1/session/create", '{"Name": "a"}'))["ID"]
    b = (await local.json("PUT", "/v1/session/create", '{"Name": "b", "TTL": "15s"}'))["ID"]
    listed = await local.json("GET", "/v1/session/list")
    assert sorted(s["ID"] for s in listed) == sorted([a, b])
    assert sorted(s["ID"] for s in await local.json("GET", "/v1/session/node/n1")) == sorted([a, b])
    assert await local.json("GET", "/v1/session/node/elsewhere") == []
    renewed = await local.json("PUT", f"/v1/session/renew/{b}")
    assert [s["ID"] for s in renewed] == [b]
    assert await local.json("PUT", f"/v1/session/destroy/{a}") is True
    assert await local.json("GET", f"/v1/session/info/{a}") == []
    assert await local.json("PUT", f"/v1/session/destroy/{a}") is True  # idempotent
    assert await local.json("PUT", f"/v1/session/destroy/{UNKNOWN}") is True

    resp = await local.call("PUT", f"/v1/session/renew/{UNKNOWN}")
    assert (resp.status, resp.body.decode()) == (404, f"Session id '{UNKNOWN}' not found")
    for method, target, text in (
        ("PUT", "/v1/session/destroy/", "Missing session"),
        ("PUT", "/v1/session/renew/", "Missing session"),
        ("GET", "/v1/session/info/", "Missing session"),
        ("GET", "/v1/session/node/", "Missing node name"),
        ("PUT", "/v1/session/destroy/not-a-uuid", "failed session lookup: index error: UUID must be 36 characters"),
        ("GET", "/v1/session/info/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
         "failed session lookup: index error: invalid UUID 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz': not hexadecimal"),
    ):
        resp = await local.call(method, target)
        assert (resp.status, resp.body.decode()) == (400, text), target
    wrong = await local.call("GET", "/v1/session/create")
    assert wrong.status == 405 and "PUT" in wrong.headers["Allow"]


async def test_ttl_expiry_with_reaper(autojump_clock: Any) -> None:
    api = Local()
    await register_self(api.ctx)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(api.backend.run_session_reaper)
        t0 = trio.current_time()
        sid = (await api.json("PUT", "/v1/session/create", '{"TTL": "10s", "LockDelay": "0s"}'))["ID"]
        assert await api.json("PUT", f"/v1/kv/leader?acquire={sid}", "me") is True
        await trio.sleep_until(t0 + 19.9)  # Consul lets a TTL session live up to 2 x TTL
        assert len(await api.json("GET", f"/v1/session/info/{sid}")) == 1
        await trio.sleep_until(t0 + 20.1)
        assert await api.json("GET", f"/v1/session/info/{sid}") == []
        [entry] = await api.json("GET", "/v1/kv/leader")
        assert "Session" not in entry  # released (behavior "release")
        nursery.cancel_scope.cancel()


async def test_renew_extends_ttl_and_delete_behavior(autojump_clock: Any) -> None:
    api = Local()
    await register_self(api.ctx)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(api.backend.run_session_reaper)
        t0 = trio.current_time()
        body = '{"TTL": "10s", "Behavior": "delete"}'
        sid = (await api.json("PUT", "/v1/session/create", body))["ID"]
        assert await api.json("PUT", f"/v1/kv/eph?acquire={sid}", "x") is True
        await trio.sleep_until(t0 + 15)
        await api.json("PUT", f"/v1/session/renew/{sid}")
        await trio.sleep_until(t0 + 34.9)
        assert len(await api.json("GET", f"/v1/session/info/{sid}")) == 1
        # A blocking info query wakes when the reaper destroys the session.
        index = int((await api.call("GET", f"/v1/session/info/{sid}")).headers["X-Consul-Index"])
        resp = await api.call("GET", f"/v1/session/info/{sid}?index={index}&wait=1m")
        assert json.loads(resp.body) == [] and 35.0 <= trio.current_time() - t0 < 36.0
        assert (await api.call("GET", "/v1/kv/eph")).status == 404  # deleted (behavior "delete")
        nursery.cancel_scope.cancel()
