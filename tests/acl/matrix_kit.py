"""What the privilege-matrix tests share: an ACL-enabled ``-dev`` agent, its data, tokens per rule set.

* `acl_dev_config`: ``-dev`` with ``acl.enabled``, ``default_policy = "deny"``, ``initial_management =
  ROOT``, DNS and fault injection on (ephemeral ports).
* `Kit`: calls the agent's own router in-process (no sockets, every before-hook included), makes
  one policy + token per rule text (`token_for`), and seeds the data the rows read (`seed`).
* `Row`: one line of the enforcement table (see ``test_acl_matrix``).

What must never live here: assertions about particular endpoints (the test module's).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import trio
from msgspec.structs import replace

from actors.agent import serve_agent
from actors.context import AgentContext
from runtime.http import Request, Response
from tests.api.conftest import dev_config
from tests.cluster.cluster_kit import wait_for

ROOT = "6c1a2a3e-0b55-4a9b-8d0e-00000000a11c"
TIMEOUT = 20.0
FILTERED = "X-Consul-Results-Filtered-By-ACLs"


def acl_dev_config(*, enabled: bool = True, key_list_policy: bool = False) -> Any:
    cfg = dev_config()
    tokens = replace(cfg.acl.tokens, initial_management=ROOT if enabled else None)
    acl = replace(cfg.acl, enabled=enabled, default_policy="deny", tokens=tokens,
                  enable_key_list_policy=key_list_policy)
    return replace(cfg, acl=acl, enable_fault_injection=True, ports=replace(cfg.ports, dns=0))


def body_of(resp: Response) -> Any:
    raw = bytes(resp.body)
    return json.loads(raw) if raw.strip() else None


Target = str | Callable[["Kit"], Awaitable[str]]
Body = Any  # JSON-able, bytes, or a callable(kit) -> JSON-able


@dataclass
class Row:
    """How one route is guarded.

    ``kind``: ``deny`` (granted: a status in ``ok``; lacking and anonymous: ``denied`` with
    "Permission denied"), ``filter`` (everyone: a status in ``ok``; ``shows(body)`` true only for the
    granted token; the filtered header for the lacking token when ``header``), ``open`` (no ACL: the
    anonymous call gets a status in ``ok``), ``deny-only`` (a granted call would be destructive: only
    the refusals run), ``ws`` (a websocket: the router's admission hook is asked), ``open-token`` (any
    valid token is enough: ``/v1/acl/token/self``).
    """

    method: str
    pattern: str
    target: Target
    kind: str
    grant: str = ""
    lack: str = ""
    body: Body = None
    ok: tuple[int, ...] = (200,)
    shows: Callable[[Any], bool] | None = None
    header: bool = True
    denied: int = 403
    name: str = ""

    def label(self) -> str:
        return self.name or f"{self.method} {self.pattern}"


@dataclass
class Kit:
    ctx: AgentContext
    tokens: dict[str, str] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def router(self) -> Any:
        return self.ctx.extras["router"]

    async def call(self, method: str, target: str, body: Any = None, token: str | None = None) -> Response:
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode()
        headers = {"X-Consul-Token": token} if token is not None else {}
        with trio.fail_after(TIMEOUT):
            return await self.router.dispatch(Request(method, target, headers, data))

    async def root(self, method: str, target: str, body: Any = None) -> Any:
        resp = await self.call(method, target, body, ROOT)
        assert resp.status == 200, (method, target, resp.status, bytes(resp.body))
        return body_of(resp)

    def unique(self, stem: str) -> str:
        return f"{stem}{next(self.counter)}"

    async def token_for(self, rules: str) -> str:
        """The SecretID of a token whose only policy has exactly ``rules`` (made once per text)."""
        secret = self.tokens.get(rules)
        if secret is None:
            policy = await self.root("PUT", "/v1/acl/policy", {"Name": self.unique("p"), "Rules": rules})
            made = await self.root("PUT", "/v1/acl/token", {"Policies": [{"ID": policy["ID"]}]})
            secret = self.tokens[rules] = made["SecretID"]
        return secret

    async def target(self, row: Row) -> str:
        return row.target if isinstance(row.target, str) else await row.target(self)

    async def body(self, row: Row) -> Any:
        return row.body(self) if callable(row.body) else row.body

    async def seed(self) -> None:
        """The data the table reads (see the module docstring of ``test_acl_matrix``)."""
        for key in ("app/a", "app/b", "app2/x", "apple", "other/y"):
            await self.root("PUT", f"/v1/kv/{key}", b"v")
        for node, addr, svc in (("n2", "10.0.0.2", "db"), ("n3", "10.0.0.3", "web"), ("n4", "10.0.0.4", "tmp")):
            await self.root("PUT", "/v1/catalog/register", {
                "Node": node, "Address": addr,
                "Service": {"ID": f"{svc}-{node}", "Service": svc, "Port": 80},
                "Checks": [{"CheckID": f"{node}-alive", "Name": "alive", "Status": "passing"}]})
        await self.root("PUT", "/v1/agent/service/register",
                        {"ID": "web1", "Name": "web", "Port": 8080, "Check": {"CheckID": "web-ttl", "TTL": "60s"}})
        await self.root("PUT", "/v1/agent/check/register", {"CheckID": "node-ttl", "Name": "node ttl", "TTL": "60s"})
        await self.root("PUT", "/v1/session/create", {"Node": "n1", "NodeChecks": []})
        await self.root("PUT", "/v1/event/fire/deploy", b"x")

    async def new_session(self) -> str:
        return (await self.root("PUT", "/v1/session/create", {"Node": "n1", "NodeChecks": []}))["ID"]

    async def new_token(self) -> str:
        return (await self.root("PUT", "/v1/acl/token", {"Description": self.unique("t")}))["AccessorID"]

    async def new_policy(self) -> dict[str, Any]:
        return await self.root("PUT", "/v1/acl/policy", {"Name": self.unique("pol"), "Rules": ""})


async def start_kit(nursery: trio.Nursery, cfg: Any) -> Kit:
    ctx: AgentContext = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
    kit = Kit(ctx)
    with trio.fail_after(TIMEOUT):
        if cfg.acl.enabled:
            await wait_for(lambda: ctx.backend is not None
                           and ctx.backend.store.acl_token_by_secret(ROOT)[1] is not None,
                           TIMEOUT, "the initial management token")
        await wait_for(lambda: "dns.handler" in ctx.extras and ctx.extras.get("gossip") is not None,
                       TIMEOUT, "DNS and gossip")
    return kit
