"""The KV register workload: clients doing read / write / cas on a few keys, recorded for the checker.

What lives here: `KVRegisterWorkload`. Each client has its own seeded stream (which key, which op) and
talks to one of the workload's target nodes, moving to the next one when it cannot connect. Every write
carries a value no other write uses (``<workload>/<client>/<seq>``), so an indeterminate op can be placed
and a stale read is provable. Ops are recorded in a `runtime.checker.HistoryRecorder` with times on the
run's clock, in the checker's `KVModel` vocabulary:

- read:  GET /v1/kv/<key>[?consistent|?stale][&dc=] -> ("read", k, None) -> value or None;
- write: PUT /v1/kv/<key>                       -> ("write", k, v) -> None;
- cas:   a recorded read giving (value, ModifyIndex), then PUT ?cas=<index> -> ("cas", k, (value, new))
  -> True/False. With unique values the index check is exactly "the value is still `value`".

Outcomes: an answer is ``ok``; no connection (nothing sent), a 4xx or a known refusal such as "No cluster
leader" is a definite ``fail``; a timeout, a lost connection or another 5xx after sending is ``info``
(it may have taken effect). Reads that fail are ``fail``: they change nothing.

What must never live here: judging the history (``checks/history.py`` runs the checker).
"""

from __future__ import annotations

import random
from typing import Any

import trio

from runtime.checker import HistoryRecorder

from ..agent_api import AgentError, MissingEndpoint
from ..durations import parse_duration
from ..http_client import ConnectFailed, HttpClientError
from ..schema_workloads import KVRegister
from .base import BaseWorkload, classify_agent_error


class KVRegisterWorkload(BaseWorkload):
    spec: KVRegister

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        spec = self.spec
        keys = spec.keys if isinstance(spec.keys, list) else [f"k{i}" for i in range(spec.keys)]
        self.keys = [spec.key_prefix + k for k in keys]
        self.recorder = HistoryRecorder()
        self.timeout = parse_duration(spec.timeout)
        mix = spec.mix
        self.ops = [op for op, w in (("read", mix.read), ("write", mix.write), ("cas", mix.cas)) if w > 0]
        self.weights = [w for w in (mix.read, mix.write, mix.cas) if w > 0]

    @property
    def stop_grace(self) -> float:
        return self.timeout + 1.0

    async def body(self) -> None:
        async with trio.open_nursery() as nursery:
            for i in range(self.spec.clients):
                nursery.start_soon(self.client, i)

    async def client(self, i: int) -> None:
        rng = self.ctx.stream(f"workload:{self.name}:client:{i}")
        interval = self.spec.clients / self.spec.rate if self.spec.rate > 0 else 0.0
        next_at = trio.current_time()
        state = {"attempt": 0, "seq": 0}
        while not self.stopping:
            if interval:
                next_at += interval
                await trio.sleep_until(next_at)
            else:
                await trio.sleep(0)
            key = self.keys[rng.randrange(len(self.keys))]
            op = rng.choices(self.ops, self.weights)[0]
            await self.one(i, op, key, rng, state)

    async def one(self, i: int, op: str, key: str, rng: random.Random, state: dict[str, int]) -> None:
        client = f"{self.name}/{i}"
        if op == "read":
            await self.read(client, i, key, state)
            return
        state["seq"] += 1
        value = f"{self.name}/{i}/{state['seq']}"
        if op == "write":
            await self.apply(client, i, key, ("write", key, value), None, state)
            return
        seen = await self.read(client, i, key, state)
        if seen is not None and not self.stopping:
            current, index = seen
            await self.apply(client, i, key, ("cas", key, (current, value)), index, state)

    def _now(self) -> float:
        return self.ctx.now()

    async def read(self, client: str, i: int, key: str, state: dict[str, int]) -> tuple[Any, int] | None:
        node = self.pick_node(i, state["attempt"])
        started = trio.current_time()
        op_id = self.recorder.invoke(client, ("read", key, None), self._now())
        try:
            value, index = await self.api(node).kv_get(key, self.spec.consistency, self.timeout, retry_stale=False,
                                                       dc=self.spec.dc)
        except MissingEndpoint:
            self.recorder.fail(op_id, self._now())
            raise
        except (AgentError, HttpClientError) as exc:
            self.recorder.fail(op_id, self._now())
            self.stats.record("read", "fail", trio.current_time() - started, trio.current_time())
            if isinstance(exc, ConnectFailed):
                state["attempt"] += 1
            return None
        self.recorder.ok(op_id, value, self._now())
        self.stats.record("read", "ok", trio.current_time() - started, trio.current_time())
        return value, index

    async def apply(self, client: str, i: int, key: str, op: tuple, cas: int | None, state: dict[str, int]) -> None:
        name = op[0]
        node = self.pick_node(i, state["attempt"])
        started = trio.current_time()
        op_id = self.recorder.invoke(client, op, self._now())
        try:
            value = op[2][1] if name == "cas" else op[2]
            swapped = await self.api(node).kv_put(key, value, cas=cas, timeout=self.timeout, retry_stale=False,
                                                  dc=self.spec.dc)
        except MissingEndpoint:
            self.recorder.fail(op_id, self._now())
            raise
        except AgentError as exc:
            self._unresolved(op_id, name, classify_agent_error(exc), started)
            return
        except HttpClientError as exc:
            self._unresolved(op_id, name, "fail" if exc.definite else "info", started)
            if isinstance(exc, ConnectFailed):
                state["attempt"] += 1
            return
        if name == "write" and not swapped:  # a plain PUT answering false was refused
            self._unresolved(op_id, name, "fail", started)
            return
        self.recorder.ok(op_id, swapped if name == "cas" else None, self._now())
        self.stats.record(name, "ok", trio.current_time() - started, trio.current_time())

    def _unresolved(self, op_id: int, name: str, outcome: str, started: float) -> None:
        if outcome == "fail":
            self.recorder.fail(op_id, self._now())
        else:
            self.recorder.info(op_id, self._now())
        self.stats.record(name, outcome, trio.current_time() - started, trio.current_time())  # type: ignore[arg-type]
