"""KV verbs and Consul's index rules."""

from __future__ import annotations

import msgspec
import pytest

from actors.state import MAX_VALUE_SIZE, InvalidInput, KVDelete, KVSet, NotFound, TombstoneReap, TooLarge


def test_set_get_and_json_shape(h):
    assert h.ok(KVSet(key="zip", value=b"test", flags=42)) is True
    index, entry = h.store.kv_get("zip")
    assert index == 1
    assert (entry.key, entry.value, entry.flags) == ("zip", b"test", 42)
    assert (entry.create_index, entry.modify_index) == (1, 1)
    body = msgspec.json.decode(msgspec.json.encode(entry))
    assert body == {
        "LockIndex": 0,
        "Key": "zip",
        "Flags": 42,
        "Value": "dGVzdA==",
        "CreateIndex": 1,
        "ModifyIndex": 1,
    }


def test_empty_value_is_null(h):
    h.ok(KVSet(key="k"))
    _, entry = h.store.kv_get("k")
    assert entry.value is None
    assert msgspec.json.decode(msgspec.json.encode(entry))["Value"] is None


def test_update_keeps_create_index(h):
    h.ok(KVSet(key="k", value=b"1"))
    h.ok(KVSet(key="other", value=b"x"))
    h.ok(KVSet(key="k", value=b"2"))
    _, entry = h.store.kv_get("k")
    assert (entry.create_index, entry.modify_index, entry.value) == (1, 3, b"2")


def test_identical_write_changes_nothing(h):
    h.ok(KVSet(key="k", value=b"1"))
    applied = h.do(KVSet(key="k", value=b"1"))
    assert applied.value is True and applied.touched == frozenset()
    assert h.store.kv_get("k")[1].modify_index == 1


def test_cas_zero_creates_only(h):
    assert h.ok(KVSet(key="k", value=b"1", cas=0)) is True
    assert h.ok(KVSet(key="k", value=b"2", cas=0)) is False
    assert h.store.kv_get("k")[1].value == b"1"


def test_cas_index(h):
    h.ok(KVSet(key="k", value=b"1"))
    assert h.ok(KVSet(key="k", value=b"2", cas=7)) is False
    assert h.ok(KVSet(key="k", value=b"2", cas=1)) is True
    assert h.ok(KVSet(key="missing", value=b"2", cas=1)) is False
    assert h.store.kv_get("k")[1].value == b"2"


def test_acquire_release_lock_index(h):
    h.node()
    h.session("s1")
    h.session("s2")
    assert h.ok(KVSet(key="lock", value=b"a", acquire="s1")) is True
    _, e = h.store.kv_get("lock")
    assert (e.session, e.lock_index, e.value) == ("s1", 1, b"a")
    # same holder: value updated, LockIndex unchanged
    assert h.ok(KVSet(key="lock", value=b"b", acquire="s1")) is True
    _, e = h.store.kv_get("lock")
    assert (e.session, e.lock_index, e.value) == ("s1", 1, b"b")
    # another session cannot take it, nor release it
    assert h.ok(KVSet(key="lock", value=b"c", acquire="s2")) is False
    assert h.ok(KVSet(key="lock", release="s2")) is False
    # release by the holder keeps LockIndex, clears Session, writes the value
    assert h.ok(KVSet(key="lock", value=b"d", release="s1")) is True
    _, e = h.store.kv_get("lock")
    assert (e.session, e.lock_index, e.value) == (msgspec.UNSET, 1, b"d")
    assert "Session" not in msgspec.json.decode(msgspec.json.encode(e))
    # a voluntary release starts no lock-delay: s2 acquires at once and LockIndex goes up
    assert h.ok(KVSet(key="lock", acquire="s2")) is True
    assert h.store.kv_get("lock")[1].lock_index == 2


def test_acquire_unknown_session_is_error_and_writes_nothing(h):
    applied = h.do(KVSet(key="lock", acquire="nope"))
    assert isinstance(applied.error, NotFound)
    assert applied.error.message == 'invalid session "nope"'
    assert h.store.kv_get("lock")[1] is None
    with pytest.raises(NotFound):
        applied.unwrap()


def test_release_unknown_session_is_false(h):
    h.ok(KVSet(key="k"))
    assert h.ok(KVSet(key="k", release="ghost")) is False


def test_plain_set_ignores_and_keeps_lock(h):
    h.node()
    h.session("s1")
    h.ok(KVSet(key="lock", value=b"a", acquire="s1"))
    assert h.ok(KVSet(key="lock", value=b"b")) is True
    _, e = h.store.kv_get("lock")
    assert (e.session, e.lock_index, e.value) == ("s1", 1, b"b")


def test_delete_and_delete_missing(h):
    h.ok(KVSet(key="k"))
    assert h.ok(KVDelete(key="k")) is True
    assert h.store.kv_get("k")[1] is None
    assert h.ok(KVDelete(key="k")) is True  # deleting a missing key is fine


def test_delete_cas(h):
    h.ok(KVSet(key="k"))
    assert h.ok(KVDelete(key="k", cas=9)) is False
    assert h.store.kv_get("k")[1] is not None
    assert h.ok(KVDelete(key="k", cas=1)) is True
    assert h.store.kv_get("k")[1] is None
    assert h.ok(KVDelete(key="k", cas=1)) is True  # Consul: a missing key counts as deleted


def test_delete_tree(h):
    for k in ["a/1", "a/2", "a/b/3", "ab", "b"]:
        h.ok(KVSet(key=k))
    assert h.ok(KVDelete(key="a/", recurse=True)) is True
    assert [e.key for e in h.store.kv_list("")[1]] == ["ab", "b"]


def test_delete_cas_wins_over_recurse(h):
    h.ok(KVSet(key="a/1"))
    h.ok(KVSet(key="a/2"))
    assert h.ok(KVDelete(key="a/1", recurse=True, cas=1)) is True
    assert [e.key for e in h.store.kv_list("a/")[1]] == ["a/2"]


def test_list_sorted_and_prefix(h):
    for k in ["b", "a/2", "a/1", "a0", "a"]:
        h.ok(KVSet(key=k))
    assert [e.key for e in h.store.kv_list("a/")[1]] == ["a/1", "a/2"]
    assert [e.key for e in h.store.kv_list("a")[1]] == ["a", "a/1", "a/2", "a0"]
    assert [e.key for e in h.store.kv_list("zzz")[1]] == []


def test_keys_with_separator_consul_example(h):
    for k in ["base/foo", "base/base/foo", "other"]:
        h.ok(KVSet(key=k))
    assert h.store.kv_keys("base/", "/")[1] == ["base/base/", "base/foo"]
    assert h.store.kv_keys("base/")[1] == ["base/base/foo", "base/foo"]


def test_keys_separator_from_root(h):
    for k in ["a/b", "a/c/d", "a0", "b/x", "c", "a/"]:
        h.ok(KVSet(key=k))
    assert h.store.kv_keys("", "/")[1] == ["a/", "a0", "b/", "c"]


# --- index rules (consul-reference 1.1) ---------------------------------------------------------


def test_index_of_found_key_is_its_modify_index(h):
    h.ok(KVSet(key="a"))  # 1
    h.ok(KVSet(key="b"))  # 2
    assert h.store.kv_get("a")[0] == 1


def test_index_of_missing_key_is_table_index_including_deletes(h):
    h.ok(KVSet(key="a"))  # 1
    h.ok(KVSet(key="b"))  # 2
    h.ok(KVDelete(key="b"))  # 3
    assert h.store.kv_get("nope")[0] == 3


def test_index_of_empty_store_is_one_not_zero(h):
    assert h.store.kv_get("x")[0] == 1
    assert h.store.kv_list("")[0] == 1
    assert h.store.nodes()[0] == 1


def test_recurse_index_counts_tombstones_and_never_goes_back(h):
    h.ok(KVSet(key="p/a"))  # 1
    h.ok(KVSet(key="p/b"))  # 2
    h.ok(KVSet(key="q"))  # 3
    assert h.store.kv_list("p/")[0] == 2
    h.ok(KVDelete(key="p/b"))  # 4: the highest item goes, the tombstone keeps the index moving forward
    index, entries = h.store.kv_list("p/")
    assert index == 4 and [e.key for e in entries] == ["p/a"]
    h.ok(KVSet(key="q", value=b"x"))  # 5: outside the prefix
    assert h.store.kv_list("p/")[0] == 4
    assert h.store.kv_keys("p/")[0] == 4


def test_recurse_index_with_no_match_falls_back_to_table_index(h):
    h.ok(KVSet(key="a"))
    h.ok(KVSet(key="b"))
    assert h.store.kv_list("zzz/")[0] == 2


def test_empty_prefix_uses_table_index(h):
    h.ok(KVSet(key="a"))
    h.ok(KVSet(key="b"))
    h.ok(KVDelete(key="b"))
    assert h.store.kv_list("")[0] == 3


def test_tombstone_reap(h):
    h.ok(KVSet(key="p/a"))  # 1
    h.ok(KVSet(key="p/b"))  # 2
    h.ok(KVDelete(key="p/b"))  # 3
    h.ok(KVDelete(key="p/a"))  # 4
    assert h.store.kv_tombstones() == {"p/b": 3, "p/a": 4}
    assert h.ok(TombstoneReap(up_to_index=3)) == 1
    assert h.store.kv_tombstones() == {"p/a": 4}
    assert h.store.kv_list("p/")[0] == 4
    assert h.ok(TombstoneReap(up_to_index=10)) == 1
    assert h.store.kv_tombstones() == {}
    # With no tombstones left under the prefix the read falls back to the table index, which is kept.
    assert h.store.kv_list("p/")[0] == 4


def test_recreated_key_keeps_fresh_create_index(h):
    h.ok(KVSet(key="k"))
    h.ok(KVDelete(key="k"))
    h.ok(KVSet(key="k"))
    _, e = h.store.kv_get("k")
    assert (e.create_index, e.modify_index) == (3, 3)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cmd, kind",
    [
        (KVSet(key="a\x00b"), InvalidInput),
        (KVSet(key=""), InvalidInput),
        (KVDelete(key=""), InvalidInput),
        (KVSet(key="big", value=b"x" * (MAX_VALUE_SIZE + 1)), TooLarge),
    ],
)
def test_bad_input(h, cmd, kind):
    applied = h.do(cmd)
    assert isinstance(applied.error, kind)
    assert applied.touched == frozenset()
    assert h.store.kv_list("")[1] == []


def test_value_at_limit_is_accepted(h):
    assert h.ok(KVSet(key="big", value=b"x" * MAX_VALUE_SIZE)) is True


def test_failed_command_consumes_index_but_changes_nothing(h):
    h.ok(KVSet(key="a"))
    before = h.store.kv_list("")
    applied = h.do(KVSet(key="x\x00"))
    assert not applied.ok
    assert h.store.last_index == 2
    assert h.store.kv_list("") == before


def test_index_must_increase(h):
    h.ok(KVSet(key="a"))
    with pytest.raises(ValueError):
        h.store.apply(1, KVSet(key="b"))
