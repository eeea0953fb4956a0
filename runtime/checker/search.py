"""The linearizability check: a Wing & Gong search with Lowe's memoization, per partition of the history.

What lives here: `check(history, model, timeout=..., max_steps=...) -> CheckResult`, the per-partition
search, and the result types.

The search (after Wing & Gong 1993, with the state cache of Lowe 2017 that porcupine also uses):
every op contributes a call entry at its invocation time and a return entry at its completion time;
entries are sorted by time, calls before returns on ties (ops that touch at an instant count as
concurrent). Walking the list from the front, a call entry is a candidate to take effect now: if the
model accepts it from the current state and the pair (set of linearized ops, resulting state) has not
been explored yet, the op is linearized, its two entries are unlinked from the list, and the walk
restarts at the front. Reaching a return entry means that op's deadline passed without it being
linearized, so the last choice is undone (its entries are linked back, the state restored) and the walk
resumes after it. The history is linearizable when the list empties, and is not when the stack empties
at a return entry. The cache is what makes this practical: two orders reaching the same set of
linearized ops in the same state have the same future, so only one is explored.

Indeterminate ("info") ops get their return entry at +infinity: they may be linearized at any point
after their invocation, including after every other op. Linearizing an op after every observed op is
indistinguishable from it never having happened, since no completed op can observe it, and the only
ops that can follow it are other info ops, which the model accepts in every state because their output
is unknown. So "return at infinity" allows both outcomes without a separate "omit" choice, and the
search may still insist that every op be linearized. Info ops that cannot change the state (reads)
constrain nothing and are dropped before the search.

On failure the deepest point the search reached is reported: the longest linearizable prefix found, the
state after it, and the ops that were pending when the earliest of them ran out of time, each with the
reason it could not go next (the model rejects it in that state, or every continuation after it failed).

The search is bounded by a wall-clock `timeout` and/or a `max_steps` budget per check; running out
yields the verdict "unknown" (``ok is None``) rather than an answer.

What must never live here: model semantics, history recording, I/O beyond building strings, trio, or
any import of ``actors``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable, Literal, Sequence

from .history import History, Op
from .model import Model

Verdict = Literal["ok", "fail", "unknown"]
_CHECK_CLOCK_EVERY = 2048


@dataclass
class PartitionResult:
    """Outcome for one partition (one key of a KV history)."""

    key: Hashable
    ok: bool | None
    ops: int
    steps: int
    prefix: list[Op] = field(default_factory=list)  # longest linearizable prefix, in linearization order
    stuck: list[Op] = field(default_factory=list)  # first: the op that ran out of time; then other pending ops
    reasons: dict[int, str] = field(default_factory=dict)  # op id -> why it could not be linearized next
    state: Any = None  # model state after `prefix`
    explanation: str = ""

    @property
    def verdict(self) -> Verdict:
        return "ok" if self.ok else ("unknown" if self.ok is None else "fail")


@dataclass
class CheckResult:
    """``ok`` is True (linearizable), False (not), or None (search budget exhausted: unknown)."""

    ok: bool | None
    per_key: dict[Hashable, PartitionResult]
    failing_window: list[Op] | None
    explanation: str

    @property
    def verdict(self) -> Verdict:
        return "ok" if self.ok else ("unknown" if self.ok is None else "fail")

    def __bool__(self) -> bool:
        raise TypeError("use CheckResult.ok (True, False or None for unknown), not truthiness")


class _OutOfBudget(Exception):
    pass


def _search(
    key: Hashable, ops: Sequence[Op], model: Model, deadline: float | None, max_steps: int | None
) -> PartitionResult:
    n = len(ops)
    if n == 0:
        return PartitionResult(key, True, 0, 0)

    # Entries: position in `order` is the entry's index; HEAD and TAIL are sentinels.
    events = []
    for i, op in enumerate(ops):
        events.append((op.invoke, 0, i))
        events.append((math.inf if op.complete is None else op.complete, 1, i))
    events.sort()
    m = len(events)
    head, tail = m, m + 1
    nxt = list(range(1, m + 1)) + [0, 0]
    prv = [head] + list(range(0, m - 1)) + [0, 0]
    nxt[m - 1] = tail
    nxt[head] = 0
    prv[tail] = m - 1
    is_call = [kind == 0 for _, kind, _ in events]
    op_of = [i for _, _, i in events]
    ret_pos = [0] * n
    for pos, (_, kind, i) in enumerate(events):
        if kind == 1:
            ret_pos[i] = pos
    match = [ret_pos[op_of[pos]] if is_call[pos] else -1 for pos in range(m)]

    inputs = [op.input for op in ops]
    outputs = [op.output for op in ops]
    step = model.step
    state_key = model.key

    state = model.init()
    linearized = 0
    cache: set[tuple[int, Hashable]] = {(0, state_key(state))}
    stack: list[tuple[int, Any]] = []  # (call entry, state before it)
    steps = 0
    best_depth = -1
    best: tuple[list[int], Any, int, list[int]] | None = None

    entry = nxt[head]
    try:
        while nxt[head] != tail:
            steps += 1
            if steps % _CHECK_CLOCK_EVERY == 0:
                if max_steps is not None and steps > max_steps:
                    raise _OutOfBudget
                if deadline is not None and time.monotonic() > deadline:
                    raise _OutOfBudget
            if is_call[entry]:
                i = op_of[entry]
                ok, new_state = step(state, inputs[i], outputs[i])
                if ok:
                    new_lin = linearized | (1 << i)
                    memo = (new_lin, state_key(new_state))
                    if memo not in cache:
                        cache.add(memo)
                        stack.append((entry, state))
                        state = new_state
                        linearized = new_lin
                        # unlink the call entry and its return entry
                        r = match[entry]
                        nxt[prv[entry]] = nxt[entry]
                        prv[nxt[entry]] = prv[entry]
                        nxt[prv[r]] = nxt[r]
                        prv[nxt[r]] = prv[r]
                        entry = nxt[head]
                        continue
                entry = nxt[entry]
            else:
                if len(stack) > best_depth:
                    best_depth = len(stack)
                    pending = []
                    e = nxt[head]
                    while e != entry:
                        if is_call[e]:
                            pending.append(op_of[e])
                        e = nxt[e]
                    best = ([op_of[c] for c, _ in stack], state, op_of[entry], pending)
                if not stack:
                    break
                call, state = stack.pop()
                i = op_of[call]
                linearized &= ~(1 << i)
                # relink in reverse order of unlinking
                r = match[call]
                nxt[prv[r]] = r
                prv[nxt[r]] = r
                nxt[prv[call]] = call
                prv[nxt[call]] = call
                entry = nxt[call]
    except _OutOfBudget:
        return PartitionResult(key, None, n, steps, explanation=f"gave up after {steps} search steps")

    if nxt[head] == tail:
        return PartitionResult(key, True, n, steps)

    assert best is not None
    prefix_ids, best_state, late, pending = best
    stuck_ids = [late] + [i for i in pending if i != late]
    reasons: dict[int, str] = {}
    for i in stuck_ids:
        ok, _ = step(best_state, inputs[i], outputs[i])
        if ok:
            reasons[ops[i].id] = "could go next, but every order of the remaining ops fails after it"
        else:
            reasons[ops[i].id] = f"impossible in state {model.describe_state(best_state)}"
    late_op = ops[late]
    reasons[late_op.id] = (
        f"must take effect before it returned at {late_op.complete}; {reasons[late_op.id]}"
    )
    return PartitionResult(
        key,
        False,
        n,
        steps,
        prefix=[ops[i] for i in prefix_ids],
        stuck=[ops[i] for i in stuck_ids],
        reasons=reasons,
        state=best_state,
    )


def check(
    history: History | Iterable[Op],
    model: Model,
    *,
    timeout: float | None = 10.0,
    max_steps: int | None = None,
    stop_on_failure: bool = False,
) -> CheckResult:
    """Check `history` for linearizability against `model`, partition by partition.

    `timeout` (seconds, for the whole check) and `max_steps` (per partition) bound the search; a
    partition that runs out is "unknown". The overall verdict is False if any partition fails, else
    None if any is unknown, else True.
    """
    from .report import explain_failure  # local: report imports this module's types

    if not isinstance(history, History):
        history = History(history)
    ops = [op for op in history.checkable() if not (op.is_info and model.read_only(op.input))]
    deadline = None if timeout is None else time.monotonic() + timeout
    per_key: dict[Hashable, PartitionResult] = {}
    parts = model.partition(ops)
    failed: PartitionResult | None = None
    for key, sub in parts:
        if failed is not None and stop_on_failure:
            per_key[key] = PartitionResult(key, None, len(sub), 0, explanation="not checked")
            continue
        if deadline is not None and time.monotonic() > deadline:
            per_key[key] = PartitionResult(key, None, len(sub), 0, explanation="not checked: out of time")
            continue
        res = _search(key, sub, model, deadline, max_steps)
        if res.ok is False:
            res.explanation = explain_failure(res, model)
            failed = failed or res
        elif res.ok:
            res.explanation = f"linearizable ({res.ops} ops, {res.steps} search steps)"
        per_key[key] = res

    results = list(per_key.values())
    if failed is not None:
        n_bad = sum(1 for r in results if r.ok is False)
        head = f"NOT linearizable: {n_bad} of {len(results)} partition(s) fail"
        window = failed.prefix + failed.stuck
        return CheckResult(False, per_key, window, head + "\n\n" + failed.explanation)
    unknown = [r for r in results if r.ok is None]
    if unknown:
        keys = ", ".join(repr(r.key) for r in unknown[:10])
        return CheckResult(
            None, per_key, None, f"UNKNOWN: search budget exhausted for {len(unknown)} partition(s): {keys}"
        )
    total = sum(r.ops for r in results)
    return CheckResult(True, per_key, None, f"linearizable: {total} ops in {len(results)} partition(s)")
