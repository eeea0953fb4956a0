"""RaftLog: term lookup, conflict handling, reject hints, compaction and Ready bookkeeping."""

from __future__ import annotations

import pytest

from actors.raft import ConfState, Entry, SnapshotMeta
from actors.raft.log import RaftLog
from actors.raft.messages import encode_conf


def ents(*terms: int, start: int = 1) -> list[Entry]:
    return [Entry(term=t, index=start + n, data=b"%d" % (start + n)) for n, t in enumerate(terms)]


def make_log(*terms: int, committed: int = 0) -> RaftLog:
    return RaftLog(snapshot=SnapshotMeta(), base_index=0, base_term=0, entries=ents(*terms), committed=committed)


def test_term_lookup_and_bounds() -> None:
    log = make_log(1, 1, 2)
    assert [log.term(i) for i in range(0, 5)] == [0, 1, 1, 2, None]
    assert (log.first_index(), log.last_index(), log.last_term()) == (1, 3, 2)


def test_up_to_date_rule() -> None:
    log = make_log(1, 1, 2)
    assert log.is_up_to_date(3, 2)
    assert log.is_up_to_date(1, 3)  # higher last term wins whatever the length
    assert not log.is_up_to_date(9, 1)
    assert not log.is_up_to_date(2, 2)


def test_maybe_append_truncates_conflicting_suffix() -> None:
    log = make_log(1, 1, 2, 2, committed=2)
    log.accept_unstable(4)
    log.stable_to(4, 2)
    # leader of term 3 overwrites index 3 onwards
    assert log.maybe_append(2, 1, 5, [Entry(term=3, index=3, data=b"n")]) == 3
    assert [e.term for e in log.entries] == [1, 1, 3]
    assert log.committed == 3  # min(leader commit, last new index)
    assert log.stable == 2 and log.handed == 2
    assert [e.index for e in log.unstable_entries()] == [3]


def test_maybe_append_mismatch_and_duplicates() -> None:
    log = make_log(1, 1, 2)
    assert log.maybe_append(3, 1, 0, []) is None  # term mismatch at prev
    assert log.maybe_append(5, 2, 0, []) is None  # beyond the end
    assert log.maybe_append(1, 1, 0, ents(1, 2, start=2)) == 3  # all present: nothing changes
    assert len(log.entries) == 3


def test_overwriting_committed_entry_is_a_bug() -> None:
    log = make_log(1, 1, 2, committed=3)
    with pytest.raises(AssertionError, match="State Machine Safety"):
        log.append([Entry(term=3, index=2)])


def test_figure8_commit_rule() -> None:
    log = make_log(1, 2, 2)
    assert not log.maybe_commit(3, 4)  # entry of term 2 never commits by counting in term 4
    assert log.committed == 0
    log.append([Entry(term=4, index=4)])
    assert log.maybe_commit(4, 4)
    assert log.committed == 4


def test_reject_hint_helpers() -> None:
    log = make_log(1, 1, 2, 2, 2, 4)
    assert log.first_index_of_term(5, 2) == 3
    assert log.first_index_of_term(2, 1) == 1
    assert log.first_index_of_term(6, 4) == 6
    assert log.last_index_of_term(2, 100) == 5
    assert log.last_index_of_term(2, 4) == 4
    assert log.last_index_of_term(3, 100) == 0
    assert log.last_index_of_term(4, 6) == 6


def test_compaction_keeps_trailing_entries_and_config() -> None:
    conf1 = ConfState(voters=("a",))
    conf2 = ConfState(voters=("a", "b"))
    entries = [
        Entry(term=1, index=1, kind="config", data=encode_conf(conf1)),
        *ents(1, 1, start=2),
        Entry(term=1, index=4, kind="config", data=encode_conf(conf2)),
        *ents(1, 1, 1, 1, start=5),
    ]
    log = RaftLog(snapshot=SnapshotMeta(), base_index=0, base_term=0, entries=entries, committed=8)
    log.applying = log.applied = 8
    cfg = log.latest_config(upto=6)
    assert cfg is not None and cfg.index == 4
    first = log.compact(SnapshotMeta(index=6, term=1, conf=conf2), trailing=2)
    assert first == 5 and log.base_index == 4 and log.base_term == 1
    assert log.term(4) == 1 and log.term(3) is None
    assert log.latest_config() is None  # index 4 is inside the snapshot now: snapshot conf rules
    with pytest.raises(AssertionError):
        log.compact(SnapshotMeta(index=9, term=1), trailing=0)  # beyond applied


def test_restore_replaces_everything() -> None:
    log = make_log(1, 1, 2)
    log.restore(SnapshotMeta(index=10, term=3))
    assert (log.first_index(), log.last_index(), log.last_term()) == (11, 10, 3)
    assert log.committed == log.applied == log.applying == 10
    assert not log.has_unstable() and not log.has_committed_to_apply()


def test_ready_cursors() -> None:
    log = RaftLog(snapshot=SnapshotMeta(), base_index=0, base_term=0, entries=[], committed=0)
    log.append(ents(1, 1))
    assert [e.index for e in log.unstable_entries()] == [1, 2]
    log.accept_unstable(2)
    assert log.unstable_entries() == [] and log.stable == 0
    log.commit_to(2)
    assert [e.index for e in log.committed_to_apply()] == [1, 2]
    log.accept_applying(2)
    assert log.committed_to_apply() == []
    log.stable_to(2, 1)
    log.applied_to(2)
    assert (log.stable, log.applied) == (2, 2)
    log.stable_to(3, 1)  # never appended: ignored
    assert log.stable == 2


def test_slice_respects_count_and_bytes() -> None:
    log = RaftLog(
        snapshot=SnapshotMeta(),
        base_index=0,
        base_term=0,
        entries=[Entry(term=1, index=i, data=b"x" * 10) for i in range(1, 11)],
        committed=0,
    )
    assert len(log.slice(1, 4, 1000)) == 4
    assert len(log.slice(1, 100, 25)) == 2
    assert len(log.slice(1, 100, 1)) == 1  # always at least one entry
    assert [e.index for e in log.slice(9, 100, 1000)] == [9, 10]
