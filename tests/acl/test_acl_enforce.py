"""ACL enforcement beyond the route table: the CVEs, transactions, key listing, DNS, token deletion, logs.

One ``-dev`` agent per test (``matrix_kit``), ACLs on with ``default_policy = "deny"``:

* CVE-2019-12291: a token for ``app/`` cannot delete ``app2/`` or ``apple`` (or everything) through a
  recursive delete, and nothing is removed when it tries; it can delete its own prefix;
* CVE-2021-38698: a transaction is checked op by op; one refused op refuses the whole transaction
  (409, Consul's per-op ``Errors``), and nothing is written; results are filtered by ``key:read``;
* ``acl.enable_key_list_policy``: listings then need ``list`` on the prefix;
* DNS answers what the agent's default token (or its ``dns`` token) may read, NXDOMAIN otherwise;
* a deleted token is refused on the very next request (``ACL not found``); an unknown one too;
* SecretIDs never appear in log records, however the request carries them;
* the inspector websocket handshake is refused over a real socket without ``operator:read``.
"""

from __future__ import annotations

import base64
from typing import Any

import dns.message
import dns.rcode
import pytest
import trio

from tests.acl.matrix_kit import FILTERED, ROOT, Kit, acl_dev_config, body_of, start_kit

APP_WRITE = 'key_prefix "app/" { policy = "write" }'


@pytest.fixture
async def kit(nursery: trio.Nursery) -> Kit:
    made = await start_kit(nursery, acl_dev_config())
    await made.seed()
    return made


async def keys(kit: Kit) -> list[str]:
    return await kit.root("GET", "/v1/kv/?keys")


# -- KV prefixes (CVE-2019-12291) ------------------------------------------------------------------


async def test_recursive_delete_needs_write_on_every_key_under_the_prefix(kit: Kit) -> None:
    token = await kit.token_for(APP_WRITE)
    before = await keys(kit)
    for target in ("/v1/kv/app?recurse", "/v1/kv/?recurse", "/v1/kv/a?recurse", "/v1/kv/ap?recurse"):
        resp = await kit.call("DELETE", target, token=token)
        assert resp.status == 403, (target, resp.status)
        prefix = target[len("/v1/kv/"):].split("?")[0]
        assert bytes(resp.body).decode() == (
            f"Permission denied: token with AccessorID '{await accessor(kit, token)}' lacks permission "
            f"'key:write' on \"{prefix}\"" if prefix else
            f"Permission denied: token with AccessorID '{await accessor(kit, token)}' lacks permission 'key:write'")
    assert await keys(kit) == before  # nothing removed
    assert (await kit.call("DELETE", "/v1/kv/app/?recurse", token=token)).status == 200
    assert await keys(kit) == ["app2/x", "apple", "other/y"]
    # a write rule with a read-only exception below it is not write on the whole prefix
    mixed = await kit.token_for('key_prefix "other/" { policy = "write" }\nkey "other/y" { policy = "read" }')
    assert (await kit.call("DELETE", "/v1/kv/other/?recurse", token=mixed)).status == 403
    assert (await kit.call("DELETE", "/v1/kv/other/z", token=mixed)).status == 200


async def accessor(kit: Kit, secret: str) -> str:
    resp = await kit.call("GET", "/v1/acl/token/self", token=secret)
    return body_of(resp)["AccessorID"]


async def test_locks_need_key_write_only(kit: Kit) -> None:
    session = await kit.new_session()
    reader = await kit.token_for('key_prefix "app/" { policy = "read" }')
    writer = await kit.token_for(APP_WRITE)
    assert (await kit.call("PUT", f"/v1/kv/app/lock?acquire={session}", b"x", reader)).status == 403
    resp = await kit.call("PUT", f"/v1/kv/app/lock?acquire={session}", b"x", writer)
    assert resp.status == 200 and body_of(resp) is True
    assert (await kit.call("PUT", f"/v1/kv/app/lock?release={session}", b"x", reader)).status == 403
    assert body_of(await kit.call("PUT", f"/v1/kv/app/lock?release={session}", b"x", writer)) is True
    assert (await kit.call("PUT", "/v1/kv/app/a?cas=1", b"x", reader)).status == 403


async def test_key_list_policy_guards_listings(nursery: trio.Nursery) -> None:
    kit = await start_kit(nursery, acl_dev_config(key_list_policy=True))
    await kit.seed()
    reader = await kit.token_for('key_prefix "app/" { policy = "read" }')
    lister = await kit.token_for('key_prefix "app/" { policy = "list" }')
    for target in ("/v1/kv/app/?recurse", "/v1/kv/app/?keys"):
        resp = await kit.call("GET", target, token=reader)
        assert resp.status == 403 and "lacks permission 'key:list' on \"app/\"" in bytes(resp.body).decode()
        assert (await kit.call("GET", target, token=lister)).status == 200
    assert (await kit.call("GET", "/v1/kv/app/a", token=reader)).status == 200  # plain reads unaffected
    assert (await kit.call("GET", "/v1/kv/?keys", token=lister)).status == 403


# -- transactions (CVE-2021-38698) ------------------------------------------------------------------


def kv_op(verb: str, key: str, value: bytes | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"Verb": verb, "Key": key, **extra}
    if value is not None:
        op["Value"] = base64.b64encode(value).decode()
    return {"KV": op}


async def test_txn_checks_every_op_and_writes_nothing_when_one_is_refused(kit: Kit) -> None:
    token = await kit.token_for(APP_WRITE)
    who = await accessor(kit, token)
    ops = [kv_op("set", "app/t", b"1"), kv_op("set", "app2/evil", b"1"), kv_op("delete-tree", "app"),
           {"Node": {"Verb": "set", "Node": {"Node": "n1", "Address": "6.6.6.6"}}},
           {"Service": {"Verb": "set", "Node": "n1", "Service": {"ID": "evil", "Service": "evil"}}},
           {"Check": {"Verb": "set", "Check": {"Node": "n1", "CheckID": "evil", "Name": "evil"}}},
           kv_op("check-index", "other/y", Index=1)]
    resp = await kit.call("PUT", "/v1/txn", ops, token)
    assert resp.status == 409, bytes(resp.body)
    body = body_of(resp)
    assert body["Results"] is None
    assert [(e["OpIndex"], e["What"]) for e in body["Errors"]] == [
        (1, f"Permission denied: token with AccessorID '{who}' lacks permission 'key:write' on \"app2/evil\""),
        (2, f"Permission denied: token with AccessorID '{who}' lacks permission 'key:write' on \"app\""),
        (3, f"Permission denied: token with AccessorID '{who}' lacks permission 'node:write' on \"n1\""),
        (4, f"Permission denied: token with AccessorID '{who}' lacks permission 'service:write' on \"evil\""),
        (5, f"Permission denied: token with AccessorID '{who}' lacks permission 'node:write' on \"n1\""),
        (6, f"Permission denied: token with AccessorID '{who}' lacks permission 'key:read' on \"other/y\""),
    ]
    assert "app/t" not in await keys(kit) and "app2/evil" not in await keys(kit)  # nothing written
    node = await kit.root("GET", "/v1/catalog/node/n1")
    assert node["Node"]["Address"] != "6.6.6.6" and "evil" not in node["Services"]
    # the same token's own ops commit, and a read-only transaction is filtered, not refused
    assert (await kit.call("PUT", "/v1/txn", [kv_op("set", "app/t", b"1")], token)).status == 200
    resp = await kit.call("PUT", "/v1/txn", [kv_op("get-tree", ""), kv_op("get", "other/y")], token)
    assert resp.status == 200
    assert [r["KV"]["Key"] for r in body_of(resp)["Results"]] == ["app/a", "app/b", "app/t"]
    assert resp.headers.get(FILTERED) == "true"


async def test_txn_service_id_cannot_be_taken_over_under_another_name(kit: Kit) -> None:
    token = await kit.token_for('service "api" { policy = "write" }')
    op = {"Service": {"Verb": "set", "Node": "n2", "Service": {"ID": "db-n2", "Service": "api"}}}
    resp = await kit.call("PUT", "/v1/txn", [op], token)
    assert resp.status == 409 and "service name does not match" in body_of(resp)["Errors"][0]["What"]
    assert (await kit.root("GET", "/v1/catalog/service/db"))[0]["ServiceID"] == "db-n2"


# -- catalog and sessions: the less obvious rules --------------------------------------------------


async def test_service_token_reregisters_without_node_write_but_cannot_change_the_node(kit: Kit) -> None:
    token = await kit.token_for('service "db" { policy = "write" }')
    same = {"Node": "n2", "Address": "10.0.0.2", "Service": {"ID": "db-n2", "Service": "db", "Port": 81}}
    assert (await kit.call("PUT", "/v1/catalog/register", same, token)).status == 200
    moved = {**same, "Address": "10.9.9.9"}
    resp = await kit.call("PUT", "/v1/catalog/register", moved, token)
    assert resp.status == 403 and "'node:write' on \"n2\"" in bytes(resp.body).decode()
    takeover = {**same, "Service": {"ID": "db-n2", "Service": "web"}}
    assert (await kit.call("PUT", "/v1/catalog/register", takeover, token)).status == 403
    # deregistering: service:write on the service is enough for it, not for the node
    assert (await kit.call("PUT", "/v1/catalog/deregister", {"Node": "n2"}, token)).status == 403
    assert (await kit.call("PUT", "/v1/catalog/deregister", {"Node": "n2", "ServiceID": "db-n2"}, token)).status == 200


async def test_session_destroy_needs_write_on_the_sessions_node(kit: Kit) -> None:
    sid = await kit.new_session()
    other = await kit.token_for('session "n2" { policy = "write" }')
    assert (await kit.call("PUT", f"/v1/session/destroy/{sid}", token=other)).status == 403
    assert (await kit.root("GET", f"/v1/session/info/{sid}"))  # still there


# -- DNS ------------------------------------------------------------------------------------------------


async def ask(kit: Kit, name: str, rdtype: str = "A") -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    with trio.fail_after(10):
        reply = await kit.ctx.extras["dns.handler"].answer(query.to_wire(), "udp")
    return dns.message.from_wire(reply)


def addresses(reply: dns.message.Message) -> list[str]:
    return sorted(r.to_text() for rr in reply.answer for r in rr if rr.rdtype in (1, 28))


async def test_dns_answers_what_the_agents_default_token_may_read(kit: Kit) -> None:
    for name in ("db.service.consul.", "web.service.consul.", "n2.node.consul.", "consul.service.consul."):
        assert (await ask(kit, name)).rcode() == dns.rcode.NXDOMAIN, name  # anonymous under deny
    assert (await ask(kit, "2.0.0.10.in-addr.arpa.", "PTR")).rcode() == dns.rcode.NXDOMAIN
    reader = await kit.token_for('service "db" { policy = "read" }\nnode "n2" { policy = "read" }')
    await kit.root("PUT", "/v1/agent/token/default", {"Token": reader})
    assert addresses(await ask(kit, "db.service.consul.")) == ["10.0.0.2"]
    assert addresses(await ask(kit, "n2.node.consul.")) == ["10.0.0.2"]
    srv = await ask(kit, "db.service.consul.", "SRV")
    assert [r.port for rr in srv.answer for r in rr] == [80]
    for name in ("web.service.consul.", "n3.node.consul.", "tmp.service.consul."):
        assert (await ask(kit, name)).rcode() == dns.rcode.NXDOMAIN, name
    assert [r.to_text() for rr in (await ask(kit, "2.0.0.10.in-addr.arpa.", "PTR")).answer for r in rr] == [
        "n2.node.dc1.consul."]
    # the dns token, when set, is the one DNS uses
    await kit.root("PUT", "/v1/agent/token/dns", {"Token": await kit.token_for(
        'service "web" { policy = "read" }\nnode "n3" { policy = "read" }')})
    assert addresses(await ask(kit, "web.service.consul.")) == ["10.0.0.3"]
    assert (await ask(kit, "db.service.consul.")).rcode() == dns.rcode.NXDOMAIN
    # an unknown DNS token answers SERVFAIL, never the data
    await kit.root("PUT", "/v1/agent/token/dns", {"Token": "00000000-0000-4000-8000-00000000beef"})
    assert (await ask(kit, "web.service.consul.")).rcode() == dns.rcode.SERVFAIL


# -- tokens ---------------------------------------------------------------------------------------------


async def test_deleted_token_is_refused_on_the_next_request(kit: Kit) -> None:
    made = await kit.root("PUT", "/v1/acl/token", {"Policies": [{"ID": (await kit.root(
        "PUT", "/v1/acl/policy", {"Name": "reader", "Rules": 'key_prefix "" { policy = "read" }'}))["ID"]}]})
    secret = made["SecretID"]
    assert (await kit.call("GET", "/v1/kv/app/a", token=secret)).status == 200
    await kit.root("DELETE", f"/v1/acl/token/{made['AccessorID']}")
    for method, target in (("GET", "/v1/kv/app/a"), ("GET", "/v1/kv/?keys"), ("GET", "/v1/catalog/nodes"),
                           ("GET", "/v1/agent/self"), ("GET", "/v1/agent/actors"), ("PUT", "/v1/txn")):
        resp = await kit.call(method, target, [] if target == "/v1/txn" else None, secret)
        assert (resp.status, bytes(resp.body).decode()) == (403, "ACL not found"), target


async def test_secrets_never_reach_the_logs(kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)
    good = await kit.token_for('key_prefix "app/" { policy = "read" }')
    bad = "00000000-0000-4000-8000-0000deadbeef"
    for secret in (good, bad, ROOT):
        for target in (f"/v1/kv/app/a?token={secret}", f"/v1/kv/other/y?token={secret}",
                       f"/v1/agent/actors/crash?token={secret}", f"/v1/agent/faults?token={secret}"):
            await kit.call("PUT" if "actors/" in target or "faults" in target else "GET", target, b"{")
        await kit.call("PUT", "/v1/agent/token/default", {"Token": secret}, ROOT)
        await kit.call("GET", "/v1/kv/other/y")  # made with the default token just set
    text = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')} {r.exc_text or ''}" for r in caplog.records)
    for secret in (good, bad, ROOT):
        assert secret not in text


async def test_inspector_websocket_handshake_refused_over_http(kit: Kit) -> None:
    host, port = kit.ctx.http_addr
    reader = await kit.token_for('operator = "read"')
    for token, expect in ((None, b"403"), ("00000000-0000-4000-8000-0000000000aa", b"403"), (reader, b"101")):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            lines = ["GET /v1/agent/actors HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
            if token:
                lines.append(f"X-Consul-Token: {token}")
            await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
            with trio.fail_after(10):
                head = await stream.receive_some(4096)
        assert head.split(b" ")[1] == expect, head[:200]
