"""Local state on disk: what a snapshot holds, crash-safe writes, and an agent restart restoring it all."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from actors.local.persist import decode, encode, live_ttl_states, restore_records, snapshot, state_path, write_atomic
from actors.local.records import SOURCE_CONFIG, CheckSpec, LocalCheck, LocalService
from actors.local.state import LocalState
from tests.local.conftest import client_for, dev_config, in_thread, start_agent, until_catalog


def test_snapshot_keeps_api_definitions_and_ttl_state_only() -> None:
    state = LocalState()
    state.put_service(LocalService(id="cfg", name="cfg", source=SOURCE_CONFIG),
                      [LocalCheck(id="cfg-ttl", name="c", service_id="cfg", spec=CheckSpec(ttl=10),
                                  source=SOURCE_CONFIG)], now=0)
    state.put_service(LocalService(id="api", name="api"),
                      [LocalCheck(id="http", name="h", service_id="api", spec=CheckSpec(http="x", interval=1)),
                       LocalCheck(id="ttl", name="t", service_id="api", spec=CheckSpec(ttl=30))], now=0)
    state.update_status("http", "passing", "200 OK", now=1)
    state.update_ttl("ttl", "warning", "slow", now=2)
    state.update_ttl("cfg-ttl", "passing", "ok", now=3)
    ps = decode(encode(snapshot(state, wall_of=lambda t: 1000 + t)))
    assert [s.id for s in ps.services] == ["api"]
    assert {c.id: (c.status, c.output) for c in ps.checks} == {"http": ("critical", ""), "ttl": ("critical", "")}
    assert {cid: (st.status, st.output, st.expires) for cid, st in ps.ttl.items()} == {
        "cfg-ttl": ("passing", "ok", 1013), "ttl": ("warning", "slow", 1032)}
    assert set(live_ttl_states(ps, now_wall=1020)) == {"ttl"}
    services, checks = restore_records(ps, existing_services={"api"}, existing_checks=set())
    assert services == [] and {c.id for c in checks} == {"http", "ttl"}
    services, checks = restore_records(ps, existing_services=set(), existing_checks={"ttl"})
    assert [s.id for s in services] == ["api"] and [c.id for c in checks] == ["http"]


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    path = state_path(str(tmp_path))
    write_atomic(path, b"first")
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second" and os.listdir(path.parent) == ["state.json"]


async def test_agent_restart_restores_services_checks_ttl_state_and_maintenance(
        nursery: trio.Nursery, tmp_path: Path) -> None:
    cfg = dev_config(data_dir=str(tmp_path))
    ctx, running = await start_agent(nursery, cfg)
    c = client_for(ctx)
    await in_thread(c.agent.service.register, "web", service_id="web-1", port=8080, tags=["v1"],
                    check={"ttl": "1h", "notes": "app heartbeat"})
    await in_thread(c.agent.check.register, "disk", {"ttl": "1h"}, check_id="disk")
    await in_thread(c.agent.check.ttl_pass, "service:web-1", "ready")
    await in_thread(c.agent.check.ttl_warn, "disk")
    await in_thread(c.agent.maintenance, "true", "patching")
    await in_thread(c.agent.service.maintenance, "web-1", "true", "draining")
    before_services = await in_thread(c.agent.services)
    before_checks = await in_thread(c.agent.checks)
    assert state_path(str(tmp_path)).exists()
    await running.stop()

    ctx, running = await start_agent(nursery, cfg)
    c = client_for(ctx)
    assert await in_thread(c.agent.services) == before_services
    after = await in_thread(c.agent.checks)
    assert set(after) == {"service:web-1", "disk", "_node_maintenance", "_service_maintenance:web-1"}
    assert (after["service:web-1"]["Status"], after["service:web-1"]["Output"]) == ("passing", "ready")
    assert after["disk"]["Status"] == before_checks["disk"]["Status"] == "warning"
    assert after["_node_maintenance"]["Notes"] == "patching"
    assert after["_service_maintenance:web-1"]["Notes"] == "draining"
    await until_catalog(ctx, lambda: _catalog_check_ids(ctx) >= set(after))
    await running.stop()


def _catalog_check_ids(ctx) -> set[str]:  # type: ignore[no-untyped-def]
    return {chk.check_id for chk in ctx.backend.store.node_checks(ctx.config.node_name)[1]}
