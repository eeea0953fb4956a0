"""The agent end to end in one process: HTTP API basics, the inspector (JSON and websocket), fault injection."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import msgspec
import pytest
import trio
from trio_websocket import open_websocket_url

from actors.agent import serve_agent
from actors.context import AgentContext
from actors.flags import parse_agent_flags
from runtime.actor import Actor
from runtime.messages import Message
from runtime.supervisor import ChildSpec
from tests.support.http_client import call


class Tick(Message, tag="test.tick"):
    pass


class Probe(Actor):
    """A trivial actor the tests crash through the inspector's fault injection."""

    kind = "probe"
    Inbox = Tick

    async def handle(self, message: Tick) -> str:
        return "tock"


def dev_config(*extra: str) -> Any:
    """A -dev config whose HTTP listener binds an ephemeral port (Consul's flags treat <= 0 as "off",
    so the port is set on the parsed config, as only in-process tests need it)."""
    cfg = parse_agent_flags(["-dev", "-node", "n1", *extra], hostname="testhost")
    return msgspec.structs.replace(cfg, ports=msgspec.structs.replace(cfg.ports, http=0, dns=-1, serf_lan=0, serf_wan=0))


@pytest.fixture
async def agent(nursery: trio.Nursery) -> AsyncIterator[AgentContext]:
    cfg = dev_config("-enable-fault-injection")
    ctx = await nursery.start(lambda task_status: serve_agent(cfg, extra_children=[ChildSpec("probe", Probe)], task_status=task_status))
    assert ctx.http_addr is not None
    yield ctx


async def test_agent_self_and_status(agent: AgentContext) -> None:
    reply = await call(agent.http_addr, "GET", "/v1/agent/self")
    assert reply.status == 200
    doc = reply.json()
    assert set(doc) == {"Config", "DebugConfig", "Coord", "Member", "Stats", "Meta", "xDS"}
    assert doc["Config"]["NodeName"] == "n1" and doc["Config"]["Datacenter"] == "dc1" and doc["Config"]["Server"] is True
    assert doc["Member"]["Name"] == "n1" and doc["Member"]["Status"] == 1
    assert all(isinstance(v, str) for section in doc["Stats"].values() for v in section.values())
    assert reply.headers["x-consul-default-acl-policy"] == "allow"
    leader = await call(agent.http_addr, "GET", "/v1/status/leader")
    assert leader.status == 200 and isinstance(leader.json(), str)


async def test_unknown_path_and_wrong_method(agent: AgentContext) -> None:
    reply = await call(agent.http_addr, "GET", "/v1/nope")
    assert reply.status == 404 and reply.text == "Invalid URL path: not a recognized HTTP API endpoint"
    assert reply.headers["content-type"].startswith("text/plain")
    reply = await call(agent.http_addr, "DELETE", "/v1/agent/self")
    assert reply.status == 405 and "GET" in reply.headers["allow"]


async def test_actor_tree_as_json(agent: AgentContext) -> None:
    reply = await call(agent.http_addr, "GET", "/v1/agent/actors")
    assert reply.status == 200
    root = reply.json()
    assert root["path"] == "agent:n1" and root["kind"] == "agent" and root["state"] == "running"
    paths = {child["path"]: child for child in root["children"]}
    assert set(paths) >= {"agent:n1/http", "agent:n1/probe"}
    http = paths["agent:n1/http"]
    assert http["kind"] == "http" and http["stats"]["requests_served"] >= 0
    assert set(http) == {"path", "kind", "state", "restarts", "last_error", "inbox", "handled", "dropped",
                         "started_at", "stats", "children"}


async def test_websocket_snapshot_then_update_after_crash(agent: AgentContext) -> None:
    host, port = agent.http_addr
    async with open_websocket_url(f"ws://{host}:{port}/v1/agent/actors") as ws:
        with trio.fail_after(10):
            first = json.loads(await ws.get_message())
            assert first["type"] == "snapshot"
            probe = next(c for c in first["tree"]["children"] if c["path"] == "agent:n1/probe")
            assert probe["restarts"] == 0

            reply = await call(agent.http_addr, "PUT", "/v1/agent/actors/crash?path=agent:n1/probe")
            assert reply.status == 200 and reply.json() is True

            seen: dict[str, Any] = {}
            while not (seen.get("restarts") == 1 and seen.get("state") == "running"):
                frame = json.loads(await ws.get_message())
                assert frame["type"] == "update"
                for node in frame["changed"]:
                    if node["path"] == "agent:n1/probe":
                        seen = node
            assert seen["last_error"] == {"type": "InjectedCrash", "message": "crash injected at agent:n1/probe"}
            assert seen["parent"] == "agent:n1"
    # The sibling HTTP listener was never restarted by the probe's crash.
    tree = (await call(agent.http_addr, "GET", "/v1/agent/actors")).json()
    http = next(c for c in tree["children"] if c["path"] == "agent:n1/http")
    assert http["restarts"] == 0


async def test_fault_injection_errors(agent: AgentContext) -> None:
    reply = await call(agent.http_addr, "PUT", "/v1/agent/actors/crash?path=agent:n1/nope")
    assert reply.status == 404 and "No actor at path" in reply.text
    reply = await call(agent.http_addr, "PUT", "/v1/agent/actors/crash")
    assert reply.status == 400 and "Missing actor path" in reply.text


async def test_fault_injection_is_off_by_default(nursery: trio.Nursery) -> None:
    cfg = dev_config()
    ctx = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
    reply = await call(ctx.http_addr, "PUT", "/v1/agent/actors/crash?path=agent:n1/http")
    assert reply.status == 404
    tree = (await call(ctx.http_addr, "GET", "/v1/agent/actors")).json()
    assert tree["children"][0]["restarts"] == 0


async def test_cli_watch_follows_the_websocket(agent: AgentContext) -> None:
    """``proconsul actors -watch`` keeps a path-indexed copy of the tree from snapshot + update frames."""
    from actors.cli.actors_cmd import apply_frame, rebuild

    host, port = agent.http_addr
    flat: dict[str, Any] = {}
    async with open_websocket_url(f"ws://{host}:{port}/v1/agent/actors") as ws:
        with trio.fail_after(10):
            flat = apply_frame(flat, json.loads(await ws.get_message()))
            await call(agent.http_addr, "PUT", "/v1/agent/actors/crash?path=agent:n1/probe")
            while flat["agent:n1/probe"]["restarts"] != 1 or flat["agent:n1/probe"]["state"] != "running":
                flat = apply_frame(flat, json.loads(await ws.get_message()))
    root = rebuild(flat)
    assert root is not None and root["path"] == "agent:n1"
    probe = next(child for child in root["children"] if child["path"] == "agent:n1/probe")
    assert probe["last_error"]["type"] == "InjectedCrash"
