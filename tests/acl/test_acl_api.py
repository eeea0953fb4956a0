"""The ACL HTTP API: bootstrap, tokens, policies, agent tokens, and token resolution.

In-process (a router over a `LocalBackend`, no sockets) for the endpoint rules; a ``-dev`` agent for
the leader's built-ins, ``initial_management`` and py-consul; a three-server in-process cluster for
"a deleted token stops working on every server as soon as the delete is acknowledged".
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import consul
import pytest
import trio
from msgspec.structs import replace

from actors.acl.authorizer import ALLOW_ALL, MANAGEMENT
from actors.acl.resolve import authorize, authorize_secret, identify, token_of
from actors.agent import serve_agent
from actors.api.common import install_common
from actors.api.state_api import install_state_api
from actors.backend import LocalBackend
from actors.context import AgentContext
from actors.state.acl_models import ANONYMOUS_ACCESSOR_ID, GLOBAL_MANAGEMENT_ID
from runtime.http import Request, Response, Router
from runtime.tree import ActorTree
from tests.api.conftest import dev_config, in_thread
from tests.cluster.cluster_kit import leader_of, make_cluster, wait_for, wait_leader

WEB_RULES = 'service_prefix "web" { policy = "write" }'


def acl_config(*, enabled: bool = True, default_policy: str = "deny", initial_management: str | None = None,
               data_dir: str | None = None, base: Any = None) -> Any:
    cfg = base if base is not None else dev_config()
    tokens = replace(cfg.acl.tokens, initial_management=initial_management)
    acl = replace(cfg.acl, enabled=enabled, default_policy=default_policy, tokens=tokens)
    return replace(cfg, acl=acl, data_dir=data_dir if data_dir is not None else cfg.data_dir)


class Api:
    """The state + ACL API of one in-process agent over a LocalBackend (no sockets)."""

    def __init__(self, cfg: Any) -> None:
        self.ctx = AgentContext(cfg, ActorTree(), seed=7)
        self.ctx.backend = LocalBackend()
        self.router = Router()
        install_common(self.router, self.ctx)
        install_state_api(self.router, self.ctx)

    async def call(self, method: str, target: str, body: Any = None, token: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["X-Consul-Token"] = token
        return await self.ctx.extras.get("router", self.router).dispatch(Request(method, target, hdrs, data))

    async def ok(self, method: str, target: str, body: Any = None, token: str | None = None) -> Any:
        resp = await self.call(method, target, body, token)
        assert resp.status == 200, (resp.status, resp.body)
        return json.loads(resp.body) if resp.body else None

    async def bootstrap(self) -> str:
        return (await self.ok("PUT", "/v1/acl/bootstrap"))["SecretID"]


def text(resp: Response) -> tuple[int, str]:
    return resp.status, bytes(resp.body).decode()


@pytest.fixture
def api() -> Api:
    return Api(acl_config())


# -- ACLs off ---------------------------------------------------------------------------------------


async def test_every_acl_endpoint_answers_401_with_acls_off():
    off = Api(acl_config(enabled=False))
    for method, path in [("PUT", "/v1/acl/bootstrap"), ("GET", "/v1/acl/tokens"), ("PUT", "/v1/acl/token"),
                         ("GET", "/v1/acl/token/self"), ("GET", "/v1/acl/policies"), ("PUT", "/v1/acl/policy"),
                         ("GET", "/v1/acl/policy/name/x"), ("PUT", "/v1/agent/token/default")]:
        assert text(await off.call(method, path, {})) == (401, "ACL support disabled"), path
    req = Request("GET", "/v1/kv/x")
    assert await authorize(req, off.ctx) is ALLOW_ALL


# -- bootstrap --------------------------------------------------------------------------------------


async def test_bootstrap_once_then_refused_and_the_reset_file_reopens_it(tmp_path: Path):
    api = Api(acl_config(data_dir=str(tmp_path)))
    first = await api.ok("PUT", "/v1/acl/bootstrap")
    assert first["ID"] == first["SecretID"] and list(first)[:3] == ["ID", "AccessorID", "SecretID"]
    assert first["Description"] == "Bootstrap Token (Global Management)"
    assert first["Policies"] == [{"ID": GLOBAL_MANAGEMENT_ID, "Name": "global-management"}]
    assert first["CreateTime"].endswith("Z") and "T" in first["CreateTime"] and first["Local"] is False
    reset = first["CreateIndex"]
    assert text(await api.call("PUT", "/v1/acl/bootstrap")) == (
        403, f"Permission denied: ACL bootstrap no longer allowed (reset index: {reset})")
    (tmp_path / "acl-bootstrap-reset").write_text(f"{reset + 5}\n")
    assert text(await api.call("PUT", "/v1/acl/bootstrap")) == (
        500, f"Invalid bootstrap reset index (specified {reset + 5}, reset index: {reset})")
    (tmp_path / "acl-bootstrap-reset").write_text(f"{reset}\n")
    second = await api.ok("PUT", "/v1/acl/bootstrap")
    assert second["SecretID"] != first["SecretID"]
    assert not (tmp_path / "acl-bootstrap-reset").exists()
    assert (await api.call("PUT", "/v1/acl/bootstrap")).status == 403
    # both management tokens work
    for secret in (first["SecretID"], second["SecretID"]):
        authz, accessor = await authorize_secret(secret, api.ctx)
        assert authz is MANAGEMENT and accessor


# -- tokens -----------------------------------------------------------------------------------------


async def test_token_crud_clone_self_and_list(api: Api):
    root = await api.bootstrap()
    policy = await api.ok("PUT", "/v1/acl/policy", {"Name": "web", "Rules": WEB_RULES}, root)
    created = await api.ok("PUT", "/v1/acl/token",
                           {"Description": "web token", "Policies": [{"Name": "web"}]}, root)
    accessor, secret = created["AccessorID"], created["SecretID"]
    assert created["Policies"] == [{"ID": policy["ID"], "Name": "web"}]
    assert set(created) >= {"AccessorID", "SecretID", "Description", "Local", "CreateTime", "Hash",
                            "CreateIndex", "ModifyIndex"}
    read = await api.ok("GET", f"/v1/acl/token/{accessor}", token=root)
    assert read == created
    me = await api.ok("GET", "/v1/acl/token/self", token=secret)
    assert me["AccessorID"] == accessor and me["SecretID"] == secret
    updated = await api.ok("PUT", f"/v1/acl/token/{accessor}", {"Description": "renamed", "Policies": []}, root)
    assert updated["SecretID"] == secret and updated["Description"] == "renamed" and "Policies" not in updated
    assert updated["ModifyIndex"] > created["ModifyIndex"] and updated["CreateIndex"] == created["CreateIndex"]
    assert text(await api.call("PUT", f"/v1/acl/token/{accessor}", {"AccessorID": GLOBAL_MANAGEMENT_ID}, root)) == (
        400, "Token Accessor ID in URL and payload do not match")
    clone = await api.ok("PUT", f"/v1/acl/token/{accessor}/clone", {"Description": "copy"}, root)
    assert clone["AccessorID"] != accessor and clone["SecretID"] != secret and clone["Description"] == "copy"
    await api.ok("PUT", f"/v1/acl/token/{clone['AccessorID']}", {"Policies": [{"ID": policy["ID"]}]}, root)
    listed = await api.ok("GET", "/v1/acl/tokens", token=root)
    assert {t["AccessorID"] for t in listed} >= {accessor, clone["AccessorID"], ANONYMOUS_ACCESSOR_ID}
    by_policy = await api.ok("GET", f"/v1/acl/tokens?policy={policy['ID']}", token=root)
    assert [t["AccessorID"] for t in by_policy] == [clone["AccessorID"]]
    assert await api.ok("DELETE", f"/v1/acl/token/{accessor}", token=root) is True
    assert text(await api.call("GET", f"/v1/acl/token/{accessor}", token=root)) == (
        404, "Requested token does not exist: ACL not found")
    assert text(await api.call("GET", "/v1/acl/token/self", token=secret)) == (404, "Supplied token does not exist")
    assert text(await api.call("GET", "/v1/acl/tokens", token=secret)) == (403, "ACL not found")
    assert await api.ok("DELETE", f"/v1/acl/token/{accessor}", token=root) is True  # unknown: still true
    assert text(await api.call("PUT", f"/v1/acl/token/{accessor}/clone", {}, root)) == (403, "ACL not found")


async def test_token_create_refusals(api: Api):
    root = await api.bootstrap()
    assert text(await api.call("PUT", "/v1/acl/token", {"Policies": [{"Name": "nope"}]}, root)) == (
        500, 'No such ACL policy with name "nope"')
    assert text(await api.call("PUT", "/v1/acl/token", {"AccessorID": "not-a-uuid"}, root)) == (
        500, "Invalid Token: AccessorID is not a valid UUID")
    assert text(await api.call("PUT", "/v1/acl/token", {"SecretID": "00000000-0000-0000-0000-000000000009"}, root)) == (
        500, 'Invalid Token: UUIDs with the prefix "00000000-0000-0000-0000-0000000000" are reserved')
    assert text(await api.call("PUT", "/v1/acl/token", {"ExpirationTTL": "10s"}, root)) == (
        500, "ExpirationTime cannot be less than 1m0s in the future (was 10s)")
    assert (await api.call("PUT", "/v1/acl/token", b"{", root)).status == 400
    assert text(await api.call("PUT", "/v1/acl/token", b"", root)) == (400, "Token decoding failed: EOF")
    own = await api.ok("GET", "/v1/acl/token/self", token=root)
    assert text(await api.call("DELETE", f"/v1/acl/token/{own['AccessorID']}", token=root)) == (
        500, "Deletion of the request's authorization token is not permitted")
    assert text(await api.call("DELETE", f"/v1/acl/token/{ANONYMOUS_ACCESSOR_ID}", token=root)) == (
        500, "Delete operation not permitted on the anonymous token")
    chosen = {"AccessorID": "6a1b2c3d-0000-4000-8000-000000000001", "SecretID": "6a1b2c3d-0000-4000-8000-000000000002"}
    made = await api.ok("PUT", "/v1/acl/token", chosen, root)
    assert (made["AccessorID"], made["SecretID"]) == (chosen["AccessorID"], chosen["SecretID"])
    assert text(await api.call("PUT", "/v1/acl/token", chosen, root)) == (
        500, "Invalid Token: AccessorID is already in use")


async def test_expired_tokens_are_not_found(api: Api, autojump_clock: Any):
    root = await api.bootstrap()
    made = await api.ok("PUT", "/v1/acl/token", {"ExpirationTTL": "1m"}, root)
    assert made["ExpirationTime"] > made["CreateTime"]
    await authorize_secret(made["SecretID"], api.ctx)  # fine now
    await trio.sleep(61)
    assert text(await api.call("GET", "/v1/acl/policies", token=made["SecretID"])) == (403, "ACL not found")
    assert (await api.call("GET", f"/v1/acl/token/{made['AccessorID']}", token=root)).status == 404
    assert made["AccessorID"] not in {t["AccessorID"] for t in await api.ok("GET", "/v1/acl/tokens", token=root)}


# -- policies ---------------------------------------------------------------------------------------


async def test_policy_crud_name_uniqueness_and_invalid_rules(api: Api):
    root = await api.bootstrap()
    created = await api.ok("PUT", "/v1/acl/policy", {"name": "web", "rules": WEB_RULES, "Description": "d"}, root)
    assert created["Rules"] == WEB_RULES and created["ID"] and created["Hash"]
    assert text(await api.call("PUT", "/v1/acl/policy", {"Name": "web"}, root)) == (
        500, 'Invalid Policy: A Policy with Name "web" already exists')
    bad = await api.call("PUT", "/v1/acl/policy", {"Name": "bad", "Rules": 'key "x" { policy = "sing" }'}, root)
    assert bad.status == 400 and bytes(bad.body).decode().startswith(("Invalid key policy", "Failed to parse ACL rules"))
    assert text(await api.call("PUT", "/v1/acl/policy", {"Name": "a b"}, root)) == (
        500, "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed")
    assert text(await api.call("PUT", "/v1/acl/policy", {"ID": created["ID"], "Name": "x"}, root)) == (
        400, "Cannot specify the ID when creating a new policy")
    assert await api.ok("GET", f"/v1/acl/policy/{created['ID']}", token=root) == created
    assert await api.ok("GET", "/v1/acl/policy/name/web", token=root) == created
    listed = await api.ok("GET", "/v1/acl/policies", token=root)
    assert {p["Name"] for p in listed} == {"web", "global-management"}
    assert all("Rules" not in p for p in listed)
    updated = await api.ok("PUT", f"/v1/acl/policy/{created['ID']}", {"Name": "web2", "Rules": ""}, root)
    assert updated["Name"] == "web2" and updated["ModifyIndex"] > created["ModifyIndex"]
    assert (await api.call("GET", "/v1/acl/policy/name/web", token=root)).status == 404
    assert text(await api.call("PUT", f"/v1/acl/policy/{GLOBAL_MANAGEMENT_ID}",
                               {"Name": "global-management", "Rules": ""}, root)) == (
        500, "Changing the Rules for the builtin global-management policy is not permitted")
    assert text(await api.call("DELETE", f"/v1/acl/policy/{GLOBAL_MANAGEMENT_ID}", token=root)) == (
        500, "Delete operation not permitted on the builtin global-management policy")
    assert await api.ok("DELETE", f"/v1/acl/policy/{created['ID']}", token=root) is True
    assert text(await api.call("GET", f"/v1/acl/policy/{created['ID']}", token=root)) == (
        404, "Requested policy does not exist: ACL not found")


# -- permissions and redaction ----------------------------------------------------------------------


async def test_acl_read_sees_hidden_secrets_and_cannot_write(api: Api):
    root = await api.bootstrap()
    await api.ok("PUT", "/v1/acl/policy", {"Name": "reader", "Rules": 'acl = "read"'}, root)
    reader = await api.ok("PUT", "/v1/acl/token", {"Policies": [{"Name": "reader"}]}, root)
    other = await api.ok("PUT", "/v1/acl/token", {"Description": "other"}, root)
    seen = await api.ok("GET", f"/v1/acl/token/{other['AccessorID']}", token=reader["SecretID"])
    assert seen["SecretID"] == "<hidden>" and seen["AccessorID"] == other["AccessorID"]
    assert all(t["SecretID"] == "<hidden>" for t in await api.ok("GET", "/v1/acl/tokens", token=reader["SecretID"]))
    assert (await api.ok("GET", f"/v1/acl/token/{other['AccessorID']}", token=root))["SecretID"] == other["SecretID"]
    assert text(await api.call("PUT", "/v1/acl/token", {}, reader["SecretID"])) == (
        403, f"Permission denied: token with AccessorID '{reader['AccessorID']}' lacks permission 'acl:write'")
    # no token at all under default deny: the anonymous token, which may not even read
    status, body = text(await api.call("GET", "/v1/acl/tokens"))
    assert status == 403 and "lacks permission 'acl:read'" in body
    assert (await api.call("GET", "/v1/acl/policies", token="5b0ddc5d-0000-4000-8000-00000000dead")).status == 403


async def test_agent_default_token_override(api: Api):
    root = await api.bootstrap()
    assert (await api.call("GET", "/v1/acl/tokens")).status == 403
    assert text(await api.call("PUT", "/v1/agent/token/bogus", {"Token": root}, root)) == (
        404, 'Token "bogus" is unknown')
    resp = await api.call("PUT", "/v1/agent/token/default", {"Token": root}, root)
    assert (resp.status, bytes(resp.body)) == (200, b"")
    assert (await api.call("GET", "/v1/acl/tokens")).status == 200  # no token: the default one now
    authz, accessor = await identify(Request("GET", "/v1/kv/x"), api.ctx)
    assert authz is MANAGEMENT and accessor != ANONYMOUS_ACCESSOR_ID
    await api.ok("PUT", "/v1/agent/token/acl_token", {"Token": ""}, root)  # legacy name, cleared
    _, accessor = await identify(Request("GET", "/v1/kv/x"), api.ctx)
    assert accessor == ANONYMOUS_ACCESSOR_ID


def test_token_of_reads_query_then_header_then_bearer():
    assert token_of(Request("GET", "/v1/kv/x?token=q", {"X-Consul-Token": "h"})) == "q"
    assert token_of(Request("GET", "/v1/kv/x", {"X-Consul-Token": "h", "Authorization": "Bearer b"})) == "h"
    assert token_of(Request("GET", "/v1/kv/x", {"Authorization": "bearer  b  extra"})) == "b"
    assert token_of(Request("GET", "/v1/kv/x", {"Authorization": "Basic abc"})) is None
    assert token_of(Request("GET", "/v1/kv/x")) is None


async def test_resolution_cache_follows_every_acl_write(api: Api):
    root = await api.bootstrap()
    await api.ok("PUT", "/v1/acl/policy", {"Name": "web", "Rules": WEB_RULES}, root)
    made = await api.ok("PUT", "/v1/acl/token", {"Policies": [{"Name": "web"}]}, root)
    authz, accessor = await authorize_secret(made["SecretID"], api.ctx)
    assert accessor == made["AccessorID"] and authz.service_write("web-1") and not authz.service_write("db")
    resolver = api.ctx.extras["acl.resolver"]
    builds = resolver.builds
    await authorize_secret(made["SecretID"], api.ctx)
    assert resolver.builds == builds  # cached
    policy = await api.ok("GET", "/v1/acl/policy/name/web", token=root)
    await api.ok("PUT", f"/v1/acl/policy/{policy['ID']}", {"Name": "web", "Rules": 'service_prefix "" { policy = "write" }'},
                 root)
    authz, _ = await authorize_secret(made["SecretID"], api.ctx)
    assert authz.service_write("db")  # the policy change is seen at once
    await api.ok("DELETE", f"/v1/acl/token/{made['AccessorID']}", token=root)
    with pytest.raises(Exception) as err:
        await authorize_secret(made["SecretID"], api.ctx)
    assert getattr(err.value, "status", None) == 403 and err.value.message == "ACL not found"


# -- a real agent -----------------------------------------------------------------------------------

ROOT = "8f4ac0d6-1d2e-4b8a-9c3f-000000000001"


async def _dev_agent(nursery: trio.Nursery, cfg: Any) -> AgentContext:
    return await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))


async def test_dev_agent_creates_builtins_and_initial_management(nursery: trio.Nursery):
    ctx = await _dev_agent(nursery, acl_config(initial_management=ROOT))
    with trio.fail_after(20):
        await wait_for(lambda: ctx.backend.store.acl_token_by_secret(ROOT)[1] is not None, what="initial token")
    store = ctx.backend.store
    token = store.acl_token_by_secret(ROOT)[1]
    assert token.description == "Initial Management Token" and token.policies == [GLOBAL_MANAGEMENT_ID]
    assert store.acl_token_by_accessor(ANONYMOUS_ACCESSOR_ID)[1] is not None
    c = consul.Consul(host=ctx.http_addr[0], port=ctx.http_addr[1], token=ROOT)
    c.http.session.trust_env = False
    with pytest.raises(consul.ACLPermissionDenied):
        await in_thread(c.acl.bootstrap)
    assert (await authorize_secret(ROOT, ctx))[0] is MANAGEMENT


async def test_pyconsul_token_and_policy_calls(nursery: trio.Nursery):
    ctx = await _dev_agent(nursery, acl_config())
    c = consul.Consul(host=ctx.http_addr[0], port=ctx.http_addr[1])
    c.http.session.trust_env = False
    boot = await in_thread(c.acl.bootstrap)
    c.token = boot["SecretID"]
    policy = await in_thread(c.acl.policy.create, "kv-read", rules={"key_prefix": {"": {"policy": "read"}}})
    assert policy["Name"] == "kv-read"
    made = await in_thread(c.acl.token.create, description="py", policies_name=["kv-read"])
    assert made["Policies"] == [{"ID": policy["ID"], "Name": "kv-read"}]
    assert (await in_thread(c.acl.token.read, made["AccessorID"]))["Description"] == "py"
    assert (await in_thread(c.acl.token.read_self, token=made["SecretID"]))["AccessorID"] == made["AccessorID"]
    cloned = await in_thread(c.acl.token.clone, made["AccessorID"], description="cloned")
    assert cloned["Description"] == "cloned"
    updated = await in_thread(c.acl.token.update, made["AccessorID"], description="py2", policies_name=["kv-read"])
    assert updated["Description"] == "py2"
    assert made["AccessorID"] in {t["AccessorID"] for t in await in_thread(c.acl.token.list)}
    assert {p["Name"] for p in await in_thread(c.acl.policy.list)} >= {"kv-read", "global-management"}
    assert await in_thread(c.acl.token.delete, cloned["AccessorID"]) is True
    assert await in_thread(c.acl.token.read, cloned["AccessorID"]) is None  # 404 -> None
    assert await in_thread(c.acl.policy.read, "5b0ddc5d-0000-4000-8000-00000000dead") is None
    assert await in_thread(c.acl.policy.delete, policy["ID"]) is True
    with pytest.raises(consul.ACLPermissionDenied):
        await in_thread(c.acl.token.list, token="5b0ddc5d-0000-4000-8000-00000000dead")


# -- a three-server cluster -------------------------------------------------------------------------


async def test_deleted_token_refused_by_every_server_right_after_the_delete(nursery: trio.Nursery, tmp_path: Path):
    servers = make_cluster(tmp_path, 3)
    for s in servers:
        s.cfg = acl_config(base=s.cfg, initial_management=ROOT)
    for s in servers:
        await s.start(nursery)
    with trio.fail_after(60):
        leader = await wait_leader(servers)
        await wait_for(lambda: all(s.ctx.backend.store.acl_token_by_secret(ROOT)[1] is not None for s in servers),
                       timeout=30, what="the initial management token on every server")
        follower = next(s for s in servers if s is not leader_of(servers))
        # create through a follower (forwarded to the leader), delete at the leader
        router = follower.ctx.extras["router"]
        resp = await router.dispatch(Request("PUT", "/v1/acl/token", {"X-Consul-Token": ROOT}, b"{}"))
        assert resp.status == 200, resp.body
        made = json.loads(resp.body)
        for s in servers:  # known everywhere once the follower has answered? at least resolvable:
            authz, accessor = await authorize_secret(made["SecretID"], s.ctx)
            assert accessor == made["AccessorID"]
        leader = leader_of(servers)
        resp = await leader.ctx.extras["router"].dispatch(
            Request("DELETE", f"/v1/acl/token/{made['AccessorID']}", {"X-Consul-Token": ROOT}))
        assert resp.status == 200, resp.body
        for s in servers:  # no waiting: the delete was acknowledged, every server must refuse now
            with pytest.raises(Exception) as err:
                await authorize_secret(made["SecretID"], s.ctx)
            assert getattr(err.value, "status", None) == 403, s.name


# -- a client agent ---------------------------------------------------------------------------------


def _agent_config(tmp_path: Path, node: str, args: list[str]) -> Any:
    from actors.flags import parse_agent_flags
    from tests.support.ports import free_ports

    server, lan, wan, http = free_ports(4)
    cfg = parse_agent_flags([*args, "-node", node, "-bind", "127.0.0.1", "-server-port", str(server),
                             "-serf-lan-port", str(lan), "-serf-wan-port", str(wan), "-seed", "3",
                             "-data-dir", str(tmp_path / node)], hostname="h")
    cfg = replace(cfg, ports=replace(cfg.ports, http=http, dns=-1))
    return acl_config(base=cfg, initial_management=ROOT)


async def test_client_agent_forwards_acl_calls_and_resolves_through_a_server(nursery: trio.Nursery, tmp_path: Path):
    from actors.forward.client import known_servers

    server_cfg = _agent_config(tmp_path, "s1", ["-server", "-bootstrap-expect", "1"])
    server = await _dev_agent(nursery, server_cfg)
    client_cfg = _agent_config(tmp_path, "c1", ["-retry-join", f"127.0.0.1:{server_cfg.ports.serf_lan}",
                                                "-retry-interval", "1s"])
    client = await _dev_agent(nursery, client_cfg)
    with trio.fail_after(60):
        await wait_for(lambda: server.backend.store.acl_token_by_secret(ROOT)[1] is not None, timeout=30,
                       what="the initial management token")
        await wait_for(lambda: bool(known_servers(client)), timeout=30, what="the client to see the server")
        router = client.extras["router"]
        resp = await router.dispatch(Request("PUT", "/v1/acl/token", {"X-Consul-Token": ROOT},
                                             b'{"Description": "via client"}'))
        assert resp.status == 200, resp.body  # forwarded, token header included
        made = json.loads(resp.body)
        assert (await router.dispatch(Request("GET", "/v1/acl/tokens"))).status == 403  # anonymous, deny
        authz, accessor = await authorize_secret(ROOT, client)
        assert authz is MANAGEMENT and accessor
        authz, accessor = await authorize_secret(made["SecretID"], client)
        assert accessor == made["AccessorID"] and not authz.acl_read()
        resolver = client.extras["acl.remote_resolver"]
        calls = resolver.calls
        await authorize_secret(made["SecretID"], client)
        assert resolver.calls == calls  # cached for acl.token_ttl
        with pytest.raises(Exception) as err:
            await authorize_secret("5b0ddc5d-0000-4000-8000-00000000dead", client)
        assert getattr(err.value, "status", None) == 403
        # the client's default token travels with requests that carry none
        resp = await router.dispatch(Request("PUT", "/v1/agent/token/default", {"X-Consul-Token": ROOT},
                                             json.dumps({"Token": ROOT}).encode()))
        assert resp.status == 200, resp.body
        assert (await router.dispatch(Request("GET", "/v1/acl/tokens"))).status == 200
