"""Checks over recorded KV histories: ``linearizable`` and ``no-acknowledged-write-lost``.

What lives here: both probes. ``linearizable`` runs `runtime.checker.check` with `KVModel` (key by key)
in a worker thread, so the live view keeps moving; on failure its report is the checker's failing-window
table. ``no-acknowledged-write-lost`` restarts every node (SIGTERM, same data dirs and ports; unless
``restart = false``), waits for readiness, reads every key the workload touched with ``?consistent``, adds
those reads to the history as a final client's ops and checks again: an acknowledged write that vanished
makes the final read impossible to linearize. Keys whose acknowledged writes left no value at all are
named explicitly.

What must never live here: recording (``workloads/kv_register.py``) or the search (``runtime/checker``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import trio

from runtime.checker import History, KVModel, Op, check

from ..context import RunContext
from ..durations import parse_duration
from ..schema_checks import Linearizable, NoAcknowledgedWriteLost
from ..workloads.kv_register import KVRegisterWorkload
from .base import BaseCheck, Verdict, first_live


def kv_workloads(ctx: RunContext, name: str | None) -> list[KVRegisterWorkload]:
    return [w for n, w in ctx.workloads.items() if isinstance(w, KVRegisterWorkload) and name in (None, n)]


async def judge(history: History, timeout: float, label: str) -> Verdict:
    ok_ops = sum(1 for op in history if op.status == "ok")
    if ok_ops == 0:
        return Verdict(None, f"{label}: no operation completed, nothing to judge")
    result = await trio.to_thread.run_sync(partial(check, history, KVModel(), timeout=timeout))
    keys = len(result.per_key)
    counts = f"{len(history)} ops ({ok_ops} ok) over {keys} keys"
    if result.ok:
        return Verdict(True, f"{label}: linearizable, {counts}")
    if result.ok is None:
        return Verdict(None, f"{label}: undecided within {timeout:g}s, {counts}", report=result.explanation)
    bad = [str(k) for k, r in result.per_key.items() if r.ok is False]
    return Verdict(False, f"{label}: NOT linearizable on {', '.join(bad)} ({counts})", report=result.explanation)


class LinearizableCheck(BaseCheck):
    spec: Linearizable
    continuous = False

    async def probe(self, ctx: RunContext) -> Verdict:
        verdicts = []
        for w in kv_workloads(ctx, self.spec.workload):
            if w.error:
                verdicts.append(Verdict(False, f"{w.name}: {w.error}"))
                continue
            verdicts.append(await judge(w.recorder.history(), parse_duration(self.spec.timeout), w.name))
        return combine(verdicts)


def combine(verdicts: list[Verdict]) -> Verdict:
    if not verdicts:
        return Verdict(None, "no kv-register workload ran")
    worst = next((v for v in verdicts if v.ok is False), None) or next((v for v in verdicts if v.ok is None), None)
    ok = True if worst is None else worst.ok
    return Verdict(ok, "; ".join(v.detail for v in verdicts), report="\n\n".join(v.report for v in verdicts if v.report))


class NoWriteLostCheck(BaseCheck):
    spec: NoAcknowledgedWriteLost
    continuous = False

    async def probe(self, ctx: RunContext) -> Verdict:
        if self.spec.restart:
            await restart_everyone(ctx)
        verdicts = []
        for w in kv_workloads(ctx, self.spec.workload):
            if w.error:
                verdicts.append(Verdict(False, f"{w.name}: {w.error}"))
                continue
            verdicts.append(await self.one(ctx, w))
        return combine(verdicts)

    async def one(self, ctx: RunContext, w: KVRegisterWorkload) -> Verdict:
        history = w.recorder.history()
        node = first_live(ctx)
        if node is None:
            return Verdict(False, "no live node to read the final values from")
        api = ctx.launcher.node(node).api
        ops = list(history)
        next_id = max((op.id for op in ops), default=-1) + 1
        finals: dict[str, object] = {}
        for key in w.keys:
            invoke = ctx.now()
            value, _ = await api.kv_get(key, "consistent")
            finals[key] = value
            ops.append(Op(next_id, "final", ("read", key, None), value, invoke, ctx.now(), "ok"))
            next_id += 1
        lost = [k for k in w.keys if finals[k] is None and acknowledged(history, k)]
        verdict = await judge(History(ops), 30.0, f"{w.name} after restart")
        if lost:
            return replace(verdict, ok=False, detail=f"{w.name}: acknowledged writes lost: {', '.join(lost)} "
                           f"are absent after the restart; " + verdict.detail)
        return verdict


def acknowledged(history: History, key: str) -> bool:
    return any(op.status == "ok" and op.input[1] == key and
               (op.input[0] == "write" or (op.input[0] == "cas" and op.output is True)) for op in history)


async def restart_everyone(ctx: RunContext) -> None:
    launcher = ctx.launcher
    ctx.event("check", "restarting every node for no-acknowledged-write-lost")
    await launcher.stop_all()
    await launcher.start_all(ctx.ready_timeout)
    if ctx.ready_mode == "leader":
        await launcher.wait_leader(ctx.ready_timeout)
