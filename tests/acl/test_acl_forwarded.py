"""ACLs on forwarded requests: enforcement happens where the data is, with the caller's token.

* A client agent forwards state API requests whole (token header included) to a server, which
  enforces and filters; the client's own endpoints resolve the token through a server; its DNS
  queries are answered by a server with the *client's* default token.
* Two datacenters (one server each, joined over the WAN pool): tokens are not replicated between our
  datacenters, so a dc1 token presented to dc2 through ``?dc=dc2`` is ``ACL not found`` there
  (CVE-2020-13170), while dc2's own token works through dc1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import msgspec
import trio
from msgspec.structs import replace

from actors.agent import serve_agent
from actors.context import AgentContext
from actors.flags import parse_agent_flags
from actors.forward.client import known_servers
from runtime.http import Request, Response
from tests.acl.matrix_kit import FILTERED, ROOT
from tests.cluster.cluster_kit import make_cluster, wait_for, wait_leader
from tests.support.ports import free_ports

TIMEOUT = 30.0
ROOT2 = "6c1a2a3e-0b55-4a9b-8d0e-00000000d2d2"


def with_acl(cfg: Any, root: str) -> Any:
    tokens = replace(cfg.acl.tokens, initial_management=root)
    return replace(cfg, acl=replace(cfg.acl, enabled=True, default_policy="deny", tokens=tokens))


def agent_config(tmp_path: Path, node: str, args: list[str]) -> Any:
    server, lan, wan, http = free_ports(4)
    cfg = parse_agent_flags([*args, "-node", node, "-bind", "127.0.0.1", "-server-port", str(server),
                             "-serf-lan-port", str(lan), "-serf-wan-port", str(wan), "-seed", "5",
                             "-data-dir", str(tmp_path / node)], hostname="h")
    return with_acl(replace(cfg, ports=replace(cfg.ports, http=http, dns=0)), ROOT)


async def call(ctx: AgentContext, method: str, target: str, body: Any = None, token: str | None = None) -> Response:
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    headers = {"X-Consul-Token": token} if token else {}
    with trio.fail_after(TIMEOUT):
        return await ctx.extras["router"].dispatch(Request(method, target, headers, data))


async def ok(ctx: AgentContext, method: str, target: str, body: Any = None, token: str = ROOT) -> Any:
    resp = await call(ctx, method, target, body, token)
    assert resp.status == 200, (target, resp.status, bytes(resp.body))
    return json.loads(bytes(resp.body)) if bytes(resp.body).strip() else None


async def token_with(ctx: AgentContext, name: str, rules: str, root: str = ROOT) -> str:
    policy = await ok(ctx, "PUT", "/v1/acl/policy", {"Name": name, "Rules": rules}, root)
    return (await ok(ctx, "PUT", "/v1/acl/token", {"Policies": [{"ID": policy["ID"]}]}, root))["SecretID"]


async def ask(ctx: AgentContext, name: str) -> dns.message.Message:
    query = dns.message.make_query(name, "A")
    with trio.fail_after(TIMEOUT):
        reply = await ctx.extras["dns.handler"].answer(query.to_wire(), "udp")
    return dns.message.from_wire(reply)


async def test_client_agent_requests_are_enforced_by_the_server(nursery: trio.Nursery, tmp_path: Path) -> None:
    server_cfg = agent_config(tmp_path, "s1", ["-server", "-bootstrap-expect", "1"])
    server: AgentContext = await nursery.start(lambda task_status: serve_agent(server_cfg, task_status=task_status))
    client_cfg = agent_config(tmp_path, "c1", ["-retry-join", f"127.0.0.1:{server_cfg.ports.serf_lan}",
                                               "-retry-interval", "1s"])
    client: AgentContext = await nursery.start(lambda task_status: serve_agent(client_cfg, task_status=task_status))
    with trio.fail_after(60):
        await wait_for(lambda: server.backend.store.acl_token_by_secret(ROOT)[1] is not None, TIMEOUT,
                       "the initial management token")
        await wait_for(lambda: bool(known_servers(client)), TIMEOUT, "the client to see the server")
        for key in ("app/a", "app2/x"):
            assert await ok(client, "PUT", f"/v1/kv/{key}", b"v") is True
        await ok(client, "PUT", "/v1/catalog/register",
                 {"Node": "n2", "Address": "10.0.0.2", "Service": {"Service": "db", "Port": 5432}})
        reader = await token_with(client, "app-read", 'key_prefix "app/" { policy = "read" }')

        assert (await call(client, "GET", "/v1/kv/app/a", token=reader)).status == 200
        denied = await call(client, "GET", "/v1/kv/app2/x", token=reader)
        assert denied.status == 403 and "lacks permission 'key:read' on \"app2/x\"" in bytes(denied.body).decode()
        listed = await call(client, "GET", "/v1/kv/?keys", token=reader)
        assert json.loads(bytes(listed.body)) == ["app/a"] and listed.headers.get(FILTERED) == "true"
        assert (await call(client, "GET", "/v1/kv/app/a")).status == 403  # anonymous
        assert (await call(client, "PUT", "/v1/kv/app/a", b"w", reader)).status == 403
        unknown = await call(client, "GET", "/v1/kv/app/a", token="00000000-0000-4000-8000-00000000abcd")
        assert (unknown.status, bytes(unknown.body)) == (403, b"ACL not found")

        # the client's own endpoints: resolved through the server
        assert (await call(client, "GET", "/v1/agent/self", token=reader)).status == 403
        assert (await call(client, "GET", "/v1/agent/self", token=ROOT)).status == 200

        # DNS through the client: the server answers with the client's token, not its own
        assert (await ask(client, "db.service.consul.")).rcode() == dns.rcode.NXDOMAIN
        dns_reader = await token_with(client, "db-read", 'service "db" { policy = "read" }\nnode "n2" { policy = "read" }')
        await ok(client, "PUT", "/v1/agent/token/default", {"Token": dns_reader})
        reply = await ask(client, "db.service.consul.")
        assert [r.to_text() for rr in reply.answer for r in rr] == ["10.0.0.2"]
        assert (await ask(server, "db.service.consul.")).rcode() == dns.rcode.NXDOMAIN  # server: anonymous


async def test_tokens_of_one_datacenter_are_unknown_in_another(nursery: trio.Nursery, tmp_path: Path) -> None:
    (dc1,) = make_cluster(tmp_path / "dc1", 1)
    (dc2,) = make_cluster(tmp_path / "dc2", 1, extra_flags=(
        "-datacenter", "dc2", "-retry-join-wan", f"127.0.0.1:{dc1.cfg.ports.serf_wan}", "-retry-interval-wan", "1s"))
    dc1.cfg = with_acl(dc1.cfg, ROOT)
    dc2.cfg = with_acl(dc2.cfg, ROOT2)
    for server in (dc1, dc2):
        await server.start(nursery)
    with trio.fail_after(60):
        for server, root in ((dc1, ROOT), (dc2, ROOT2)):
            await wait_leader([server])
            await wait_for(lambda: server.ctx.backend.store.acl_token_by_secret(root)[1] is not None,  # type: ignore[union-attr]
                           TIMEOUT, "the initial management token")
        await wait_for(lambda: dc1.ctx.extras["wan"].remote_datacenters() == {"dc2"}, TIMEOUT,  # type: ignore[union-attr]
                       "dc2 in dc1's WAN pool")
        c1 = dc1.ctx
        assert c1 is not None
        assert await ok(c1, "PUT", "/v1/kv/app/a?dc=dc2", b"v", ROOT2) is True  # dc2's own token, via dc1
        local = await token_with(c1, "everything", 'key_prefix "" { policy = "write" }')
        assert (await call(c1, "GET", "/v1/kv/app/a", token=local)).status == 404  # fine at home (no key)
        for secret in (local, ROOT):
            resp = await call(c1, "GET", "/v1/kv/app/a?dc=dc2", token=secret)
            assert (resp.status, bytes(resp.body)) == (403, b"ACL not found"), secret == ROOT
            resp = await call(c1, "PUT", "/v1/kv/app/b?dc=dc2", b"x", token=secret)
            assert (resp.status, bytes(resp.body)) == (403, b"ACL not found")
        assert msgspec.json.decode(bytes((await call(c1, "GET", "/v1/kv/?keys&dc=dc2", token=ROOT2)).body)) == ["app/a"]
