"""Hand-made histories for the linearizability checker: anomalies it must catch, and look-alikes it must accept."""

from __future__ import annotations

import pytest

from runtime.checker import (
    UNKNOWN,
    History,
    HistoryError,
    HistoryRecorder,
    KVModel,
    Op,
    RegisterModel,
    check,
    format_ops,
)

REG = RegisterModel()
KV = KVModel()


def H(*rows: tuple) -> History:
    """Rows of (client, input, output, invoke, complete); complete=None is an info op, output "fail" a failed op."""
    return History.from_tuples(rows)


def W(v):
    return ("write", v)


R = ("read", None)


def CAS(old, new):
    return ("cas", (old, new))


def verdict(history: History, model=REG) -> bool | None:
    return check(history, model).ok


# ------------------------------------------------------------------------------------------ basics


def test_empty_history_is_linearizable() -> None:
    assert verdict(H()) is True
    assert verdict(H(), KV) is True


def test_sequential_history() -> None:
    h = H(("a", R, None, 0, 1), ("a", W(1), None, 2, 3), ("b", R, 1, 4, 5), ("b", W(2), None, 6, 7), ("a", R, 2, 8, 9))
    res = check(h, REG)
    assert res.ok is True and res.verdict == "ok"
    assert res.failing_window is None
    assert "linearizable" in res.explanation


def test_stale_read() -> None:
    h = H(("a", W(1), None, 0, 1), ("a", W(2), None, 2, 3), ("b", R, 1, 4, 5))
    res = check(h, REG)
    assert res.ok is False and res.verdict == "fail"
    stale = h.ops[2]
    assert res.failing_window[-1] == stale  # the read is what could not be placed
    assert res.failing_window[:-1] == [h.ops[0], h.ops[1]]  # after the longest linearizable prefix
    text = res.explanation
    assert "NOT linearizable" in text
    assert "client  invoke  complete  op       result" in text
    assert "impossible in state 2" in text


def test_read_concurrent_with_write_may_see_old_or_new() -> None:
    base = [("a", W(1), None, 0, 1), ("a", W(2), None, 2, 10)]
    assert verdict(H(*base, ("b", R, 1, 3, 4))) is True
    assert verdict(H(*base, ("b", R, 2, 3, 4))) is True
    assert verdict(H(*base, ("b", R, 2, 3, 4), ("b", R, 1, 5, 6))) is False  # new then old: no
    assert verdict(H(*base, ("b", R, 1, 11, 12))) is False  # after the write returned: must be new


def test_read_of_a_value_never_written() -> None:
    assert verdict(H(("a", R, None, 0, 1))) is True
    assert verdict(H(("a", R, 7, 0, 1))) is False
    assert verdict(H(("a", W(1), None, 0, 5), ("b", R, 7, 1, 2))) is False


def test_lost_write() -> None:
    # Two acknowledged concurrent writes, then readers see 2, then 1: one order would explain "2 then 1"
    # only if 1 was written after 2, but nothing was in flight any more.
    writes = [("a", W(1), None, 0, 5), ("b", W(2), None, 0, 5)]
    assert verdict(H(*writes, ("c", R, 2, 6, 7), ("c", R, 2, 8, 9))) is True
    assert verdict(H(*writes, ("c", R, 2, 6, 7), ("c", R, 1, 8, 9))) is False
    # an acknowledged write that no later read reflects
    assert verdict(H(("a", W(1), None, 0, 1), ("b", W(2), None, 2, 3), ("c", R, 1, 4, 5))) is False


def test_overlapping_ops_fine_in_one_order_only() -> None:
    w1, w2 = ("a", W(1), None, 0, 10), ("b", W(2), None, 0, 10)
    # the reads force w2 before w1
    assert verdict(H(w1, w2, ("c", R, 2, 1, 2), ("c", R, 1, 3, 4))) is True
    assert verdict(H(w1, w2, ("c", R, 2, 1, 2), ("c", R, 1, 3, 4), ("c", R, 2, 11, 12))) is False
    # and w1 before w2
    assert verdict(H(w1, w2, ("c", R, 1, 1, 2), ("c", R, 2, 3, 4), ("d", R, 2, 11, 12))) is True


def test_touching_intervals_count_as_concurrent() -> None:
    # b is invoked at the instant a completes: either order is allowed
    assert verdict(H(("a", W(1), None, 0, 5), ("b", R, None, 5, 6))) is True
    assert verdict(H(("a", W(1), None, 0, 5), ("b", R, None, 5.001, 6))) is False


# --------------------------------------------------------------------------------------------- cas


def test_two_cas_from_the_same_old_value_cannot_both_succeed() -> None:
    init = ("a", W(0), None, 0, 1)
    assert verdict(H(init, ("b", CAS(0, 1), True, 2, 5), ("c", CAS(0, 2), True, 3, 6))) is False
    assert verdict(H(init, ("b", CAS(0, 1), True, 2, 5), ("c", CAS(0, 2), False, 3, 6))) is True
    assert verdict(H(init, ("b", CAS(0, 1), True, 2, 5), ("c", CAS(1, 2), True, 3, 6))) is True  # chained


def test_cas_results_must_match_the_value() -> None:
    init = ("a", W(0), None, 0, 1)
    assert verdict(H(init, ("b", CAS(0, 1), False, 2, 3))) is False  # failed although the value was 0
    assert verdict(H(init, ("b", CAS(5, 1), True, 2, 3))) is False  # succeeded although it was not 5
    assert verdict(H(init, ("b", CAS(5, 1), False, 2, 3), ("b", R, 0, 4, 5))) is True
    assert verdict(H(init, ("b", CAS(0, 1), True, 2, 3), ("b", R, 0, 4, 5))) is False
    # a successful cas from the initial None
    assert verdict(H(("b", CAS(None, 1), True, 0, 1), ("b", R, 1, 2, 3))) is True


# ------------------------------------------------------------------------------------- info / fail


def test_info_write_may_have_happened() -> None:
    h = H(("a", W(5), UNKNOWN, 0, None), ("b", R, 5, 10, 11))
    assert verdict(h) is True


def test_info_write_may_not_have_happened() -> None:
    h = H(("a", W(5), UNKNOWN, 0, None), ("b", R, None, 10, 11), ("b", R, None, 12, 13))
    assert verdict(h) is True


def test_info_write_may_take_effect_late() -> None:
    h = H(("a", W(5), UNKNOWN, 0, None), ("b", R, None, 10, 11), ("b", R, 5, 100, 101))
    assert verdict(h) is True


def test_info_write_happens_at_most_once() -> None:
    h = H(
        ("a", W(1), None, 0, 1),
        ("b", W(5), UNKNOWN, 2, None),
        ("c", R, 5, 3, 4),
        ("c", R, 1, 5, 6),  # back to 1 with no write of 1 in flight
    )
    assert verdict(h) is False


def test_info_write_cannot_act_before_it_was_invoked() -> None:
    h = H(("c", R, 5, 0, 1), ("a", W(5), UNKNOWN, 2, None))
    assert verdict(h) is False


def test_info_cas_either_way() -> None:
    init = ("a", W(0), None, 0, 1)
    pending = ("b", CAS(0, 1), UNKNOWN, 2, None)
    assert verdict(H(init, pending, ("c", R, 1, 3, 4))) is True
    assert verdict(H(init, pending, ("c", R, 0, 3, 4))) is True
    assert verdict(H(init, pending, ("c", R, 1, 3, 4), ("c", R, 0, 5, 6))) is False


def test_info_read_constrains_nothing() -> None:
    h = H(("a", W(1), None, 0, 1), ("b", R, 99, 2, None), ("c", R, 1, 3, 4))
    assert verdict(h) is True


def test_many_info_writes_still_check_quickly() -> None:
    rows = [("w%d" % i, W(i), UNKNOWN, i, None) for i in range(12)]
    rows += [("r", R, 11, 100, 101), ("r", R, 3, 102, 103)]  # 3 after 11: 3 took effect later, fine
    assert verdict(H(*rows)) is True
    rows += [("r", R, 11, 104, 105)]  # but 11 cannot come back
    assert verdict(H(*rows)) is False


def test_failed_ops_are_dropped() -> None:
    failed = ("a", W(9), "fail", 0, 1)
    assert verdict(H(failed, ("b", R, None, 2, 3))) is True
    assert verdict(H(failed, ("b", R, 9, 2, 3))) is False


# ---------------------------------------------------------------------------------------------- kv


def KW(k, v):
    return ("write", k, v)


def KR(k):
    return ("read", k, None)


def KCAS(k, old, new):
    return ("cas", k, (old, new))


def test_keys_are_independent() -> None:
    h = H(
        ("a", KW("x", 1), None, 0, 1),
        ("b", KR("y"), None, 2, 3),  # y was never written even though x was
        ("c", KW("y", 1), None, 4, 5),
        ("d", KR("x"), 1, 6, 7),
        ("d", KR("y"), 1, 8, 9),
    )
    res = check(h, KV)
    assert res.ok is True
    assert set(res.per_key) == {"x", "y"}
    assert all(r.ok for r in res.per_key.values())


def test_failure_is_reported_per_key() -> None:
    h = H(
        ("a", KW("x", 1), None, 0, 1),
        ("a", KW("x", 2), None, 2, 3),
        ("b", KR("x"), 1, 4, 5),  # stale on x
        ("c", KW("y", 1), None, 0, 1),
        ("c", KR("y"), 1, 2, 3),
        ("d", KCAS("z", None, 1), True, 0, 1),
        ("e", KCAS("z", None, 2), True, 0, 1),  # both cas from None succeeded on z
    )
    res = check(h, KV)
    assert res.ok is False
    assert {k: r.verdict for k, r in res.per_key.items()} == {"x": "fail", "y": "ok", "z": "fail"}
    assert "2 of 3 partition(s) fail" in res.explanation
    assert "key 'x'" in res.explanation
    assert "read @x" in res.explanation
    assert res.per_key["z"].explanation.startswith("history for key 'z' is not linearizable")


# ------------------------------------------------------------------------------------- budget


def _hard_history(n: int) -> History:
    # n concurrent writes of distinct values and reads that can never all be explained; the search
    # has to try a great many orders before giving up.
    rows = [(f"w{i}", W(i), None, 0, 100) for i in range(n)]
    rows += [(f"r{i}", R, i, 1 + i, 2 + i) for i in range(n)]
    rows += [("z", R, -1, 200, 201)]
    return H(*rows)


def test_step_budget_yields_unknown() -> None:
    res = check(_hard_history(14), REG, max_steps=5000)
    assert res.ok is None and res.verdict == "unknown"
    assert "UNKNOWN" in res.explanation
    with pytest.raises(TypeError):
        bool(res)


def test_timeout_yields_unknown() -> None:
    res = check(_hard_history(16), REG, timeout=0.05)
    assert res.ok is None


# --------------------------------------------------------------------------------- bookkeeping


def test_recorder_round_trip() -> None:
    rec = HistoryRecorder()
    w = rec.invoke("a", W(1), 0.0)
    r = rec.invoke("b", R, 0.5)
    rec.ok(w, None, 1.0)
    rec.ok(r, 1, 2.0)
    f = rec.invoke("a", W(2), 3.0)
    rec.fail(f, 3.5)
    i = rec.invoke("a", W(3), 4.0)
    rec.info(i, 9.0)
    p = rec.invoke("c", R, 10.0)  # still in flight when the history is taken
    h = rec.history()
    assert [op.status for op in h] == ["ok", "ok", "fail", "info", "info"]
    assert h.ops[3].complete is None and h.ops[3].output is UNKNOWN
    assert rec.in_flight == [p]
    assert check(h, REG).ok is True


def test_recorder_rejects_misuse() -> None:
    rec = HistoryRecorder()
    a = rec.invoke("a", R, 1.0)
    with pytest.raises(HistoryError):
        rec.invoke("a", R, 2.0)  # one op in flight per client
    with pytest.raises(HistoryError):
        rec.ok(a, None, 0.5)  # completes before it started
    rec.ok(a, None, 1.5)
    with pytest.raises(HistoryError):
        rec.ok(a, None, 2.0)  # already resolved


def test_history_validation() -> None:
    with pytest.raises(HistoryError):
        History([Op(0, "a", R, None, 5, 4)])
    with pytest.raises(HistoryError):
        History([Op(0, "a", R, None, 0, 1), Op(0, "b", R, None, 0, 1)])
    with pytest.raises(HistoryError):
        History([Op(0, "a", R, None, 0, None, "ok")])


def test_format_ops_table() -> None:
    h = H(("a", W(1), None, 0, 1.5), ("b", CAS(1, 2), UNKNOWN, 2, None), ("c", R, 1, 3, 4))
    table = format_ops(list(h), REG).splitlines()
    assert table[0].split() == ["client", "invoke", "complete", "op", "result"]
    assert table[2].split() == ["a", "0", "1.5", "write", "1", "ok"]
    assert "never (info)" in table[3] and "cas 1 -> 2" in table[3]
    assert table[4].split() == ["c", "3", "4", "read", "1"]
