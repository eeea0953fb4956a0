"""JSON request bodies of every write endpoint, fuzzed.

Two views. Over HTTP against a live ``-dev`` agent: whatever the body, the answer is a well-formed
response below 500 or one of the deliberate 500s Consul also gives, no handler crashes, no actor restarts,
and a refused agent-local registration changes nothing in the agent's local state. In process, against
the state endpoints on a `LocalBackend`: a refused request (anything but 200) leaves every table as it was.

Regression examples from the fuzz runs are pinned with ``@example``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from actors.api.self_register import register_self
from tests.api.conftest import Local
from tests.fuzz.fuzzkit import AgentThread, fuzz_settings

FIELDS = ["Node", "node", "Address", "Service", "service", "ID", "id", "Name", "name", "Port", "port", "Tags",
          "Check", "Checks", "checks", "Status", "ServiceID", "CheckID", "Definition", "Interval", "TTL", "ttl",
          "LockDelay", "Behavior", "NodeChecks", "ServiceChecks", "KV", "Verb", "Key", "Value", "Flags", "Index",
          "Session", "Meta", "meta", "NodeMeta", "TaggedAddresses", "tagged_addresses", "Weights", "Passing",
          "Datacenter", "SkipNodeUpdate", "HTTP", "TCP", "GRPC", "Header", "Method", "Timeout", "Output",
          "Notes", "DeregisterCriticalServiceAfter", "deregister_critical_service_after", "EnableTagOverride",
          "Kind", "Proxy", "Connect", "ScriptArgs", "Args", "AliasNode", "AliasService", "Token"]
VERBS = ["set", "get", "cas", "lock", "unlock", "delete", "delete-tree", "get-tree", "check-index",
         "check-session", "delete-cas", "release", "register", "deregister"]
TEXT = ["", "n1", "fuzz1", "web", "10s", "0s", "-5s", "1m", "1.5h", "9223372036854775808ns", "passing",
        "critical", "warning", "maintenance", "aGk=", "!!", "../a", "a/../b", "%2e%2e%2f", "a\x00b", " lead",
        "trail ", "\u00e9t\u00e9", "http://127.0.0.1:1/", "127.0.0.1:1", "release", "delete", "<script>"]
INTS = st.one_of(st.integers(-5, 70_000), st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63),
                                                           -(2**63) - 1, 10**30]))
scalars = st.one_of(st.none(), st.booleans(), INTS, st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(TEXT + VERBS), st.text(max_size=10))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=5)), inner, max_size=6),
    ),
    max_leaves=25,
)


def nested(depth: int) -> bytes:
    return b'{"Node": "x", "Address": "1.2.3.4", "NodeMeta": {"a": ' + b"[" * depth + b"]" * depth + b"}}"


raw_bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    st.sampled_from([b"", b"   ", b"{", b"[", b"nul", b'{"a":1}{"b":2}', b"\xff\xfe{}", nested(70), nested(2000),
                     b'{"Node":"x","Address":"1.2.3.4","Service":{"Service":"s","Port":18446744073709551616}}']),
)

# Every write endpoint that takes a body (the path part that varies is drawn separately).
ENDPOINTS = [
    ("PUT", "/v1/catalog/register"),
    ("PUT", "/v1/catalog/deregister"),
    ("PUT", "/v1/session/create"),
    ("PUT", "/v1/txn"),
    ("PUT", "/v1/agent/service/register"),
    ("PUT", "/v1/agent/check/register"),
    ("PUT", "/v1/agent/check/update/{}"),
    ("PUT", "/v1/kv/{}"),
    ("PUT", "/v1/event/fire/{}"),
    ("POST", "/v1/operator/keyring"),
]
# The 500s Consul gives on purpose for these endpoints (a body naming an unknown node, session or
# datacenter, gossip's own refusals); anything else at 500 is a crash.
DELIBERATE_500 = ("Missing node registration", "Missing check", "Missing service registration", "invalid session",
                  "No path to datacenter", "failed inserting check", "user event exceeds", "Invalid node filter",
                  "Invalid service filter", "Invalid tag filter", "Cannot provide tag filter",
                  "No keyring to modify", "Unknown check",
                  "Unknown check ID")


def local_state(agent: AgentThread) -> Any:
    state = agent.ctx.extras["local"].state  # type: ignore[union-attr]
    return agent.run_sync_in_agent(lambda: (repr(sorted(state.services.items())), repr(sorted(state.checks.items()))))


@given(endpoint=st.sampled_from(ENDPOINTS), part=st.sampled_from(["x", "web", "fuzz-check", "a%2Fb", "_rexec"]),
       body=raw_bodies)
@fuzz_settings(weight=1.0)
@example(endpoint=("PUT", "/v1/agent/service/register"), part="x", body=b'{"Name": "w", "Port": 1180591620717411303424}')
@example(endpoint=("PUT", "/v1/catalog/register"), part="x", body=nested(2000))
@example(endpoint=("PUT", "/v1/txn"), part="x", body=b'[{"KV": {"Verb": "set", "Key": "a", "Flags": 1180591620717411303424}}]')
@example(endpoint=("PUT", "/v1/session/create"), part="x", body=b'{"LockDelay": 1e300}')
def test_write_bodies_over_http(agent_thread: AgentThread, endpoint: tuple[str, str], part: str,
                                body: bytes) -> None:
    method, target = endpoint
    before = local_state(agent_thread)
    reply = agent_thread.request(method, target.format(part), body)
    text = reply.body.decode(errors="replace")
    if reply.status >= 500:
        assert reply.status == 500 and text.startswith(DELIBERATE_500), (target, body, reply)
    if reply.body:
        assert reply.headers.get("content-type"), reply
    if reply.status != 200 and "/agent/" in target:
        assert local_state(agent_thread) == before, (target, body, reply)
    agent_thread.assert_no_crash()


def test_agent_is_healthy_after_the_body_fuzz(agent_thread: AgentThread) -> None:
    agent_thread.assert_healthy()


STATE_ENDPOINTS = [("PUT", "/v1/catalog/register"), ("PUT", "/v1/catalog/deregister"), ("PUT", "/v1/session/create"),
                   ("PUT", "/v1/txn")]


def _tables(api: Local) -> dict[str, Any]:
    return {k: v for k, v in api.backend.store.statistics().items() if k != "last_index"}


@pytest.mark.parametrize("endpoint", STATE_ENDPOINTS, ids=[e[1] for e in STATE_ENDPOINTS])
@given(body=raw_bodies)
@fuzz_settings(weight=0.5)
async def test_refused_state_writes_write_nothing(endpoint: tuple[str, str], body: bytes) -> None:
    api = Local()
    await register_self(api.ctx)
    before = _tables(api)
    resp = await api.call(*endpoint, body)
    text = resp.body.decode(errors="replace")
    if resp.status >= 500:
        assert resp.status == 500 and text.startswith(DELIBERATE_500), (endpoint, body, text)
    if resp.status != 200:
        assert _tables(api) == before, (endpoint, body, resp.status, text)


@given(key=st.one_of(st.text(min_size=1, max_size=12),
                     st.sampled_from(["..", "../x", "a/../b", "a/..", " a", "a ", "a//b", "é/ü", "a%2Fb", "\x00",
                                      "a\x00b", "..\\x", ".", "a/./b", "x" * 1500])),
       encode=st.booleans(), query=st.sampled_from(["", "?cas=0", "?flags=1", "?flags=" + "9" * 5000, "?recurse",
                                                   "?raw", "?keys&separator=/", "?index=1&wait=1ms", "?acquire=x"]))
@fuzz_settings(weight=1.0)
def test_kv_key_paths_over_http(agent_thread: AgentThread, key: str, encode: bool, query: str) -> None:
    path = quote(key, safe="" if encode else "/")
    for method in ("PUT", "GET", "DELETE"):
        reply = agent_thread.request(method, "/v1/kv/" + path + query, b"v")
        assert reply.status in (200, 400, 404, 413), (method, key, query, reply)
    agent_thread.assert_no_crash()
