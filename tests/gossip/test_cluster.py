"""Gossip end to end in one Trio run: agents on loopback join, fail, leave, gossip events, survive garbage."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from tests.gossip.cluster import agent_config, gossip_of, lan_address, start_agent, start_agents, statuses, until
from tests.support.http_client import call


async def test_five_agents_join_through_one_and_all_see_all_alive(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctxs = await start_agents(nursery, tmp_path, 5)
    names = {f"n{i}" for i in range(5)}
    await until(lambda: all(statuses(c) == dict.fromkeys(names, "alive") for c in ctxs), ctxs, 10, "all alive")
    reply = await call(ctxs[3].http_addr, "GET", "/v1/agent/members")
    assert reply.status == 200
    members = reply.json()
    assert [m["Name"] for m in members] == sorted(names)
    first = members[0]
    assert set(first) == {"Name", "Addr", "Port", "Tags", "Status", "ProtocolMin", "ProtocolMax", "ProtocolCur",
                          "DelegateMin", "DelegateMax", "DelegateCur"}
    assert first["Status"] == 1 and first["Addr"] == "127.0.0.1" and first["Port"] == gossip_of(ctxs[0]).lan.port
    assert first["Tags"]["role"] == "node" and first["Tags"]["dc"] == "dc1" and first["Tags"]["id"] == ctxs[0].node_id
    assert {"vsn", "build"} <= set(first["Tags"])
    own = (await call(ctxs[2].http_addr, "GET", "/v1/agent/self")).json()
    assert own["Member"] == next(m for m in members if m["Name"] == "n2")
    assert own["Stats"]["serf_lan"]["members"] == "5" and own["Stats"]["serf_lan"]["encrypted"] == "false"
    wan = await call(ctxs[0].http_addr, "GET", "/v1/agent/members?wan=1")
    assert wan.status == 200 and wan.json() == []


async def test_stopped_gossip_actor_is_marked_failed_then_force_left(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctxs = await start_agents(nursery, tmp_path, 5)
    await until(lambda: all(len(statuses(c)) == 5 for c in ctxs), ctxs, 10, "all joined")
    victim, survivors = ctxs[4], ctxs[:4]
    victim.tree.inject("agent:n4/gossip.lan", "stop")
    took = await until(lambda: all(statuses(c)["n4"] == "failed" for c in survivors), survivors, 10, "n4 failed")
    assert took < 8.0
    assert all(statuses(c)[f"n{i}"] == "alive" for c in survivors for i in range(4))
    reply = await call(ctxs[0].http_addr, "PUT", "/v1/agent/force-leave/nobody")
    assert reply.status == 500 and "No node found with name 'nobody'" in reply.text
    reply = await call(ctxs[0].http_addr, "PUT", "/v1/agent/force-leave/n4")
    assert reply.status == 200
    await until(lambda: all(statuses(c)["n4"] == "left" for c in survivors), survivors, 10, "n4 left")
    reply = await call(ctxs[1].http_addr, "PUT", "/v1/agent/force-leave/n4?prune")
    assert reply.status == 200
    await until(lambda: all("n4" not in statuses(c) for c in survivors), survivors, 10, "n4 pruned")


async def test_graceful_leave_is_left_not_failed_and_asks_for_shutdown(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctxs = await start_agents(nursery, tmp_path, 4)
    await until(lambda: all(len(statuses(c)) == 4 for c in ctxs), ctxs, 10, "all joined")
    leaver, others = ctxs[3], ctxs[:3]
    reply = await call(leaver.http_addr, "PUT", "/v1/agent/leave")
    assert reply.status == 200
    assert leaver.extras["shutdown"].is_set()
    await until(lambda: all(statuses(c)["n3"] == "left" for c in others), others, 10, "n3 left")
    leaver.tree.inject("agent:n3/gossip.lan", "stop")
    with trio.move_on_after(1.5):  # a left member must never turn into a failed one
        await until(lambda: any(statuses(c)["n3"] != "left" for c in others), others, 10)
    assert all(statuses(c)["n3"] == "left" for c in others)


async def test_user_events_reach_everyone_with_receiver_side_filters(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctxs = await start_agents(nursery, tmp_path, 4)
    await until(lambda: all(len(statuses(c)) == 4 for c in ctxs), ctxs, 10, "all joined")
    gossip_of(ctxs[2]).local_services = lambda: [("api", ["v2", "canary"])]

    async def listed(ctx, query: str = "") -> list[dict]:
        reply = await call(ctx.http_addr, "GET", f"/v1/event/list{query}")
        assert reply.status == 200 and int(reply.headers["x-consul-index"]) > 0
        return reply.json()

    assert await listed(ctxs[0]) == []
    fired = await call(ctxs[0].http_addr, "PUT", "/v1/event/fire/deploy", body=b"v42")
    assert fired.status == 200
    event = fired.json()
    assert event["Name"] == "deploy" and event["Payload"] == "djQy" and event["Version"] == 1 and event["LTime"] == 0
    await call(ctxs[0].http_addr, "PUT", "/v1/event/fire/only-n1?node=%5En1%24")
    await call(ctxs[0].http_addr, "PUT", "/v1/event/fire/canary?service=api&tag=canary")
    await call(ctxs[0].http_addr, "PUT", "/v1/event/fire/last")

    async def wait_for(ctx, expected: set[str]) -> set[str]:
        """Follow the blocking list until ``expected`` is there (gossip does not order events)."""
        index = 1
        while True:
            reply = await call(ctx.http_addr, "GET", f"/v1/event/list?index={index}&wait=5s")
            names = {e["Name"] for e in reply.json()}
            if names >= expected:
                return names
            index = int(reply.headers["x-consul-index"])

    with trio.fail_after(10):
        seen = [await wait_for(c, want) for c, want in zip(ctxs, [
            {"deploy", "last"}, {"deploy", "only-n1", "last"}, {"deploy", "canary", "last"}, {"deploy", "last"}])]
    assert seen == [{"deploy", "last"}, {"deploy", "only-n1", "last"}, {"deploy", "canary", "last"}, {"deploy", "last"}]
    on_n3 = await listed(ctxs[3], "?name=deploy")
    assert [e["ID"] for e in on_n3] == [event["ID"]] and on_n3[0]["LTime"] > 0
    reply = await call(ctxs[1].http_addr, "PUT", "/v1/event/fire/_rexec")
    assert reply.status == 400
    reply = await call(ctxs[1].http_addr, "PUT", "/v1/event/fire/big", body=b"x" * 600)
    assert reply.status == 413 and "limited to 300 bytes" in reply.text  # refused at the HTTP edge (CVE-2025-11375)
    reply = await call(ctxs[1].http_addr, "PUT", "/v1/event/fire/x?tag=a")
    assert reply.status == 500 and reply.text == "Cannot provide tag filter without service filter"


async def test_blocking_event_list_wakes_on_a_new_event(nursery: trio.Nursery, tmp_path: Path) -> None:
    (ctx,) = await start_agents(nursery, tmp_path, 1)
    first = await call(ctx.http_addr, "GET", "/v1/event/list")
    index = first.headers["x-consul-index"]
    assert index == "1"
    results: list = []

    async def block() -> None:
        results.append(await call(ctx.http_addr, "GET", f"/v1/event/list?index={index}&wait=30s", timeout=40))

    log = gossip_of(ctx).events
    async with trio.open_nursery() as inner:
        inner.start_soon(block)
        with trio.fail_after(5):
            while log.waiters == 0:  # the request is parked on the log
                await trio.sleep(0.01)
        assert results == []
        await gossip_of(ctx).fire_event("wake", b"")
    assert [e["Name"] for e in results[0].json()] == ["wake"] and results[0].headers["x-consul-index"] != index


async def test_malformed_datagrams_are_counted_and_dropped(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctxs = await start_agents(nursery, tmp_path, 2)
    await until(lambda: all(len(statuses(c)) == 2 for c in ctxs), ctxs, 10, "joined")
    target = gossip_of(ctxs[0]).lan
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    with sock:
        junks = (b"", b"\x01\xc1\xc1", b"\x02" + b"\x00" * 40, b"\x09garbage", bytes(range(200)),
                 b"\x01" + b"\x90" * 1500)
        for junk in junks:
            await sock.sendto(junk, target.address)
        udp = ctxs[0].tree.get("agent:n0/gossip.lan/udp")
        with trio.fail_after(5):
            while sum(target.drops.values()) < 5 or udp.snapshot().stats["oversized_in"] < 1:
                await trio.sleep(0.01)
    stats = ctxs[0].tree.get("agent:n0/gossip.lan/swim").snapshot().stats
    assert stats["dropped"] == 5 and set(stats["dropped_by"]) == {"empty", "undecodable", "bad_version",
                                                                  "unexpected_encryption"}
    assert ctxs[0].tree.get("agent:n0/gossip.lan/swim").state == "running"
    await gossip_of(ctxs[1]).fire_event("still-works", b"")
    with trio.fail_after(5):
        while not gossip_of(ctxs[0]).events.events("still-works"):
            await gossip_of(ctxs[0]).events.wait_changed(gossip_of(ctxs[0]).events.version, trio.current_time() + 5)


async def test_a_second_agent_with_a_taken_name_cannot_join(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctxs = await start_agents(nursery, tmp_path, 2)
    await until(lambda: all(len(statuses(c)) == 2 for c in ctxs), ctxs, 10, "joined")
    twin = await start_agent(nursery, agent_config("n1", tmp_path / "twin"))
    reply = await call(twin.http_addr, "PUT", f"/v1/agent/join/{lan_address(ctxs[0])}")
    assert reply.status == 500
    assert "conflicting node name" in reply.text and lan_address(ctxs[1]) in reply.text
    assert statuses(twin) == {"n1": "alive"}
    assert statuses(ctxs[0])["n1"] == "alive" and next(
        m for m in gossip_of(ctxs[0]).members() if m.name == "n1").port == gossip_of(ctxs[1]).lan.port


async def test_join_errors_name_each_address(nursery: trio.Nursery, tmp_path: Path) -> None:
    (ctx,) = await start_agents(nursery, tmp_path, 1)
    (port,) = __import__("tests.support.ports", fromlist=["free_ports"]).free_ports(1)
    reply = await call(ctx.http_addr, "PUT", f"/v1/agent/join/127.0.0.1:{port}")
    assert reply.status == 500 and reply.text.startswith(f"Failed to join 127.0.0.1:{port}:")
    reply = await call(ctx.http_addr, "PUT", "/v1/agent/join/127.0.0.1:notaport")
    assert reply.status == 500 and "invalid port" in reply.text


async def test_retry_join_and_servers_seen_through_gossip(nursery: trio.Nursery, tmp_path: Path) -> None:
    seed = await start_agent(nursery, agent_config("c0", tmp_path))
    server = await start_agent(nursery, agent_config("s1", tmp_path, "-retry-join", lan_address(seed),
                                                     "-bootstrap-expect", "3", server=True))
    client = await start_agent(nursery, agent_config("c2", tmp_path, "-retry-join", lan_address(seed),
                                                     "-retry-interval", "1s"))
    ctxs = [seed, server, client]
    await until(lambda: all(len(statuses(c)) == 3 for c in ctxs), ctxs, 10, "retry-join")
    (info,) = gossip_of(client).servers()
    assert info.name == "s1" and info.address == "127.0.0.1" and info.port == server.config.ports.server
    assert info.datacenter == "dc1" and info.bootstrap_expect == 3 and info.id == server.node_id
    assert gossip_of(seed).servers() == gossip_of(client).servers()
    assert [m.name for m in gossip_of(server).members(wan=True)] == ["s1.dc1"]
    assert [s.node for s in gossip_of(server).servers(wan=True)] == ["s1"]
    seen: list = []
    gossip_of(client).subscribe(lambda members, servers: seen.append((len(members), [s.name for s in servers])))
    version = gossip_of(client).version
    server.tree.inject("agent:s1/gossip.lan", "stop")
    await until(lambda: not gossip_of(client).servers(), [client], 10, "server gone from servers()")
    assert gossip_of(client).version > version and seen and seen[-1][1] == []
    members = json.loads((await call(client.http_addr, "GET", "/v1/agent/members")).body)
    assert next(m for m in members if m["Name"] == "s1")["Status"] == 4


async def test_a_restarted_gossip_actor_rejoins_and_refutes_its_death(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctxs = await start_agents(nursery, tmp_path, 4)
    await until(lambda: all(len(statuses(c)) == 4 for c in ctxs), ctxs, 10, "all joined")
    port = gossip_of(ctxs[3]).lan.port
    ctxs[3].tree.inject("agent:n3/gossip.lan", "stop")
    await until(lambda: all(statuses(c)["n3"] == "failed" for c in ctxs[:3]), ctxs[:3], 10, "n3 failed")
    ctxs[3].tree.inject("agent:n3/gossip.lan", "restart")
    await until(lambda: all(statuses(c) == {f"n{i}": "alive" for i in range(4)} for c in ctxs), ctxs, 10,
                "n3 back")
    assert gossip_of(ctxs[3]).lan.port == port  # the port first bound is kept across restarts
    assert next(m for m in gossip_of(ctxs[0]).members() if m.name == "n3").incarnation >= 1
    ctxs[1].tree.inject("agent:n1/gossip.lan/swim", "crash")  # a crashed shell rebuilds and rejoins its peers
    await until(lambda: ctxs[1].tree.get("agent:n1/gossip.lan/swim").restarts == 1 and len(statuses(ctxs[1])) == 4,
                ctxs, 10, "n1's shell back with all members")
