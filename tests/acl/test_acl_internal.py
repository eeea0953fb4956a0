"""ACLs on the server port's internal calls: a client agent's anti-entropy (`ApplyCommand`, `NodeView`).

The server port is not trusted: with ACLs on and ``default_policy = "deny"``,

* an `ApplyCommand` is authorized with the token it carries exactly like ``/v1/catalog/register`` /
  ``deregister``: without a token, with an unknown or an unprivileged one it is refused (typed, as data)
  and nothing is written; an empty token is ``anonymous`` even when the server has a default token;
  only the catalog commands anti-entropy sends are accepted at all;
* a `NodeView` shows only what its token may read; `ACLResolve` answers only about the secret it is
  given (never a secret, no lookup by accessor ID or anything else);
* a client agent syncs with the tokens Consul uses: the node with its agent token, a service with its
  own registration token, a config-file service with ``config_file_service_registration`` (the agent
  token is not a fallback there); a refused sync is logged (no secret) and retried, never crashing
  anything, and the service appears once a token allows it;
* with ACLs off nothing changes; messages from peers without the token field still decode.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
import trio
from msgspec.structs import replace

from actors.acl.agent_tokens import AgentTokens
from actors.agent import serve_agent
from actors.catalog.ops import (
    DeregisterCheck,
    DeregisterService,
    Op,
    RegisterCheck,
    RegisterNode,
    RegisterService,
    UpdateCheck,
    to_command,
)
from actors.catalog.syncer import CatalogSyncer
from actors.catalog.tokens import agent_token, command_token
from actors.context import AgentContext
from actors.forward.client import known_servers
from actors.acl.remote_resolver import answer_resolve
from actors.forward.messages import (
    ACL_REFUSED,
    ACLResolve,
    ApplyCommand,
    ApplyOutcome,
    ForwardRequest,
    NodeView,
    NodeViewResult,
)
from actors.forward.server import http_forward_server
from actors.state.commands import CheckUpdate, Command, KVSet, NodeDeregister, NodeRegister, encode_command
from actors.local.persist import decode, encode, snapshot
from actors.local.records import SOURCE_CONFIG, LocalCheck, LocalService
from actors.local.state import LocalState
from actors.state.models import HealthCheck, Node, NodeService
from runtime.messages import Message
from tests.acl.matrix_kit import ROOT, Kit, acl_dev_config, start_kit
from tests.acl.test_acl_forwarded import agent_config, ok, token_with
from tests.cluster.cluster_kit import wait_for

TIMEOUT = 30.0
UNKNOWN = "00000000-0000-4000-8000-00000000beef"
EVIL = NodeRegister(node="evil", address="10.6.6.6", service=NodeService(id="x1", service="x"),
                    checks=[HealthCheck(node="evil", check_id="x-alive", name="alive", status="passing",
                                        service_id="x1")])


async def apply(kit: Kit, command: Command, token: str = "") -> ApplyOutcome:
    with trio.fail_after(TIMEOUT):
        outcome = await http_forward_server(kit.ctx).handle(ApplyCommand(command=encode_command(command), token=token))
    assert isinstance(outcome, ApplyOutcome)
    return outcome


async def view(kit: Kit, node: str, token: str = "") -> NodeViewResult:
    with trio.fail_after(TIMEOUT):
        result = await http_forward_server(kit.ctx).handle(NodeView(node=node, token=token))
    assert isinstance(result, NodeViewResult)
    return result


def store_of(kit: Kit) -> Any:
    assert kit.ctx.backend is not None
    return kit.ctx.backend.store


@pytest.fixture
async def kit(nursery: trio.Nursery) -> Kit:
    made = await start_kit(nursery, acl_dev_config())
    await made.seed()
    return made


async def test_apply_command_without_a_privileged_token_writes_nothing(kit: Kit) -> None:
    store = store_of(kit)
    key_reader = await kit.token_for('key_prefix "" { policy = "read" }')
    node_only = await kit.token_for('node "evil" { policy = "write" }')
    # the server's own default token must not stand in for a missing one
    await kit.root("PUT", "/v1/agent/token/default", {"Token": ROOT})
    for token, text in (("", "Permission denied"), (key_reader, "Permission denied"), (UNKNOWN, "ACL not found"),
                        (node_only, "lacks permission 'service:write' on \"x\"")):
        outcome = await apply(kit, EVIL, token)
        assert outcome.error is not None and outcome.error.kind == ACL_REFUSED, token
        assert text in outcome.error.message and (not token or token not in outcome.error.message)
        assert store.node_services("evil")[1] is None and store.node_check("evil", "x-alive") is None
    # deregistrations and check updates of others' records are refused too, and change nothing
    for command in (NodeDeregister(node="n2"), NodeDeregister(node="n2", service_id="db-n2"),
                    NodeDeregister(node="n2", check_id="n2-alive"),
                    CheckUpdate(node="n2", check_id="n2-alive", status="critical", output="pwned")):
        outcome = await apply(kit, command, key_reader)
        assert outcome.error is not None and outcome.error.kind == ACL_REFUSED, command
    assert "db-n2" in store.node_services("n2")[1].services
    assert store.node_check("n2", "n2-alive").status == "passing"
    # only catalog commands travel this way, whoever sends them
    outcome = await apply(kit, KVSet(key="app/pwned", value=b"x"), ROOT)
    assert outcome.error is not None and "not a catalog command" in outcome.error.message
    assert store.kv_get("app/pwned")[1] is None


async def test_apply_command_with_the_agent_token_applies(kit: Kit) -> None:
    store = store_of(kit)
    agent = await kit.token_for('node "evil" { policy = "write" }\nservice "x" { policy = "write" }')
    outcome = await apply(kit, EVIL, agent)
    assert outcome.error is None and outcome.index > 0
    assert "x1" in store.node_services("evil")[1].services
    outcome = await apply(kit, CheckUpdate(node="evil", check_id="x-alive", status="critical", output="down"), agent)
    assert outcome.error is None and store.node_check("evil", "x-alive").status == "critical"
    # a service-only token can keep its service registered on the existing node, not touch the node
    svc_only = await kit.token_for('service "x" { policy = "write" }')
    assert (await apply(kit, replace(EVIL, checks=[], skip_node_update=True), svc_only)).error is None
    moved = await apply(kit, replace(EVIL, address="10.7.7.7", checks=[]), svc_only)
    assert moved.error is not None and "'node:write' on \"evil\"" in moved.error.message
    assert store.node_services("evil")[1].node.address == "10.6.6.6"
    assert (await apply(kit, NodeDeregister(node="evil", service_id="x1"), agent)).error is None
    assert "x1" not in store.node_services("evil")[1].services


async def test_node_view_holds_only_what_the_token_may_read(kit: Kit) -> None:
    everything = await view(kit, "n2", ROOT)
    assert everything.error is None and "db-n2" in everything.services.services
    assert [c.check_id for c in everything.checks] == ["n2-alive"]
    anonymous = await view(kit, "n2")
    assert anonymous.error is None and anonymous.services is None and anonymous.checks == []
    node_reader = await kit.token_for('node "n2" { policy = "read" }')
    partial = await view(kit, "n2", node_reader)
    assert partial.services is not None and partial.services.services == {}  # db not readable
    assert [c.check_id for c in partial.checks] == ["n2-alive"]  # a node check
    both = await view(kit, "n2", await kit.token_for('node "n2" { policy = "read" }\nservice "db" { policy = "read" }'))
    assert list(both.services.services) == ["db-n2"]
    unknown = await view(kit, "n2", UNKNOWN)
    assert unknown.error is not None and unknown.error.kind == ACL_REFUSED and unknown.services is None


async def test_without_acls_internal_calls_are_unchanged(nursery: trio.Nursery) -> None:
    kit = await start_kit(nursery, acl_dev_config(enabled=False))
    outcome = await apply(kit, EVIL)
    assert outcome.error is None and "x1" in store_of(kit).node_services("evil")[1].services
    seen = await view(kit, "evil")
    assert seen.error is None and "x1" in seen.services.services and len(seen.checks) == 1


async def test_acl_resolve_answers_only_about_the_secret_given(kit: Kit) -> None:
    reader = await kit.token_for('key_prefix "app/" { policy = "read" }')
    accessor = (await kit.call("GET", "/v1/acl/token/self", token=reader))
    accessor_id = json.loads(bytes(accessor.body))["AccessorID"]
    known = [reader, ROOT, *kit.tokens.values()]
    answer = await answer_resolve(kit.ctx, ACLResolve(secret=reader))
    assert answer.found and answer.accessor_id == accessor_id and not answer.management
    assert [rules for _, _, rules in answer.policies] == ['key_prefix "app/" { policy = "read" }']
    wire = msgspec.msgpack.encode(answer).decode(errors="replace")
    assert not any(secret in wire for secret in known)  # not even its own secret
    for probe in (accessor_id, "", UNKNOWN, reader.upper(), reader[:-1]):  # no lookup by anything else
        assert (await answer_resolve(kit.ctx, ACLResolve(secret=probe))).found is False, probe


def test_messages_of_peers_without_the_token_field_still_decode() -> None:
    class OldApplyCommand(Message, tag="forward.apply_command"):
        command: bytes

    class OldNodeViewResult(Message, tag="forward.node_view_result"):
        index: int

    old = msgspec.msgpack.decode(msgspec.msgpack.encode(OldApplyCommand(command=b"c")), type=ForwardRequest)
    assert old == ApplyCommand(command=b"c", token="")
    new = msgspec.msgpack.encode(ApplyCommand(command=b"c", token="s"))
    assert msgspec.msgpack.decode(new, type=OldApplyCommand) == OldApplyCommand(command=b"c")
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(OldNodeViewResult(index=3)),
                                  type=NodeViewResult) == NodeViewResult(index=3)


# -- a client agent's anti-entropy -------------------------------------------------------------------


def test_each_sync_call_carries_the_token_consul_would_use() -> None:
    tokens = SimpleNamespace(agent=None, default=None, config_file_service_registration=None)
    ctx: Any = SimpleNamespace(config=SimpleNamespace(acl=SimpleNamespace(tokens=tokens)))
    store = AgentTokens(ctx)
    state = LocalState()
    state.put_service(LocalService(id="own1", name="own", token="svc-secret"),
                      [LocalCheck(id="own-chk", name="c", service_id="own1", token="svc-secret")], now=0.0)
    state.put_service(LocalService(id="cfg1", name="cfg", source=SOURCE_CONFIG), [], now=0.0)
    state.put_service(LocalService(id="api1", name="api"), [], now=0.0)
    state.put_check(LocalCheck(id="node-chk", name="n"), now=0.0)
    node = Node(id="00000000-0000-4000-8000-000000000001", node="c1", address="10.0.0.1", datacenter="dc1")

    def token(op: Op) -> str:
        return command_token(to_command(op, node), state, store)

    service = RegisterService
    everything = [RegisterNode(), DeregisterService("own1"), DeregisterCheck("own-chk"),
                  service(NodeService(id="own1", service="own")), service(NodeService(id="cfg1", service="cfg")),
                  service(NodeService(id="api1", service="api")), UpdateCheck("own-chk", "passing", ""),
                  RegisterCheck(HealthCheck(node="c1", check_id="node-chk", name="n")),
                  service(NodeService(id="gone", service="gone"))]
    assert [token(op) for op in everything] == ["", "", "", "svc-secret", "", "", "svc-secret", "", ""]
    store.set("default", "D")
    assert [token(op) for op in everything] == ["D", "D", "D", "svc-secret", "D", "D", "svc-secret", "D", "D"]
    store.set("agent", "A")
    store.set("config_file_service_registration", "F")
    # node, reads and deregistrations: the agent token; services and checks: their own, else the
    # config-file token (config definitions only), else the default one
    assert [token(op) for op in everything] == ["A", "A", "A", "svc-secret", "F", "D", "svc-secret", "D", "D"]
    assert agent_token(store) == "A"
    # the registration token survives a restart of the agent (the persisted state keeps it)
    restored = decode(encode(snapshot(state, lambda t: t)))
    assert {s.id: s.token for s in restored.services}["own1"] == "svc-secret"
    assert {c.id: c.token for c in restored.checks}["own-chk"] == "svc-secret"
    tokens.agent = "from-config"
    assert agent_token(AgentTokens(ctx)) == "from-config"


def syncer_of(ctx: AgentContext) -> CatalogSyncer:
    (syncer,) = [cell.actor for cell in ctx.tree.cells.values() if isinstance(cell.actor, CatalogSyncer)]
    return syncer


async def test_client_agent_syncs_with_the_tokens_consul_uses(nursery: trio.Nursery, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)
    server_cfg = agent_config(tmp_path, "s1", ["-server", "-bootstrap-expect", "1"])
    server: AgentContext = await nursery.start(lambda task_status: serve_agent(server_cfg, task_status=task_status))
    assert server.backend is not None
    store = server.backend.store
    with trio.fail_after(60):
        await wait_for(lambda: store.acl_token_by_secret(ROOT)[1] is not None, TIMEOUT, "the management token")
        agent_token = await token_with(server, "c1-agent", 'node "c1" { policy = "write" }\n'
                                                           'service_prefix "" { policy = "read" }')
        web_token = await token_with(server, "web", 'service "web" { policy = "write" }')
        api_token = await token_with(server, "api", 'service "api" { policy = "write" }')

        client_cfg = agent_config(tmp_path, "c1", ["-retry-join", f"127.0.0.1:{server_cfg.ports.serf_lan}",
                                                   "-retry-interval", "1s", "-node-meta", "rack:r1"])
        client_cfg = replace(client_cfg, services=[{"name": "web", "port": 80}])
        client: AgentContext = await nursery.start(lambda task_status: serve_agent(client_cfg,
                                                                                   task_status=task_status))
        await wait_for(lambda: bool(known_servers(client)), TIMEOUT, "the client to see the server")
        syncer = syncer_of(client)

        def synced() -> set[str]:
            found = store.node_services("c1")[1]
            return set() if found is None else set(found.services)

        def held() -> list[str]:
            return syncer.statistics()["held"]

        # no token at all: the node's own registration is refused (anonymous cannot even read the node)
        await syncer.request_sync()
        assert "node:" in held() and "Permission denied" in syncer.last_error
        before = store.node_services("c1")[1]
        assert before is None or "rack" not in before.node.meta  # (the leader registers only what gossip says)
        # the agent token (set through the API: a full sync of everything follows) registers the node;
        # the config-file service has no token of its own, and the agent token does not stand in for
        # one: refused, logged without any secret, held back for a retry, and it never appears
        await ok(client, "PUT", "/v1/agent/token/agent", {"Token": agent_token})
        await wait_for(lambda: "service:web" in held() and "node:" not in held(), TIMEOUT,
                       "the node synced and the config-file service refused")
        assert "lacks permission 'service:write' on \"web\"" in syncer.last_error
        assert "web" not in synced()
        assert store.node_services("c1")[1].node.meta["rack"] == "r1"  # the node itself: agent token
        assert [cell.path for cell in client.tree.cells.values() if cell.restarts] == []

        # anyone on the server port without a token: refused, nothing written, nothing shown
        forward = client.extras["forward.client"]
        address = known_servers(client)[0]
        evil = replace(EVIL, node="c1")
        outcome = await forward.call(address, ApplyCommand(command=encode_command(evil)), timeout=TIMEOUT)
        assert outcome.error is not None and outcome.error.kind == ACL_REFUSED
        assert "x1" not in synced()
        shown = await forward.call(address, NodeView(node="s1"), timeout=TIMEOUT)
        assert shown.services is None and shown.checks == []

        # a default token that may write it: the change triggers a full sync, which registers it; an
        # API registration syncs with its own token
        await ok(client, "PUT", "/v1/agent/token/default", {"Token": web_token})
        await wait_for(lambda: "web" in synced(), TIMEOUT, "the config-file service in the catalog")
        await ok(client, "PUT", "/v1/agent/service/register", {"ID": "api1", "Name": "api", "Port": 81}, api_token)
        await syncer.request_sync()
        assert "api1" in synced()
        failures = syncer.failures
        await syncer.request_sync()
        assert syncer.failures == failures

        # the service's own token left the local state for no view
        listed = await ok(client, "GET", "/v1/agent/services")
        assert api_token not in msgspec.json.encode(listed).decode()

        assert [cell.path for cell in client.tree.cells.values() if cell.restarts] == []
    text = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')} {r.exc_text or ''}" for r in caplog.records)
    for secret in (agent_token, web_token, api_token):
        assert secret not in text
