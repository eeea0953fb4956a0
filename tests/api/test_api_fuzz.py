"""Arbitrary JSON thrown at the write endpoints never crashes them: every answer is a 2xx/4xx/409, or
one of the deliberate 500s Consul also gives, and a refused request writes nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.api.state_api import register_self
from tests.api.conftest import Local

FIELDS = ["Node", "node", "Address", "Service", "service", "ID", "Port", "Tags", "Check", "Checks", "Status",
          "ServiceID", "CheckID", "Name", "Definition", "Interval", "TTL", "ttl", "LockDelay", "Behavior",
          "NodeChecks", "KV", "Verb", "Key", "Value", "Flags", "Index", "Session", "Meta", "TaggedAddresses",
          "Weights", "Datacenter", "SkipNodeUpdate"]
VERBS = ["set", "get", "cas", "lock", "unlock", "delete", "delete-tree", "get-tree", "check-index", "release"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "n1", "web", "10s", "0s", "passing", "critical", "aGk=", "!!", "1m", "-5s"] + VERBS),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=20,
)

ENDPOINTS = [("PUT", "/v1/catalog/register"), ("PUT", "/v1/catalog/deregister"), ("PUT", "/v1/session/create"),
             ("PUT", "/v1/txn")]
DELIBERATE_500 = ("Missing node registration", "Missing check", "Missing service registration", "invalid session",
                  "No path to datacenter", "failed inserting check")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(endpoint=st.sampled_from(ENDPOINTS), body=json_values)
async def test_write_endpoints_never_crash(endpoint: tuple[str, str], body: Any) -> None:
    api = Local()
    await register_self(api.ctx)
    before = api.backend.store.statistics()
    method, target = endpoint
    resp = await api.call(method, target, json.dumps(body))
    text = resp.body.decode(errors="replace")
    if resp.status >= 500:
        assert resp.status == 500 and text.startswith(DELIBERATE_500), (target, body, text)
    if resp.status not in (200,):
        after = api.backend.store.statistics()
        assert {k: v for k, v in after.items() if k != "last_index"} == {
            k: v for k, v in before.items() if k != "last_index"}


@settings(max_examples=100, deadline=None)
@given(key=st.text(min_size=1, max_size=12), query=st.sampled_from(
    ["", "?cas=0", "?flags=1", "?acquire=x", "?release=x", "?recurse", "?raw", "?keys&separator=/", "?index=1&wait=1ms"]))
async def test_kv_paths_never_crash(key: str, query: str) -> None:
    from urllib.parse import quote

    api = Local()
    for method in ("PUT", "GET", "DELETE"):
        resp = await api.call(method, "/v1/kv/" + quote(key, safe="") + query, b"v")
        assert resp.status in (200, 400, 404), (method, key, query, resp.body)
