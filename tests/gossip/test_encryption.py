"""Gossip encryption end to end: same key joins, a wrong or missing key cannot and says why, and the
keyring rotates cluster-wide over /v1/operator/keyring (and persists in serf/local.keyring)."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from actors.gossip.wire import NO_KEY, NOT_CONFIGURED, NOT_ENCRYPTED
from tests.gossip.cluster import agent_config, gossip_of, lan_address, start_agent, start_agents, statuses, until
from tests.support.http_client import call

KEY1 = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
KEY2 = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo0NTY3ODk="
KEY3 = "AAECAwQFBgcICQoLDA0ODw=="


async def test_same_key_joins_and_traffic_is_sealed(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctxs = await start_agents(nursery, tmp_path, 3, encrypt=KEY1)
    await until(lambda: all(len(statuses(c)) == 3 for c in ctxs), ctxs, 10, "encrypted cluster")
    await gossip_of(ctxs[1]).fire_event("sealed", b"secret")
    with trio.fail_after(5):
        while not all(gossip_of(c).events.events("sealed") for c in ctxs):
            await gossip_of(ctxs[2]).events.wait_changed(gossip_of(ctxs[2]).events.version, trio.current_time() + 0.2)
    self_doc = (await call(ctxs[0].http_addr, "GET", "/v1/agent/self")).json()
    assert self_doc["Stats"]["serf_lan"]["encrypted"] == "true"
    assert all(sum(gossip_of(c).lan.drops.values()) == 0 for c in ctxs)


async def test_wrong_or_missing_key_cannot_join_and_says_why(nursery: trio.Nursery, tmp_path: Path, caplog) -> None:
    (seed,) = await start_agents(nursery, tmp_path, 1, encrypt=KEY1)
    cases = [("wrong", KEY2, NO_KEY), ("plain", None, NOT_ENCRYPTED)]
    for name, key, reason in cases:
        ctx = await start_agent(nursery, agent_config(name, tmp_path, encrypt=key))
        reply = await call(ctx.http_addr, "PUT", f"/v1/agent/join/{lan_address(seed)}")
        assert reply.status == 500, name
        assert reply.text == (f"Failed to join {lan_address(seed)}: the remote agent refused our message: {reason}")
        assert statuses(ctx) == {name: "alive"} and statuses(seed) == {"n0": "alive"}
        assert any(r.getMessage() == "join failed" and reason in r.fields["error"] for r in caplog.records), name
    assert gossip_of(seed).lan.drops["decrypt_failed"] >= 1 and gossip_of(seed).lan.drops["unencrypted"] >= 1
    assert any(r.getMessage() == "gossip message dropped" and r.fields["reason"] == "decrypt_failed"
               and r.fields["detail"] == NO_KEY for r in caplog.records)
    # the other way round: an encrypted agent joining a cluster without encryption
    (plain,) = await start_agents(nursery, tmp_path, 1, prefix="p")
    ctx = await start_agent(nursery, agent_config("sealed", tmp_path, encrypt=KEY1))
    reply = await call(ctx.http_addr, "PUT", f"/v1/agent/join/{lan_address(plain)}")
    assert reply.status == 500 and reply.text.endswith(NOT_CONFIGURED)


async def test_keyring_install_use_remove_across_the_cluster(nursery: trio.Nursery, tmp_path: Path) -> None:
    server = await start_agent(nursery, agent_config("s0", tmp_path, encrypt=KEY1, server=True))
    ctxs = [server] + await start_agents(nursery, tmp_path, 2, encrypt=KEY1, join=False)
    for ctx in ctxs[1:]:
        assert (await gossip_of(ctx).join([lan_address(server)])).contacted == 1
    await until(lambda: all(len(statuses(c)) == 3 for c in ctxs), ctxs, 10, "encrypted cluster")
    http = ctxs[1].http_addr  # a client: keyring calls are forwarded to a server, as in Consul

    async def keyring(method: str, key: str | None = None):
        body = json.dumps({"Key": key}).encode() if key else b""
        return await call(http, method, "/v1/operator/keyring", body=body)

    listed = await keyring("GET")
    assert listed.status == 200
    wan_entry, lan_entry = listed.json()
    assert wan_entry == {"WAN": True, "Datacenter": "dc1", "Segment": "", "Messages": {}, "Keys": {KEY1: 1},
                         "PrimaryKeys": {KEY1: 1}, "NumNodes": 1}
    assert lan_entry == {"WAN": False, "Datacenter": "dc1", "Segment": "", "Messages": {}, "Keys": {KEY1: 3},
                         "PrimaryKeys": {KEY1: 3}, "NumNodes": 3}
    assert (await keyring("POST", KEY2)).status == 200
    assert (await keyring("GET")).json()[1]["Keys"] == {KEY1: 3, KEY2: 3}
    assert (await keyring("PUT", KEY2)).status == 200
    assert (await keyring("GET")).json()[1]["PrimaryKeys"] == {KEY2: 3}
    removed = await keyring("DELETE", KEY2)
    assert removed.status == 500 and "Removing the primary key is not allowed" in removed.text
    assert (await keyring("DELETE", KEY1)).status == 200
    assert [entry["Keys"] for entry in (await keyring("GET")).json()] == [{KEY2: 1}, {KEY2: 3}]
    unknown = await keyring("PUT", KEY3)
    assert unknown.status == 500 and "1/1 nodes reported failure" in unknown.text  # the WAN pool answers first
    assert (await keyring("POST", "not-a-key")).status == 400
    for ctx in ctxs:
        saved = json.loads((Path(ctx.config.data_dir) / "serf" / "local.keyring").read_text())
        assert saved == [KEY2]
    assert json.loads((Path(server.config.data_dir) / "serf" / "remote.keyring").read_text()) == [KEY2]
    # the rotated cluster still gossips, and only the new key gets in
    newcomer = await start_agent(nursery, agent_config("late", tmp_path, encrypt=KEY2))
    assert (await gossip_of(newcomer).join([lan_address(ctxs[0])])).contacted == 1
    await until(lambda: all(len(statuses(c)) == 4 for c in [*ctxs, newcomer]), [*ctxs, newcomer], 10, "newcomer")


async def test_keyring_calls_fail_when_encryption_is_off(nursery: trio.Nursery, tmp_path: Path) -> None:
    ctx = await start_agent(nursery, agent_config("s0", tmp_path, server=True))
    for method, body in (("GET", b""), ("POST", b'{"Key": "%s"}' % KEY1.encode()), ("PUT", b"{}"), ("DELETE", b"")):
        reply = await call(ctx.http_addr, method, "/v1/operator/keyring", body=body)
        assert reply.status == 500 and "encryption not enabled" in reply.text, method


async def test_a_saved_keyring_wins_over_encrypt_on_restart(nursery: trio.Nursery, tmp_path: Path) -> None:
    cfg = agent_config("k", tmp_path, encrypt=KEY1)
    keyring_file = Path(cfg.data_dir) / "serf" / "local.keyring"
    keyring_file.parent.mkdir(parents=True)
    keyring_file.write_text(json.dumps([KEY2, KEY1]))
    ctx = await start_agent(nursery, cfg)
    assert gossip_of(ctx).lan.keyring.strings() == [KEY2, KEY1]
