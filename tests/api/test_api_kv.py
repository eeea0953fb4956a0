"""``/v1/kv`` over raw HTTP against an in-process agent: statuses, bodies and headers."""

from __future__ import annotations

import base64

from actors.context import AgentContext
from tests.support.http_client import call


async def put(agent: AgentContext, target: str, body: bytes = b"") -> object:
    reply = await call(agent.http_addr, "PUT", target, body)
    assert reply.status == 200, reply
    return reply.json()


async def test_put_get_delete_roundtrip(agent: AgentContext) -> None:
    assert await put(agent, "/v1/kv/app/config?flags=42", b"hello") is True
    reply = await call(agent.http_addr, "GET", "/v1/kv/app/config")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    [entry] = reply.json()
    assert entry["Key"] == "app/config" and entry["Flags"] == 42 and entry["LockIndex"] == 0
    assert base64.b64decode(entry["Value"]) == b"hello"
    assert "Session" not in entry
    assert entry["CreateIndex"] == entry["ModifyIndex"] == int(reply.headers["x-consul-index"])
    assert reply.headers["x-consul-knownleader"] == "true"
    assert reply.headers["x-consul-lastcontact"] == "0"
    assert reply.headers["x-consul-effective-consistency"] == "leader"
    assert reply.headers["x-consul-default-acl-policy"] == "allow"

    deleted = await call(agent.http_addr, "DELETE", "/v1/kv/app/config")
    assert deleted.status == 200 and deleted.json() is True
    missing = await call(agent.http_addr, "GET", "/v1/kv/app/config")
    assert missing.status == 404 and missing.body == b""
    assert int(missing.headers["x-consul-index"]) > entry["ModifyIndex"]  # the delete's index
    assert missing.headers["x-consul-knownleader"] == "true"
    again = await call(agent.http_addr, "DELETE", "/v1/kv/app/config")
    assert again.json() is True  # deleting a missing key is true


async def test_empty_value_is_null_and_raw(agent: AgentContext) -> None:
    await put(agent, "/v1/kv/empty")
    [entry] = (await call(agent.http_addr, "GET", "/v1/kv/empty")).json()
    assert entry["Value"] is None
    await put(agent, "/v1/kv/bin", b"\x00\x01<script>")
    raw = await call(agent.http_addr, "GET", "/v1/kv/bin?raw")
    assert raw.status == 200 and raw.body == b"\x00\x01<script>"
    assert raw.headers["content-type"] == "text/plain"
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert raw.headers["content-security-policy"] == "sandbox"


async def test_recurse_keys_and_separator(agent: AgentContext) -> None:
    for key in ("base/foo", "base/base/foo", "base/bar", "other"):
        await put(agent, f"/v1/kv/{key}", key.encode())
    entries = (await call(agent.http_addr, "GET", "/v1/kv/base/?recurse")).json()
    assert [e["Key"] for e in entries] == ["base/bar", "base/base/foo", "base/foo"]
    keys = (await call(agent.http_addr, "GET", "/v1/kv/base/?keys")).json()
    assert keys == ["base/bar", "base/base/foo", "base/foo"]
    dirs = (await call(agent.http_addr, "GET", "/v1/kv/base/?keys&separator=/")).json()
    assert dirs == ["base/bar", "base/base/", "base/foo"]
    historic = (await call(agent.http_addr, "GET", "/v1/kv/base/?keys&seperator=/")).json()
    assert historic == dirs
    # ?recurse=false still recurses: Consul reads the flag by presence.
    assert len((await call(agent.http_addr, "GET", "/v1/kv/base/?recurse=false")).json()) == 3
    none = await call(agent.http_addr, "GET", "/v1/kv/nothing/?keys")
    assert none.status == 404 and none.body == b""
    root = await call(agent.http_addr, "GET", "/v1/kv/?recurse")
    assert root.status == 200 and len(root.json()) == 4

    deleted = await call(agent.http_addr, "DELETE", "/v1/kv/base/?recurse")
    assert deleted.json() is True
    assert (await call(agent.http_addr, "GET", "/v1/kv/base/?recurse")).status == 404
    assert (await call(agent.http_addr, "GET", "/v1/kv/other")).status == 200


async def test_cas(agent: AgentContext) -> None:
    assert await put(agent, "/v1/kv/c?cas=0", b"1") is True
    assert await put(agent, "/v1/kv/c?cas=0", b"2") is False  # exists already
    [entry] = (await call(agent.http_addr, "GET", "/v1/kv/c")).json()
    index = entry["ModifyIndex"]
    assert await put(agent, f"/v1/kv/c?cas={index + 100}", b"3") is False
    assert await put(agent, f"/v1/kv/c?cas={index}", b"4") is True
    stale = await call(agent.http_addr, "DELETE", f"/v1/kv/c?cas={index}")
    assert stale.json() is False
    [entry] = (await call(agent.http_addr, "GET", "/v1/kv/c")).json()
    assert (await call(agent.http_addr, "DELETE", f"/v1/kv/c?cas={entry['ModifyIndex']}")).json() is True


async def test_bad_input_answers(agent: AgentContext) -> None:
    addr = agent.http_addr
    cases = [
        ("GET", "/v1/kv/", 400, "Missing key name"),
        ("PUT", "/v1/kv/", 400, "Missing key name"),
        ("DELETE", "/v1/kv/", 400, "Missing key name"),
        ("GET", "/v1/kv/a/../b", 400, "URL path contains invalid traversal sequence"),
        ("PUT", "/v1/kv/..", 400, "URL path contains invalid traversal sequence"),
        ("GET", "/v1/kv/a/%2e%2e%2fb", 400, "URL path contains invalid traversal sequence"),
        ("GET", "/v1/kv/a/%252e%252e%252fb", 400, "URL path contains encoded traversal sequence"),
        ("PUT", "/v1/kv/nul%00key", 400, "Invalid URL path: the key contains non-printable characters"),
        ("PUT", "/v1/kv/x?flags=abc", 400, 'strconv.ParseUint: parsing "abc": invalid syntax'),
        ("PUT", "/v1/kv/x?cas=-1", 400, 'strconv.ParseUint: parsing "-1": invalid syntax'),
        ("PUT", "/v1/kv/x?flags=18446744073709551616", 400,
         'strconv.ParseUint: parsing "18446744073709551616": value out of range'),
        ("PUT", "/v1/kv/x?cas=1&release=abc", 400, "Conflicting flags: cas=1&release=abc\n"),
        ("DELETE", "/v1/kv/x?recurse&cas=3", 400, "Conflicting flags: cas=3&recurse=\n"),
        ("PUT", "/v1/kv/x?acquire=", 400, "missing session"),
        ("PUT", "/v1/kv/x?acquire=nope", 400, "failed session lookup: index error: UUID must be 36 characters"),
        ("PUT", "/v1/kv/x?acquire=00000000-0000-0000-0000-000000000000", 500,
         'invalid session "00000000-0000-0000-0000-000000000000"'),
        ("GET", "/v1/kv/x?index=abc", 400, "Invalid index"),
        ("GET", "/v1/kv/x?index=1&wait=forever", 400, "Invalid wait time"),
        ("GET", "/v1/kv/x?max_stale=soon", 400, 'Invalid max_stale value "soon"'),
        ("GET", "/v1/kv/x?dc=elsewhere", 500, "No path to datacenter"),
        ("PUT", "/v1/kv/x?dc=elsewhere", 500, "No path to datacenter"),
        ("POST", "/v1/kv/x", 405, "method POST not allowed"),
    ]
    for method, target, status, text in cases:
        reply = await call(addr, method, target)
        assert (reply.status, reply.text) == (status, text), (method, target)
        if status != 405:
            assert reply.headers["content-type"].startswith("text/plain")
    # Nothing was written by any of the refused requests.
    assert (await call(addr, "GET", "/v1/kv/x")).status == 404


async def test_value_size_limit(agent: AgentContext) -> None:
    limit = agent.config.limits.kv_max_value_size
    assert await put(agent, "/v1/kv/big", b"x" * limit) is True
    reply = await call(agent.http_addr, "PUT", "/v1/kv/big2", b"x" * (limit + 1))
    assert reply.status == 413
    assert reply.text == (
        f"Request body({limit + 1} bytes) too large, max size: {limit} bytes. "
        "See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size."
    )
    assert (await call(agent.http_addr, "GET", "/v1/kv/big2")).status == 404


async def test_lock_acquire_release(agent: AgentContext) -> None:
    sid = (await call(agent.http_addr, "PUT", "/v1/session/create", b"{}")).json()["ID"]
    other = (await call(agent.http_addr, "PUT", "/v1/session/create", b"{}")).json()["ID"]
    assert await put(agent, f"/v1/kv/lock?acquire={sid}", b"leader-a") is True
    assert await put(agent, f"/v1/kv/lock?acquire={other}", b"leader-b") is False
    [entry] = (await call(agent.http_addr, "GET", "/v1/kv/lock")).json()
    assert entry["Session"] == sid and entry["LockIndex"] == 1
    assert base64.b64decode(entry["Value"]) == b"leader-a"
    assert await put(agent, f"/v1/kv/lock?release={other}") is False
    assert await put(agent, f"/v1/kv/lock?release={sid}", b"done") is True
    [entry] = (await call(agent.http_addr, "GET", "/v1/kv/lock")).json()
    assert "Session" not in entry and entry["LockIndex"] == 1
    # A voluntary release starts no lock-delay: the other session can take it at once.
    assert await put(agent, f"/v1/kv/lock?acquire={other}") is True
