"""The gossip CLI commands against in-process agents (each command runs in a worker thread, as it is
blocking code): members' table, join, event, force-leave, keyring, keygen, leave."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import trio

from actors.cli import main as cli_main
from actors.cli.members_cmd import standard_rows
from tests.gossip.cluster import agent_config, gossip_of, lan_address, start_agent, start_agents, statuses, until

KEY = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="


async def cli(capsys: pytest.CaptureFixture[str], ctx, *argv: str) -> tuple[int, str, str]:
    host, port = ctx.http_addr
    args = [argv[0], "-http-addr", f"{host}:{port}", *argv[1:]]
    code = await trio.to_thread.run_sync(cli_main, args)
    out, err = capsys.readouterr()
    return code, out, err


def columns_of(line: str, header: str) -> list[int]:
    """Where each header column starts, which every row must share (columnize alignment)."""
    return [header.index(name) for name in header.split()]


async def test_members_table_and_filters(nursery: trio.Nursery, tmp_path: Path, capsys) -> None:
    server = await start_agent(nursery, agent_config("zz-server", tmp_path, server=True))
    ctxs = [server] + await start_agents(nursery, tmp_path, 2, join=False, prefix="client-")
    for ctx in ctxs[1:]:
        assert (await gossip_of(ctx).join([lan_address(server)])).contacted == 1
    await until(lambda: all(len(statuses(c)) == 3 for c in ctxs), ctxs, 10, "joined")
    code, out, _ = await cli(capsys, ctxs[1], "members")
    assert code == 0
    header, *rows = out.rstrip("\n").split("\n")
    assert header.split() == ["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"]
    starts = columns_of(header, header)
    for row in rows:
        for start in starts[1:]:
            assert row[start - 2:start] == "  " and row[start] != " "
    assert [r.split() for r in rows] == [
        ["zz-server", lan_address(server), "alive", "server", "1.20.0", "2", "dc1", "default", "<all>"],
        ["client-0", lan_address(ctxs[1]), "alive", "client", "1.20.0", "2", "dc1", "default", "<default>"],
        ["client-1", lan_address(ctxs[2]), "alive", "client", "1.20.0", "2", "dc1", "default", "<default>"],
    ]
    code, out, _ = await cli(capsys, ctxs[1], "members", "-status", "fail")
    assert code == 2 and out == ""
    code, out, _ = await cli(capsys, ctxs[1], "members", "-detailed")
    assert code == 0 and out.split("\n")[0].split() == ["Node", "Address", "Status", "Tags"]
    assert "role=consul" in out and f"id={server.node_id}" in out
    code, out, _ = await cli(capsys, server, "members", "-wan")
    assert code == 0 and out.split("\n")[1].split()[:4] == ["zz-server.dc1", lan_address(server).split(":")[0]
                                                             + f":{gossip_of(server).wan.port}", "alive", "server"]
    code, _, err = await cli(capsys, ctxs[1], "members", "-nope")
    assert code == 1 and "flag provided but not defined: -nope" in err


def test_status_names_and_unknown_roles() -> None:
    rows = standard_rows([{"Name": "x", "Addr": "::1", "Port": 1, "Tags": {"role": "other"}, "Status": 4}])
    assert rows[1] == ["x", "[::1]:1", "failed", "unknown", "", "", "", "", ""]


async def test_join_event_force_leave_and_leave_commands(nursery: trio.Nursery, tmp_path: Path, capsys) -> None:
    ctxs = await start_agents(nursery, tmp_path, 3, join=False)
    code, out, _ = await cli(capsys, ctxs[1], "join", lan_address(ctxs[0]))
    assert code == 0 and out == "Successfully joined cluster by contacting 1 nodes.\n"
    code, out, err = await cli(capsys, ctxs[2], "join", "127.0.0.1:1", lan_address(ctxs[0]))
    assert code == 0 and "Error joining address '127.0.0.1:1'" in err and "contacting 1 nodes" in out
    code, _, err = await cli(capsys, ctxs[2], "join", "127.0.0.1:1")
    assert code == 1 and err.strip().endswith("Failed to join any nodes.")
    await until(lambda: all(len(statuses(c)) == 3 for c in ctxs), ctxs, 10, "joined")
    code, out, _ = await cli(capsys, ctxs[0], "event", "-name", "deploy", "-node", "n[12]", "payload")
    assert code == 0 and out.startswith("Event ID: ")
    event_id = out.split()[-1]
    with trio.fail_after(5):
        for ctx in ctxs[1:]:
            log = gossip_of(ctx).events
            while not log.events("deploy"):
                await log.wait_changed(log.version, trio.current_time() + 5)
            assert log.events("deploy")[0].id == event_id and log.events("deploy")[0].payload == b"payload"
    assert gossip_of(ctxs[0]).events.events() == []  # the node filter keeps it off n0
    code, _, err = await cli(capsys, ctxs[0], "event", "-tag", "x", "-name", "y")
    assert code == 1 and "Cannot provide tag filter without service filter." in err
    code, _, err = await cli(capsys, ctxs[0], "force-leave", "ghost")
    assert code == 1 and "No node found with name 'ghost'" in err
    code, out, _ = await cli(capsys, ctxs[2], "leave")
    assert code == 0 and out == "Graceful leave complete\n"
    await until(lambda: statuses(ctxs[0])["n2"] == "left", ctxs[:1], 10, "n2 left")


async def test_keyring_and_keygen_commands(nursery: trio.Nursery, tmp_path: Path, capsys) -> None:
    server = await start_agent(nursery, agent_config("s", tmp_path, server=True, encrypt=KEY))
    code, out, _ = await cli(capsys, server, "keyring", "-list")
    assert code == 0
    assert out.split("\n") == ["==> Gathering installed encryption keys...", "", "WAN:", f"  {KEY} [1/1]", "",
                               "dc1 (LAN):", f"  {KEY} [1/1]", ""]
    code = await trio.to_thread.run_sync(cli_main, ["keygen"])
    new_key = capsys.readouterr().out.strip()
    assert code == 0 and len(base64.b64decode(new_key)) == 32
    code, out, _ = await cli(capsys, server, "keyring", "-install", new_key)
    assert code == 0 and out == "==> Installing new gossip encryption key...\n"
    code, _, err = await cli(capsys, server, "keyring", "-remove", KEY)
    assert code == 1 and "Removing the primary key is not allowed" in err
    code, _, err = await cli(capsys, server, "keyring", "-list", "-use", new_key)
    assert code == 1 and "Only a single action is allowed" in err
    plain = await start_agent(nursery, agent_config("plain", tmp_path, server=True))
    code, _, err = await cli(capsys, plain, "keyring", "-list")
    assert code == 1 and err.startswith("error: ") and "encryption not enabled" in err
