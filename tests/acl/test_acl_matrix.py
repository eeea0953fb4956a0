"""The privilege matrix: every HTTP route of the agent, with the rule it needs, against real tokens.

One ``-dev`` agent with ``acl.enabled``, ``default_policy = "deny"`` and an initial management token
(``matrix_kit``), seeded with: KV ``app/a``, ``app/b``, ``app2/x``, ``apple``, ``other/y``; catalog nodes
``n2`` (service ``db``), ``n3`` (``web``), ``n4`` (``tmp``), each with a passing node check; on the agent
(node ``n1``) the local service ``web1`` (``web``) with TTL check ``web-ttl`` and a node TTL check; a
session on ``n1``; a user event ``deploy``.

`TABLE` has a row per route (several for some). For each row three callers are tried, in this order:
anonymous (no token), a token *lacking* the permission (with related rules, so the refusal is about
exactly that permission), and a token *granted* exactly the rule (``Row.grant``). ``deny`` rows must
be refused (403 ``Permission denied``, 409 with per-op errors for ``/v1/txn``) for the first two;
``filter`` rows answer everyone but show the protected record to the granted token only, and set
``X-Consul-Results-Filtered-By-ACLs`` for the lacking token (never for the anonymous one).
`test_every_route_has_a_row` enumerates the router, so a new endpoint without a row fails the suite.

Also here: the KV prefix rules (CVE-2019-12291), transactions (CVE-2021-38698), ``enable_key_list_policy``,
DNS under the agent's default token, a deleted token refused at once, secrets kept out of the logs,
and the same table with ACLs disabled (nothing refused).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import trio

from runtime.http import Request
from tests.acl.matrix_kit import FILTERED, ROOT, Kit, Row, acl_dev_config, body_of, start_kit

# -- rule texts --------------------------------------------------------------------------------------

APP_READ = 'key_prefix "app/" { policy = "read" }'
APP_WRITE = 'key_prefix "app/" { policy = "write" }'
ALL_KEYS_READ = 'key_prefix "" { policy = "read" }'
N1_AGENT_READ = 'agent "n1" { policy = "read" }'
N1_AGENT_WRITE = 'agent "n1" { policy = "write" }'
N1_NODE_READ = 'node "n1" { policy = "read" }'
N1_NODE_WRITE = 'node "n1" { policy = "write" }'
ALL_NODES_READ = 'node_prefix "" { policy = "read" }'
ALL_READ = 'node_prefix "" { policy = "read" }\nservice_prefix "" { policy = "read" }'
DB_READ = 'service "db" { policy = "read" }'
DB_N2_READ = DB_READ + '\nnode "n2" { policy = "read" }'
WEB_READ = 'service "web" { policy = "read" }'
WEB_WRITE = 'service "web" { policy = "write" }'
OP_READ = 'operator = "read"'
OP_WRITE = 'operator = "write"'
ACL_READ = 'acl = "read"'
ACL_WRITE = 'acl = "write"'


def keys_of(body: Any) -> list[str]:
    if body is None:
        return []
    return [e["Key"] if isinstance(e, dict) else e for e in body]


def outside_app(body: Any) -> bool:
    return any(not k.startswith("app/") for k in keys_of(body))


def txn_keys(body: Any) -> list[str]:
    return [r["KV"]["Key"] for r in (body or {}).get("Results") or [] if "KV" in r]


def has(name: str, key: str = "Node") -> Any:
    return lambda body: any(item.get(key) == name for item in body or [])


def fresh_session(verb: str) -> Any:
    async def make(kit: Kit) -> str:
        return f"/v1/session/{verb}/{await kit.new_session()}"
    return make


def seeded_session(path: str) -> Any:
    async def make(kit: Kit) -> str:
        sessions = await kit.root("GET", "/v1/session/node/n1")
        return path.format(id=sessions[0]["ID"])
    return make


def fresh_token(suffix: str = "") -> Any:
    async def make(kit: Kit) -> str:
        return f"/v1/acl/token/{await kit.new_token()}{suffix}"
    return make


def fresh_policy() -> Any:
    async def make(kit: Kit) -> str:
        return f"/v1/acl/policy/{(await kit.new_policy())['ID']}"
    return make


def named_policy() -> Any:
    async def make(kit: Kit) -> str:
        return f"/v1/acl/policy/name/{(await kit.new_policy())['Name']}"
    return make


def local_service(sid: str) -> Any:
    async def make(kit: Kit) -> str:
        await kit.root("PUT", "/v1/agent/service/register", {"ID": sid, "Name": "tmp"})
        return f"/v1/agent/service/deregister/{sid}"
    return make


def node_check(cid: str) -> Any:
    async def make(kit: Kit) -> str:
        await kit.root("PUT", "/v1/agent/check/register", {"CheckID": cid, "Name": cid, "TTL": "60s"})
        return f"/v1/agent/check/deregister/{cid}"
    return make


def txn_set(key: str) -> list[dict[str, Any]]:
    return [{"KV": {"Verb": "set", "Key": key, "Value": base64.b64encode(b"t").decode()}}]


KV = "/v1/kv/{key:path}"
FAULT_BODY = {"Rules": "not a list"}  # refused with 400 after the ACL check: nothing is changed

TABLE: list[Row] = [
    # KV -------------------------------------------------------------------------------------------
    Row("GET", KV, "/v1/kv/app/a", "deny", grant='key "app/a" { policy = "read" }', lack='key "app/b" { policy = "write" }'),
    Row("GET", KV, "/v1/kv/?recurse", "filter", grant=ALL_KEYS_READ, lack=APP_READ, shows=outside_app,
        name="GET /v1/kv/?recurse"),
    Row("GET", KV, "/v1/kv/?keys", "filter", grant=ALL_KEYS_READ, lack=APP_READ, shows=outside_app,
        name="GET /v1/kv/?keys"),
    Row("GET", KV, "/v1/kv/?keys&separator=/", "filter", grant=ALL_KEYS_READ, lack=APP_READ, shows=outside_app,
        name="GET /v1/kv/?keys&separator=/"),
    Row("GET", KV, "/v1/kv/app?keys", "filter", grant=ALL_KEYS_READ, lack=APP_READ, shows=outside_app,
        name="GET /v1/kv/app?keys (app2/x, apple hidden)"),
    Row("PUT", KV, "/v1/kv/app/new", "deny", grant=APP_WRITE, lack=APP_READ, body=b"x"),
    Row("DELETE", KV, "/v1/kv/app/b", "deny", grant=APP_WRITE, lack=APP_READ),
    Row("DELETE", KV, "/v1/kv/app?recurse", "deny-only", lack=APP_WRITE, name="DELETE /v1/kv/app?recurse (CVE-2019-12291)"),
    Row("DELETE", KV, "/v1/kv/?recurse", "deny-only", lack=APP_WRITE, name="DELETE /v1/kv/?recurse (CVE-2019-12291)"),
    # transactions -----------------------------------------------------------------------------------
    Row("PUT", "/v1/txn", "/v1/txn", "deny", grant=APP_WRITE, lack=APP_READ, body=txn_set("app/t"), denied=409),
    Row("PUT", "/v1/txn", "/v1/txn", "filter", grant=ALL_KEYS_READ, lack=APP_READ,
        body=[{"KV": {"Verb": "get-tree", "Key": ""}}], shows=lambda b: any(not k.startswith("app/") for k in txn_keys(b)),
        name="PUT /v1/txn get-tree"),
    # sessions ---------------------------------------------------------------------------------------
    Row("PUT", "/v1/session/create", "/v1/session/create", "deny", grant='session "n1" { policy = "write" }',
        lack='session "n1" { policy = "read" }', body={"Node": "n1", "NodeChecks": []}),
    Row("PUT", "/v1/session/destroy/{id:path}", fresh_session("destroy"), "deny", grant='session "n1" { policy = "write" }',
        lack='session "n1" { policy = "read" }'),
    Row("PUT", "/v1/session/renew/{id:path}", fresh_session("renew"), "deny", grant='session "n1" { policy = "write" }',
        lack='session "n1" { policy = "read" }'),
    Row("GET", "/v1/session/info/{id:path}", seeded_session("/v1/session/info/{id}"), "filter",
        grant='session "n1" { policy = "read" }', lack='session "n2" { policy = "write" }', shows=bool),
    Row("GET", "/v1/session/node/{node:path}", "/v1/session/node/n1", "filter",
        grant='session "n1" { policy = "read" }', lack='session "n2" { policy = "write" }', shows=bool),
    Row("GET", "/v1/session/list", "/v1/session/list", "filter",
        grant='session "n1" { policy = "read" }', lack='session "n2" { policy = "write" }', shows=bool),
    # catalog ----------------------------------------------------------------------------------------
    Row("PUT", "/v1/catalog/register", "/v1/catalog/register", "deny",
        grant='node "n9" { policy = "write" }\nservice "api" { policy = "write" }',
        lack='service "api" { policy = "write" }\nnode "n9" { policy = "read" }',
        body={"Node": "n9", "Address": "10.0.0.9", "Service": {"Service": "api"}}),
    Row("PUT", "/v1/catalog/deregister", "/v1/catalog/deregister", "deny",
        grant='service "tmp" { policy = "write" }', lack='service "tmp" { policy = "read" }\nnode "n4" { policy = "read" }',
        body={"Node": "n4", "ServiceID": "tmp-n4"}),
    Row("GET", "/v1/catalog/datacenters", "/v1/catalog/datacenters", "open"),
    Row("GET", "/v1/catalog/nodes", "/v1/catalog/nodes", "filter", grant=ALL_NODES_READ, lack=N1_NODE_READ,
        shows=has("n2")),
    Row("GET", "/v1/catalog/services", "/v1/catalog/services", "filter", grant='service_prefix "" { policy = "read" }',
        lack=WEB_READ, shows=lambda b: "db" in (b or {})),
    Row("GET", "/v1/catalog/service/{name:path}", "/v1/catalog/service/db", "filter", grant=DB_N2_READ, lack=DB_READ,
        shows=bool),
    Row("GET", "/v1/catalog/node/{node:path}", "/v1/catalog/node/n2", "filter", grant=DB_N2_READ, lack=DB_READ,
        shows=lambda b: b is not None and "db-n2" in b["Services"]),
    Row("GET", "/v1/catalog/node-services/{node:path}", "/v1/catalog/node-services/n2", "filter", grant=DB_N2_READ,
        lack=DB_READ, shows=lambda b: b is not None and len(b["Services"]) == 1),
    # health -----------------------------------------------------------------------------------------
    Row("GET", "/v1/health/node/{node:path}", "/v1/health/node/n2", "filter", grant='node "n2" { policy = "read" }',
        lack=DB_READ, shows=bool),
    Row("GET", "/v1/health/checks/{service:path}", "/v1/health/checks/web", "filter", grant=ALL_READ, lack=WEB_READ,
        shows=bool),
    Row("GET", "/v1/health/service/{service:path}", "/v1/health/service/db", "filter", grant=DB_N2_READ, lack=DB_READ,
        shows=bool),
    Row("GET", "/v1/health/state/{state:path}", "/v1/health/state/any", "filter", grant=ALL_READ, lack=N1_NODE_READ,
        shows=has("n2")),
    # events -----------------------------------------------------------------------------------------
    Row("PUT", "/v1/event/fire/{name:path}", "/v1/event/fire/deploy", "deny", grant='event "deploy" { policy = "write" }',
        lack='event "deploy" { policy = "read" }', body=b"x"),
    Row("GET", "/v1/event/list", "/v1/event/list", "filter", grant='event "deploy" { policy = "read" }',
        lack='event "other" { policy = "write" }', shows=has("deploy", "Name"), header=False),
    # agent ------------------------------------------------------------------------------------------
    Row("GET", "/v1/agent/self", "/v1/agent/self", "deny", grant=N1_AGENT_READ, lack=N1_NODE_WRITE),
    Row("GET", "/v1/agent/members", "/v1/agent/members", "filter", grant=N1_NODE_READ, lack='node "zz" { policy = "read" }',
        shows=has("n1", "Name")),
    Row("PUT", "/v1/agent/join/{address:path}", "/v1/agent/join/", "deny", grant=N1_AGENT_WRITE, lack=N1_AGENT_READ,
        ok=(400,)),
    Row("PUT", "/v1/agent/leave", "/v1/agent/leave", "deny-only", lack=N1_AGENT_READ),
    Row("PUT", "/v1/agent/force-leave/{node:path}", "/v1/agent/force-leave/nobody", "deny", grant=OP_WRITE,
        lack=OP_READ + "\n" + N1_AGENT_WRITE, ok=(200, 500)),
    Row("PUT", "/v1/agent/reload", "/v1/agent/reload", "deny", grant=N1_AGENT_WRITE, lack=N1_AGENT_READ),
    Row("GET", "/v1/agent/services", "/v1/agent/services", "filter", grant=WEB_READ, lack=DB_READ,
        shows=lambda b: "web1" in (b or {})),
    Row("GET", "/v1/agent/service/{id:path}", "/v1/agent/service/web1", "deny", grant=WEB_READ, lack=DB_READ),
    Row("PUT", "/v1/agent/service/register", "/v1/agent/service/register", "deny",
        grant='service "api2" { policy = "write" }', lack='service "api2" { policy = "read" }',
        body={"ID": "api2", "Name": "api2"}),
    Row("PUT", "/v1/agent/service/deregister/{id:path}", local_service("tmp-local"), "deny",
        grant='service "tmp" { policy = "write" }', lack='service "tmp" { policy = "read" }'),
    Row("GET", "/v1/agent/checks", "/v1/agent/checks", "filter", grant=WEB_READ, lack=DB_READ,
        shows=lambda b: "web-ttl" in (b or {})),
    Row("PUT", "/v1/agent/check/register", "/v1/agent/check/register", "deny", grant=N1_NODE_WRITE, lack=N1_NODE_READ,
        body={"CheckID": "c2", "Name": "c2", "TTL": "60s"}),
    Row("PUT", "/v1/agent/check/deregister/{id:path}", node_check("tmp-check"), "deny", grant=N1_NODE_WRITE,
        lack=N1_NODE_READ),
    Row("PUT", "/v1/agent/check/pass/{id:path}", "/v1/agent/check/pass/web-ttl", "deny", grant=WEB_WRITE, lack=WEB_READ),
    Row("PUT", "/v1/agent/check/warn/{id:path}", "/v1/agent/check/warn/web-ttl", "deny", grant=WEB_WRITE, lack=WEB_READ),
    Row("PUT", "/v1/agent/check/fail/{id:path}", "/v1/agent/check/fail/web-ttl", "deny", grant=WEB_WRITE, lack=WEB_READ),
    Row("PUT", "/v1/agent/check/update/{id:path}", "/v1/agent/check/update/node-ttl", "deny", grant=N1_NODE_WRITE,
        lack=N1_NODE_READ + "\n" + WEB_WRITE, body={"Status": "passing"}),
    Row("PUT", "/v1/agent/maintenance", "/v1/agent/maintenance?enable=false", "deny", grant=N1_NODE_WRITE,
        lack=N1_NODE_READ + "\n" + N1_AGENT_WRITE),
    Row("PUT", "/v1/agent/service/maintenance/{id:path}", "/v1/agent/service/maintenance/web1?enable=false", "deny",
        grant=WEB_WRITE, lack=WEB_READ),
    Row("GET", "/v1/agent/health/service/id/{id:path}", "/v1/agent/health/service/id/web1", "deny", grant=WEB_READ,
        lack=DB_READ, ok=(200, 429, 503)),
    Row("GET", "/v1/agent/health/service/name/{name:path}", "/v1/agent/health/service/name/web", "deny", grant=WEB_READ,
        lack=DB_READ, ok=(200, 429, 503)),
    Row("PUT", "/v1/agent/token/{kind}", "/v1/agent/token/dns", "deny", grant=ACL_WRITE, lack=ACL_READ,
        body={"Token": ""}),
    # operator and status ----------------------------------------------------------------------------
    Row("GET", "/v1/operator/raft/configuration", "/v1/operator/raft/configuration", "deny", grant=OP_READ,
        lack='keyring = "write"'),
    Row("GET", "/v1/operator/autopilot/health", "/v1/operator/autopilot/health", "deny", grant=OP_READ,
        lack='keyring = "write"', ok=(200, 429)),
    Row("DELETE", "/v1/operator/raft/peer", "/v1/operator/raft/peer", "deny", grant=OP_WRITE, lack=OP_READ, ok=(400, 500)),
    Row("POST", "/v1/operator/raft/transfer-leader", "/v1/operator/raft/transfer-leader", "deny", grant=OP_WRITE,
        lack=OP_READ, ok=(200, 500)),
    Row("PUT", "/v1/operator/raft/transfer-leader", "/v1/operator/raft/transfer-leader", "deny", grant=OP_WRITE,
        lack=OP_READ, ok=(200, 500)),
    Row("GET", "/v1/operator/keyring", "/v1/operator/keyring", "deny", grant='keyring = "read"', lack=OP_WRITE,
        ok=(200, 500)),
    *[Row(m, "/v1/operator/keyring", "/v1/operator/keyring", "deny", grant='keyring = "write"', lack='keyring = "read"',
          body={"Key": "x"}, ok=(400, 500)) for m in ("POST", "PUT", "DELETE")],
    Row("GET", "/v1/status/leader", "/v1/status/leader", "open"),
    Row("GET", "/v1/status/peers", "/v1/status/peers", "open"),
    # the runtime's own endpoints --------------------------------------------------------------------
    Row("GET", "/v1/agent/actors", "/v1/agent/actors", "deny", grant=OP_READ, lack=N1_AGENT_WRITE),
    Row("WS", "/v1/agent/actors", "/v1/agent/actors", "ws", grant=OP_READ, lack=N1_AGENT_WRITE),
    *[Row(m, f"/v1/agent/actors/{op}", f"/v1/agent/actors/{op}", "deny", grant=OP_WRITE, lack=OP_READ, ok=(400,))
      for op in ("crash", "stop", "restart") for m in ("PUT", "POST")],
    *[Row(m, "/v1/agent/faults", "/v1/agent/faults", "deny", grant=OP_WRITE, lack=OP_READ, body=FAULT_BODY, ok=(400,))
      for m in ("PUT", "POST")],
    Row("GET", "/v1/agent/faults", "/v1/agent/faults", "deny", grant=OP_WRITE, lack=OP_READ),
    Row("DELETE", "/v1/agent/faults", "/v1/agent/faults", "deny", grant=OP_WRITE, lack=OP_READ),
    # the ACL API (its own rules are tested in test_acl_api; here: the gate) -------------------------
    Row("PUT", "/v1/acl/bootstrap", "/v1/acl/bootstrap", "deny-only", lack=ACL_WRITE),
    Row("PUT", "/v1/acl/token", "/v1/acl/token", "deny", grant=ACL_WRITE, lack=ACL_READ, body={}),
    Row("GET", "/v1/acl/token/self", "/v1/acl/token/self", "open-token"),
    Row("GET", "/v1/acl/token/{id}", fresh_token(), "deny", grant=ACL_READ, lack=OP_WRITE),
    Row("PUT", "/v1/acl/token/{id}", fresh_token(), "deny", grant=ACL_WRITE, lack=ACL_READ, body={}),
    Row("DELETE", "/v1/acl/token/{id}", fresh_token(), "deny", grant=ACL_WRITE, lack=ACL_READ),
    Row("PUT", "/v1/acl/token/{id}/clone", fresh_token("/clone"), "deny", grant=ACL_WRITE, lack=ACL_READ, body={}),
    Row("GET", "/v1/acl/tokens", "/v1/acl/tokens", "deny", grant=ACL_READ, lack=OP_WRITE),
    Row("PUT", "/v1/acl/policy", "/v1/acl/policy", "deny", grant=ACL_WRITE, lack=ACL_READ,
        body=lambda kit: {"Name": kit.unique("made")}),
    Row("GET", "/v1/acl/policy/{id}", fresh_policy(), "deny", grant=ACL_READ, lack=OP_WRITE),
    Row("PUT", "/v1/acl/policy/{id}", fresh_policy(), "deny", grant=ACL_WRITE, lack=ACL_READ,
        body=lambda kit: {"Name": kit.unique("renamed")}),
    Row("DELETE", "/v1/acl/policy/{id}", fresh_policy(), "deny", grant=ACL_WRITE, lack=ACL_READ),
    Row("GET", "/v1/acl/policy/name/{name:path}", named_policy(), "deny", grant=ACL_READ, lack=OP_WRITE),
    Row("GET", "/v1/acl/policies", "/v1/acl/policies", "deny", grant=ACL_READ, lack=OP_WRITE),
]

GROUPS = {
    "kv": ("/v1/kv",), "txn": ("/v1/txn",), "session": ("/v1/session/",), "catalog": ("/v1/catalog/",),
    "health": ("/v1/health/",), "event": ("/v1/event/",), "operator": ("/v1/operator/", "/v1/status/"),
    "acl": ("/v1/acl/", "/v1/agent/token/"),
    "inspector": ("/v1/agent/actors", "/v1/agent/faults"),
}


def group_of(row: Row) -> str:
    for group, prefixes in GROUPS.items():
        if row.pattern.startswith(prefixes):
            return group
    return "agent"


def rows_of(group: str) -> list[Row]:
    return [r for r in TABLE if group_of(r) == group]


# -- running one row ----------------------------------------------------------------------------------


async def _ask(kit: Kit, row: Row, token: str | None) -> tuple[int, Any, dict[str, str], str]:
    target = await kit.target(row)
    if row.kind == "ws":
        headers = {"Upgrade": "websocket", "Connection": "Upgrade"}
        if token is not None:
            headers["X-Consul-Token"] = token
        refusal = await kit.router.admit(Request("GET", target, headers))
        if refusal is None:
            return 101, None, {}, ""
        return refusal.status, None, dict(refusal.headers), bytes(refusal.body).decode()
    resp = await kit.call(row.method, target, await kit.body(row), token)
    text = bytes(resp.body).decode(errors="replace")
    try:
        body = body_of(resp)
    except ValueError:
        body = text
    return resp.status, body, dict(resp.headers), text


def _refused(row: Row, status: int, text: str) -> bool:
    return status == row.denied and "Permission denied" in text


async def check_row(kit: Kit, row: Row) -> list[str]:
    """What is wrong with ``row`` (empty: nothing)."""
    problems: list[str] = []
    where = row.label()
    lack = await kit.token_for(row.lack) if row.lack else None
    grant = await kit.token_for(row.grant) if row.grant else None
    anon = await _ask(kit, row, None)
    if row.kind == "open":
        if anon[0] not in row.ok:
            problems.append(f"{where}: anonymous got {anon[0]} {anon[3]!r}, expected {row.ok}")
        return problems
    if row.kind == "open-token":
        return problems if (await _ask(kit, row, ROOT))[0] == 200 else [f"{where}: management token refused"]
    lacking = await _ask(kit, row, lack)
    if row.kind in ("deny", "deny-only", "ws"):
        for who, (status, _, _, text) in (("anonymous", anon), ("lacking token", lacking)):
            if not _refused(row, status, text):
                problems.append(f"{where}: {who} got {status} {text[:120]!r}, expected {row.denied} Permission denied")
        if row.kind == "deny-only":
            return problems
        status, _, _, text = await _ask(kit, row, grant)
        ok = (101,) if row.kind == "ws" else row.ok
        if status not in ok or _refused(row, status, text):
            problems.append(f"{where}: granted token got {status} {text[:120]!r}, expected {ok}")
        return problems
    assert row.kind == "filter" and row.shows is not None, where
    granted = await _ask(kit, row, grant)
    for who, (status, body, headers, text), should_show in (
            ("anonymous", anon, False), ("lacking token", lacking, False), ("granted token", granted, True)):
        if status not in row.ok and not (status == 404 and not should_show):
            problems.append(f"{where}: {who} got {status} {text[:120]!r}")
            continue
        if bool(row.shows(body)) != should_show:
            problems.append(f"{where}: {who} {'does not see' if should_show else 'sees'} the protected record: {text[:200]}")
    if row.header and lacking[2].get(FILTERED) != "true":
        problems.append(f"{where}: lacking token's answer has no {FILTERED} header")
    if FILTERED in anon[2]:
        problems.append(f"{where}: {FILTERED} set for an anonymous caller (Consul masks it)")
    return problems


@pytest.fixture
async def kit(nursery: trio.Nursery) -> Kit:
    made = await start_kit(nursery, acl_dev_config())
    await made.seed()
    return made


# -- the matrix -----------------------------------------------------------------------------------------


async def test_every_route_has_a_row(kit: Kit) -> None:
    routes = set(kit.router.routes())
    covered = {(r.method, r.pattern) for r in TABLE}
    assert not routes - covered, f"routes without a row in the ACL table: {sorted(routes - covered)}"
    assert not covered - routes, f"rows for routes that do not exist: {sorted(covered - routes)}"


@pytest.mark.parametrize("group", [*GROUPS, "agent"])
async def test_privilege_matrix(kit: Kit, group: str) -> None:
    rows = rows_of(group)
    assert rows
    problems: list[str] = []
    for row in rows:
        problems.extend(await check_row(kit, row))
    assert not problems, "\n".join(problems)


async def test_acls_disabled_nothing_is_refused(nursery: trio.Nursery) -> None:
    kit = await start_kit(nursery, acl_dev_config(enabled=False))
    await kit.seed()
    refused = []
    for row in TABLE:
        if row.kind in ("deny-only",) or row.pattern.startswith(("/v1/acl/", "/v1/agent/token/")):
            continue  # destructive, or the ACL API itself (401 with ACLs off)
        status, _, headers, text = await _ask(kit, row, None)
        if status == 403 or FILTERED in headers or (row.kind == "filter" and not row.shows(body_of_text(text))):
            refused.append(f"{row.label()}: {status} {text[:100]!r}")
    assert not refused, "\n".join(refused)


def body_of_text(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None
