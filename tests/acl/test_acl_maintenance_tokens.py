"""Registration tokens of maintenance checks and of config-file definitions, as Consul keeps them.

* ``PUT /v1/agent/maintenance`` and ``/v1/agent/service/maintenance/<id>`` keep the request's token
  with the maintenance check (Consul's ``EnableNodeMaintenance``/``EnableServiceMaintenance`` pass it
  to ``AddCheck``), so anti-entropy registers the check with it;
* a ``token`` in a config-file service or check definition (Consul's ``Token``) is that service's (and
  its inline checks') or that check's registration token, ahead of ``config_file_service_registration``;
  a ``Token`` in an HTTP registration body is not (Consul uses the request's token there);
* end to end: a client agent under ``default_policy = "deny"`` syncs a config-file service with its own
  token, and a service maintenance check with the token of the request that enabled it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio
from msgspec.structs import replace

from actors.acl.agent_tokens import AgentTokens
from actors.agent import serve_agent
from actors.catalog.ops import RegisterCheck, RegisterService, UpdateCheck, to_command
from actors.catalog.tokens import command_token, registration_token
from actors.context import AgentContext
from actors.forward.client import known_servers
from actors.local.records import NODE_MAINT_CHECK_ID, service_maint_check_id
from actors.state.models import HealthCheck, Node, NodeService
from runtime.http import Request
from tests.acl.matrix_kit import ROOT
from tests.acl.test_acl_forwarded import agent_config, ok, token_with
from tests.cluster.cluster_kit import wait_for
from tests.local.conftest import Harness

TIMEOUT = 30.0
NODE = Node(id="00000000-0000-4000-8000-000000000001", node="n1", address="10.0.0.1", datacenter="dc1")


def tokens_with(**values: str | None) -> AgentTokens:
    tokens = SimpleNamespace(agent=None, default=None, config_file_service_registration=None)
    for name, value in values.items():
        setattr(tokens, name, value)
    return AgentTokens(SimpleNamespace(config=SimpleNamespace(acl=SimpleNamespace(tokens=tokens))))  # type: ignore[arg-type]


async def put(harness: Harness, target: str, headers: dict[str, str], body: Any = None) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    resp = await harness.router.dispatch(Request("PUT", target, headers, data))
    assert resp.status == 200, (target, resp.status, bytes(resp.body))


@pytest.fixture
async def harness(nursery: trio.Nursery) -> Harness:
    return await Harness().start(nursery, with_sync=False)


async def test_maintenance_checks_keep_the_requests_token(harness: Harness) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {"ID": "web1", "Name": "web"})
    await put(harness, "/v1/agent/maintenance?enable=true", {"X-Consul-Token": "node-secret"})
    await put(harness, "/v1/agent/service/maintenance/web1?enable=true&token=svc-secret", {})
    node_check = harness.check(NODE_MAINT_CHECK_ID)
    service_check = harness.check(service_maint_check_id("web1"))
    assert node_check.token == "node-secret" and service_check.token == "svc-secret"
    tokens = tokens_with(default="D", agent="A")
    state = harness.local.state
    for check, expected in ((node_check, "node-secret"), (service_check, "svc-secret")):
        assert registration_token(check, tokens) == expected
        health = HealthCheck(node="n1", check_id=check.id, name=check.name, service_id=check.service_id)
        assert command_token(to_command(RegisterCheck(health), NODE), state, tokens) == expected
        assert command_token(to_command(UpdateCheck(check.id, "critical", ""), NODE), state, tokens) == expected
    # the token is never shown
    listed = await harness.ok("GET", "/v1/agent/checks")
    assert "node-secret" not in json.dumps(listed) and "svc-secret" not in json.dumps(listed)
    # without a token: none kept (the default token is used at sync time)
    await put(harness, "/v1/agent/maintenance?enable=false", {})
    await put(harness, "/v1/agent/maintenance?enable=true", {})
    assert harness.check(NODE_MAINT_CHECK_ID).token == ""


async def test_config_file_definitions_sync_with_their_own_token(nursery: trio.Nursery) -> None:
    services = [{"name": "web", "port": 80, "token": "web-secret", "check": {"ttl": "10s"}},
                {"name": "plain", "port": 81}]
    checks = [{"name": "disk", "ttl": "10s", "Token": "disk-secret"}]
    harness = Harness(services=services, checks=checks)
    await harness.start(nursery, with_sync=False)
    await harness.local.load()
    state = harness.local.state
    assert state.service("web").token == "web-secret"
    assert state.check("service:web").token == "web-secret"  # inline checks share the service's
    assert state.check("disk").token == "disk-secret"
    assert state.service("plain").token == ""
    tokens = tokens_with(default="D", config_file_service_registration="F")

    def token_for(service_id: str) -> str:
        return command_token(to_command(RegisterService(NodeService(id=service_id, service=service_id)), NODE),
                             state, tokens)

    assert token_for("web") == "web-secret"
    assert token_for("plain") == "F"
    assert registration_token(state.check("disk"), tokens) == "disk-secret"
    # a Token in an HTTP registration body is not the registration token: the request's is
    await put(harness, "/v1/agent/service/register", {"X-Consul-Token": "req-secret"},
              {"ID": "api1", "Name": "api", "Token": "body-secret"})
    assert state.service("api1").token == "req-secret"


async def test_client_agent_syncs_config_services_and_maintenance_with_their_tokens(
        nursery: trio.Nursery, tmp_path: Path) -> None:
    server_cfg = agent_config(tmp_path, "s1", ["-server", "-bootstrap-expect", "1"])
    server: AgentContext = await nursery.start(lambda task_status: serve_agent(server_cfg, task_status=task_status))
    assert server.backend is not None
    store = server.backend.store
    with trio.fail_after(90):
        await wait_for(lambda: store.acl_token_by_secret(ROOT)[1] is not None, TIMEOUT, "the management token")
        agent_token = await token_with(server, "c1-agent", 'node "c1" { policy = "write" }\n'
                                                           'service_prefix "" { policy = "read" }')
        web_token = await token_with(server, "web", 'service "web" { policy = "write" }')
        client_cfg = agent_config(tmp_path, "c1", ["-retry-join", f"127.0.0.1:{server_cfg.ports.serf_lan}",
                                                   "-retry-interval", "1s"])
        tokens = replace(client_cfg.acl.tokens, agent=agent_token)
        client_cfg = replace(client_cfg, acl=replace(client_cfg.acl, tokens=tokens),
                             services=[{"name": "web", "port": 80, "token": web_token}])
        client: AgentContext = await nursery.start(lambda task_status: serve_agent(client_cfg,
                                                                                   task_status=task_status))
        await wait_for(lambda: bool(known_servers(client)), TIMEOUT, "the client to see the server")

        def services() -> set[str]:
            found = store.node_services("c1")[1]
            return set() if found is None else set(found.services)

        def checks() -> set[str]:
            return {c.check_id for c in store.node_checks("c1")[1]}

        # no default token and no config_file_service_registration: only the definition's token can do it
        await wait_for(lambda: "web" in services(), TIMEOUT, "the config-file service synced with its token")
        # maintenance enabled with a token that may write the service: its check syncs with that token
        await ok(client, "PUT", "/v1/agent/service/maintenance/web?enable=true&reason=deploy", None, web_token)
        maint = service_maint_check_id("web")
        await wait_for(lambda: maint in checks(), TIMEOUT, "the maintenance check synced with its token")
        [check] = [c for c in store.node_checks("c1")[1] if c.check_id == maint]
        assert check.status == "critical" and check.notes == "deploy"
