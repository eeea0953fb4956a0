"""Answers shared by the watchers one write wakes (`ReplyMemo`, `SharedReply`, the encoded-head cache)
and the blocking loop's re-read after a wake-up.

The risk of sharing is serving a watcher an answer to somebody else's question; these tests park
watchers that ask different questions of the same key at the same index, wake them with one write,
and check every answer against what that question must get, bytes and headers. The memo and the head
cache are also tested directly: a new store version, another store, another `ReadMeta` or other header
values must never hit.

What must never live here: blocking-query semantics one watcher at a time (``test_api_blocking``) or
fan-out at scale (``test_api_watchers``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import pytest
import trio
import trio.testing

from actors.api.common import install_common
from actors.api.reply import Api, ReplyMemo
from actors.api.state_api import install_state_api, register_self
from actors.backend import LocalBackend, ReadMeta
from actors.context import AgentContext
from actors.state.store import StateStore
from runtime.http import Response, Router
from runtime.http.serialize import encode_head, encode_response
from tests.api.conftest import Local
from tests.cluster.cluster_kit import HttpConn, wait_for


class Shared(Local):
    """`Local`, keeping the `Api` so tests can look at its memo."""

    def __init__(self, backend: LocalBackend | None = None) -> None:
        super().__init__()
        if backend is not None:
            backend.store = self.backend.store
            self.backend = self.ctx.backend = backend
        self.router = Router()
        install_common(self.router, self.ctx)
        self.api: Api = install_state_api(self.router, self.ctx)


@pytest.fixture
async def shared() -> Shared:
    api = Shared()
    await register_self(api.ctx)
    return api


def index_of(resp: Response) -> int:
    return int(resp.headers["X-Consul-Index"])


async def park(nursery: trio.Nursery, api: Local, targets: list[str]) -> list[list[Response]]:
    """Start one blocking GET per target; each slot gets its response once it answers."""
    slots: list[list[Response]] = [[] for _ in targets]

    async def run(i: int, target: str) -> None:
        slots[i].append(await api.call("GET", target))

    for i, target in enumerate(targets):
        nursery.start_soon(run, i, target)
    await trio.testing.wait_all_tasks_blocked()
    assert not any(slots), "a watcher answered before the write"
    return slots


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


async def test_one_write_wakes_different_questions_each_with_its_own_answer(
        shared: Shared, nursery: trio.Nursery) -> None:
    for key, value in (("app/hot", "v0"), ("app/hot/x", "x"), ("app/other", "o")):
        assert (await shared.call("PUT", f"/v1/kv/{key}", value)).status == 200
    at = shared.backend.index
    # The same key asked eight ways (twice each, so every question is answered from the memo once),
    # plus a watcher of an unrelated key that must stay parked.
    questions = [
        "/v1/kv/app/hot", "/v1/kv/app/hot?raw", "/v1/kv/app/hot?pretty", "/v1/kv/app/hot?raw&pretty",
        "/v1/kv/app/hot?recurse", "/v1/kv/app/hot?keys", "/v1/kv/app/?keys&separator=/",
        "/v1/kv/app/?recurse&pretty",
    ]
    targets = [f"{q}{'&' if '?' in q else '?'}index={at}" for q in questions for _ in range(2)]
    targets.append(f"/v1/kv/app/other?index={at}")
    slots = await park(nursery, shared, targets)

    assert (await shared.call("PUT", "/v1/kv/app/hot", "v1")).status == 200
    written = shared.backend.index
    await trio.testing.wait_all_tasks_blocked()
    assert not slots[-1], "the watcher of app/other woke on a write to app/hot"
    answers = [slot[0] for slot in slots[:-1]]
    # Each question built once, then shared; -dev pretty-prints anyway, so ``?pretty`` asks nothing new.
    assert len(shared.api.replies) == len(questions) - 2

    for i, resp in enumerate(answers):
        question = questions[i // 2]
        assert resp.status == 200, question
        assert index_of(resp) == written, question
        assert resp.headers["X-Consul-KnownLeader"] == "true"
        assert resp.headers["X-Consul-LastContact"] == "0"
        assert resp.headers["X-Consul-Effective-Consistency"] == "leader"
        assert resp.headers["X-Consul-Default-ACL-Policy"] == "allow"
        raw = "raw" in question
        assert (resp.headers.get("X-Content-Type-Options") == "nosniff") == raw, question
        assert resp.content_type == ("text/plain" if raw else "application/json"), question
        if raw:
            assert resp.body == b"v1", question
            continue
        # Pretty (``-dev`` pretty-prints everything: so does this Local) ends with a newline.
        assert resp.body.endswith(b"\n") and b"\n    " in resp.body, question
        body = json.loads(resp.body)
        if "keys&separator" in question:
            assert body == ["app/hot", "app/hot/", "app/other"]
        elif "keys" in question:
            assert body == ["app/hot", "app/hot/x"]
        elif "app/?recurse" in question:
            assert [(e["Key"], e["Value"]) for e in body] == [
                ("app/hot", b64("v1")), ("app/hot/x", b64("x")), ("app/other", b64("o"))]
        elif "recurse" in question:
            assert [(e["Key"], e["Value"]) for e in body] == [("app/hot", b64("v1")), ("app/hot/x", b64("x"))]
        else:
            assert [(e["Key"], e["Value"], e["ModifyIndex"]) for e in body] == [("app/hot", b64("v1"), written)]
    # Every answer owns its headers: what one response's after-hooks add reaches no other.
    answers[0].headers["X-Test"] = "mine"
    assert all("X-Test" not in resp.headers for resp in answers[1:])


async def test_compact_and_pretty_answers_are_not_shared() -> None:
    api = Shared()  # a Local is -dev (always pretty): switch that off to tell the two apart
    api.ctx.config = msgspec.structs.replace(api.ctx.config, dev=False)
    await register_self(api.ctx)
    assert (await api.call("PUT", "/v1/kv/k", "v")).status == 200
    compact = await api.call("GET", "/v1/kv/k")
    pretty = await api.call("GET", "/v1/kv/k?pretty")
    again = await api.call("GET", "/v1/kv/k")
    assert not compact.body.endswith(b"\n") and pretty.body.endswith(b"\n")
    assert json.loads(compact.body) == json.loads(pretty.body)
    assert again.body is compact.body  # the same question at the same version: the shared bytes


async def test_a_later_write_or_another_store_never_reuses_an_answer(shared: Shared) -> None:
    assert (await shared.call("PUT", "/v1/kv/k", "one")).status == 200
    first = await shared.call("GET", "/v1/kv/k?raw")
    assert first.body == b"one"
    # A write elsewhere changes the version: the same question is answered afresh (same bytes here).
    assert (await shared.call("PUT", "/v1/kv/elsewhere", "x")).status == 200
    assert (await shared.call("GET", "/v1/kv/k?raw")).body == b"one"
    assert (await shared.call("PUT", "/v1/kv/k", "two")).status == 200
    assert (await shared.call("GET", "/v1/kv/k?raw")).body == b"two"
    # A restored store at the very same last_index but different content.
    replaced = StateStore.restore(shared.backend.store.snapshot())
    shared.backend.store = replaced
    assert (await shared.call("GET", "/v1/kv/k?raw")).body == b"two"
    fresh = StateStore()
    fresh.last_index = replaced.last_index  # same version number, another store object
    shared.backend.store = fresh
    assert (await shared.call("GET", "/v1/kv/k?raw")).status == 404


def test_reply_memo_keys_versions_and_bounds() -> None:
    memo = ReplyMemo(limit=2)
    store, other = StateStore(), StateStore()
    leader = ReadMeta(known_leader=True, last_contact_ms=0, consistency="leader")
    lost = ReadMeta(known_leader=False, last_contact_ms=0, consistency="leader")
    memo.put(store, 5, ("q", leader), Response(200, b"a", {"X-Consul-Index": "5"}))
    hit = memo.get(store, 5, ("q", leader))
    assert hit is not None and hit.body == b"a" and hit.headers == {"X-Consul-Index": "5"} and hit.repeated
    assert memo.get(store, 5, ("q", lost)) is None  # other X-Consul-* headers: another answer
    assert memo.get(store, 6, ("q", leader)) is None
    assert memo.get(other, 5, ("q", leader)) is None
    # An older version never evicts the newer one; a newer version replaces everything.
    memo.put(store, 6, ("q", leader), Response(200, b"b"))
    memo.put(store, 5, ("r", leader), Response(200, b"old"))
    assert memo.get(store, 5, ("r", leader)) is None
    got = memo.get(store, 6, ("q", leader))
    assert got is not None and got.body == b"b"
    assert memo.get(store, 5, ("q", leader)) is None
    # Bounded: past ``limit`` questions, answers are built but not kept.
    memo.put(store, 6, ("r", leader), Response(200, b"r"))
    memo.put(store, 6, ("s", leader), Response(200, b"s"))
    assert len(memo) == 2 and memo.get(store, 6, ("s", leader)) is None
    hit.headers["X-Mutated"] = "1"  # a caller's copy: the memo's own headers are untouched
    memo.put(store, 7, ("q", leader), Response(200, b"c", {"A": "1"}))
    one, two = memo.get(store, 7, ("q", leader)), memo.get(store, 7, ("q", leader))
    assert one is not None and two is not None
    one.headers["B"] = "2"
    assert two.headers == {"A": "1"}


def test_cached_heads_match_fresh_encoding_and_never_cross() -> None:
    def repeated(status: int, body: bytes, headers: dict[str, Any], content_type: str = "application/json") -> Response:
        resp = Response(status, body, headers, content_type)
        resp.repeated = True
        return resp

    cases = [
        repeated(200, b"[1]", {"X-Consul-Index": "7"}),
        repeated(200, b"[1]", {"X-Consul-Index": "8"}),
        repeated(200, b"[22]", {"X-Consul-Index": "7"}),
        repeated(404, b"", {"X-Consul-Index": "7"}),
        repeated(200, b"[1]", {"X-Consul-Index": "7"}, "text/plain"),
        repeated(200, b"[1]", {"X-Consul-Index": "7", "Content-Type": "text/x"}),
    ]
    for flags in ((True, False, False), (False, False, False), (True, True, False), (True, False, True)):
        for resp in cases * 2:  # the second pass comes from the cache
            plain = Response(resp.status, resp.body, dict(resp.headers), resp.content_type)
            assert encode_response(resp, *flags) == encode_response(plain, *flags)
    bad = repeated(200, b"x", {"X-Evil": "a\r\nSet-Cookie: b"})
    with pytest.raises(ValueError):
        encode_response(bad)
    with pytest.raises(ValueError):
        encode_response(bad)  # refused again, never cached
    odd = repeated(200, b"x", {"X-List": ["a"]})  # unhashable: encoded without the cache
    assert encode_response(odd) == encode_head(odd) + b"x"


class Counting(LocalBackend):
    """Counts barriers and reports a LastContact of its own, so re-read headers can be traced."""

    def __init__(self) -> None:
        super().__init__(wall_ns=lambda: int(trio.current_time() * 1e9))
        self.barriers: list[str] = []
        self.contact = 0

    async def read_barrier(self, mode, max_stale=None):  # type: ignore[no-untyped-def]
        self.barriers.append(mode)
        return await super().read_barrier(mode, max_stale)

    def meta(self, consistency: str) -> ReadMeta:
        return ReadMeta(known_leader=True, last_contact_ms=self.contact, consistency=consistency)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode,barriers", [("", ["default"]), ("&stale", ["stale"]),
                                           ("&consistent", ["consistent", "consistent"])])
async def test_only_consistent_reads_pass_the_barrier_again_after_a_wake(
        nursery: trio.Nursery, mode: str, barriers: list[str]) -> None:
    backend = Counting()
    api = Shared(backend)
    await register_self(api.ctx)
    assert (await api.call("PUT", "/v1/kv/k", "v0")).status == 200
    at = index_of(await api.call("GET", "/v1/kv/k"))
    backend.barriers.clear()
    slots = await park(nursery, api, [f"/v1/kv/k?index={at}{mode}"])
    backend.contact = 42  # what the replica reports now, at the re-read
    assert (await api.call("PUT", "/v1/kv/k", "v1")).status == 200
    await trio.testing.wait_all_tasks_blocked()
    resp = slots[0][0]
    assert backend.barriers == barriers
    assert index_of(resp) == backend.index
    expected = {"": "leader", "&stale": "stale", "&consistent": "consistent"}[mode]
    assert resp.headers["X-Consul-Effective-Consistency"] == expected
    # Default and stale re-reads describe the replica now; consistent ones come from the new barrier.
    assert resp.headers["X-Consul-LastContact"] == ("0" if mode == "&consistent" else "42")


async def test_shared_answers_over_real_http(agent: AgentContext, nursery: trio.Nursery) -> None:
    addr = agent.http_addr
    assert addr is not None
    writer = HttpConn(addr)
    assert (await writer.request("PUT", "/v1/kv/shared/k", b"v0")).status == 200
    at = int((await writer.request("GET", "/v1/kv/shared/k")).headers["x-consul-index"])
    questions = ["/v1/kv/shared/k", "/v1/kv/shared/k?raw", "/v1/kv/shared/?keys", "/v1/kv/shared/k"]
    replies: dict[int, Any] = {}

    async def watch(i: int, target: str) -> None:
        conn = HttpConn(addr)
        try:
            replies[i] = await conn.request("GET", f"{target}{'&' if '?' in target else '?'}index={at}")
        finally:
            await conn.aclose()

    with trio.fail_after(20):
        for i, q in enumerate(questions):
            nursery.start_soon(watch, i, q)
        waiters = agent.extras["raft"].waiters
        await wait_for(lambda: len(waiters) == len(questions), what="every watcher parked")
        done = await writer.request("PUT", "/v1/kv/shared/k", b"v1")
        assert done.status == 200
        await wait_for(lambda: len(replies) == len(questions), what="every watcher answered")
    await writer.aclose()
    index = {int(r.headers["x-consul-index"]) for r in replies.values()}
    assert len(index) == 1 and index.pop() > at
    assert replies[1].body == b"v1" and replies[1].headers["content-type"] == "text/plain"
    assert json.loads(replies[2].body) == ["shared/k"]
    for i in (0, 3):
        assert replies[i].headers["content-type"] == "application/json"
        assert [e["Value"] for e in json.loads(replies[i].body)] == [b64("v1")]
        assert replies[i].headers["content-length"] == str(len(replies[i].body))
    assert replies[0].body == replies[3].body
