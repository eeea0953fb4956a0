"""Generated histories: real sequential executions smeared into overlapping intervals are always
linearizable; mutations are caught whenever a brute-force search says they must be; big histories are fast."""

from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.checker import UNKNOWN, History, KVModel, Op, RegisterModel, check
from runtime.checker.model import register_step

KV = KVModel()
REG = RegisterModel()


def generate(
    rng: random.Random,
    *,
    keys: int,
    clients_per_key: int,
    ops_per_client: int,
    info_rate: float = 0.0,
    max_duration: float = 3.0,
    kv: bool = True,
) -> History:
    """A history produced by a real (sequential) register map.

    Each client issues ops back to back; each op takes effect at a random instant inside its interval,
    and outputs come from applying the ops in the order of those instants. Some ops become
    indeterminate (info): their effect is applied or dropped at random and their output hidden.
    """
    planned = []  # (effect time, client, f, key, arg, invoke, complete, info, applied)
    counter = itertools.count(1)
    for k in range(keys):
        key = f"k{k}"
        for c in range(clients_per_key):
            client = f"{key}/c{c}"
            t = rng.uniform(0, max_duration)
            for _ in range(ops_per_client):
                invoke = t
                complete = invoke + rng.uniform(0.01, max_duration)
                effect = rng.uniform(invoke, complete)
                roll = rng.random()
                if roll < 0.4:
                    f, arg = "read", None
                elif roll < 0.8:
                    f, arg = "write", next(counter)
                else:
                    f, arg = "cas", [rng.choice([None, 0]), next(counter)]  # old is fixed up below
                info = rng.random() < info_rate
                applied = (not info) or rng.random() < 0.5
                planned.append([effect, client, f, key, arg, invoke, complete, info, applied])
                t = complete + rng.uniform(0, max_duration / 3)
    planned.sort(key=lambda p: p[0])
    state: dict[str, object] = {}
    recent: dict[str, list] = {}
    ops = []
    for i, (effect, client, f, key, arg, invoke, complete, info, applied) in enumerate(planned):
        cur = state.get(key)
        if f == "cas":
            # aim for a mix of successes and failures
            choices = recent.get(key, [None])[-3:] + [cur, cur]
            arg = (rng.choice(choices), arg[1])
        inp = (f, key, arg) if kv else (f, arg)
        ok, new = register_step(cur, f, arg, UNKNOWN)
        if f == "read":
            output = cur
        elif f == "write":
            output = None
        else:
            output = cur == arg[0]
        if applied:
            state[key] = new
            if f != "read" and new != cur:
                recent.setdefault(key, []).append(new)
        if info:
            ops.append(Op(i, client, inp, UNKNOWN, invoke, None, "info"))
        else:
            ops.append(Op(i, client, inp, output, invoke, complete, "ok"))
    return History(ops)


def brute_force(history: History, model) -> bool:
    """Linearizable iff some total order respecting real time (ties are concurrent) is legal for `model`."""
    ops = [op for op in history.checkable()]
    ends = [math.inf if op.complete is None else op.complete for op in ops]

    def search(remaining: frozenset, state) -> bool:
        if not remaining:
            return True
        for i in remaining:
            # i may go next only if no remaining op finished strictly before i started
            if any(ends[j] < ops[i].invoke for j in remaining if j != i):
                continue
            ok, new = model.step(state, ops[i].input, ops[i].output)
            if ok and search(remaining - {i}, new):
                return True
        return False

    return search(frozenset(range(len(ops))), model.init())


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    keys=st.integers(1, 3),
    clients=st.integers(1, 4),
    per_client=st.integers(1, 8),
    info_rate=st.sampled_from([0.0, 0.0, 0.1, 0.3]),
)
def test_generated_histories_are_linearizable(seed, keys, clients, per_client, info_rate) -> None:
    rng = random.Random(seed)
    h = generate(rng, keys=keys, clients_per_key=clients, ops_per_client=per_client, info_rate=info_rate)
    res = check(h, KV, timeout=None)
    assert res.ok is True, res.explanation


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), keys=st.integers(1, 3), clients=st.integers(1, 4), per_client=st.integers(2, 8))
def test_read_of_unwritten_value_is_always_caught(seed, keys, clients, per_client) -> None:
    rng = random.Random(seed)
    h = generate(rng, keys=keys, clients_per_key=clients, ops_per_client=per_client, info_rate=0.1)
    reads = [op for op in h if op.input[0] == "read" and op.status == "ok"]
    if not reads:
        return
    victim = rng.choice(reads)
    mutated = History(replace(op, output=-1) if op is victim else op for op in h)
    res = check(mutated, KV, timeout=None)
    assert res.ok is False
    bad = {k for k, r in res.per_key.items() if r.ok is False}
    assert bad == {victim.input[1]}
    assert victim.id in {op.id for op in res.failing_window}


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), clients=st.integers(1, 3), per_client=st.integers(1, 3))
def test_mutations_agree_with_brute_force(seed, clients, per_client) -> None:
    rng = random.Random(seed)
    h = generate(rng, keys=1, clients_per_key=clients, ops_per_client=per_client, info_rate=0.2, kv=False)
    assert check(h, REG, timeout=None).ok is True
    values = sorted({op.input[1] for op in h if op.input[0] == "write"}) + [None]
    for _ in range(3):
        victim = rng.choice(h.ops)
        f = victim.input[0]
        if victim.status != "ok":
            new = replace(victim, invoke=victim.invoke + rng.uniform(0, 5))  # an info op started later
        elif f == "read":
            new = replace(victim, output=rng.choice(values))
        elif f == "cas":
            new = replace(victim, output=not victim.output)
        else:
            new = replace(victim, complete=victim.invoke + (victim.complete - victim.invoke) * rng.random())
        mutated = History(new if op is victim else op for op in h)
        assert check(mutated, REG, timeout=None).ok is brute_force(mutated, REG)
        h = mutated


def test_two_thousand_ops_check_quickly() -> None:
    rng = random.Random(20240601)
    h = generate(rng, keys=10, clients_per_key=5, ops_per_client=40, info_rate=0.0)
    assert len(h) == 2000
    start = time.perf_counter()
    res = check(h, KV)
    elapsed = time.perf_counter() - start
    assert res.ok is True, res.explanation
    assert len(res.per_key) == 10
    assert elapsed < 2.5, f"took {elapsed:.2f}s"

    # the same history with one stale read slipped in fails, also quickly: pick writes w1, w2 and a read
    # r with w1 -> w2 -> r in real time; r returning w1's value is impossible (values are never reused)
    k3 = [op for op in h if op.input[1] == "k3"]
    writes = [op for op in k3 if op.input[0] == "write"]
    victim = w1 = None
    for r in sorted((op for op in k3 if op.input[0] == "read"), key=lambda op: op.invoke):
        for a in writes:
            if any(a.complete < b.invoke and b.complete < r.invoke for b in writes):
                victim, w1 = r, a
                break
        if victim is not None:
            break
    assert victim is not None and w1 is not None
    mutated = History(replace(op, output=w1.input[2]) if op is victim else op for op in h)
    start = time.perf_counter()
    res = check(mutated, KV)
    elapsed = time.perf_counter() - start
    assert res.ok is False
    assert {k for k, r in res.per_key.items() if r.ok is False} == {"k3"}
    assert ["client", "invoke", "complete", "op", "result"] in [line.split() for line in res.explanation.splitlines()]
    assert elapsed < 2.5, f"took {elapsed:.2f}s"


def test_info_heavy_history_stays_bounded() -> None:
    rng = random.Random(7)
    h = generate(rng, keys=4, clients_per_key=4, ops_per_client=25, info_rate=0.05)
    start = time.perf_counter()
    res = check(h, KV, timeout=5.0)
    assert res.ok is True, res.explanation
    assert time.perf_counter() - start < 5.0
