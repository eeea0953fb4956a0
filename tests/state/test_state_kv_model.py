"""Hypothesis stateful test: the store's KV behaves like a naive dict plus Consul's index rules."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from actors.state import KVDelete, KVSet, StateStore, TombstoneReap

# Few, overlapping keys so that prefixes, separators and collisions actually happen.
KEYS = st.text(alphabet="ab/", min_size=1, max_size=4)
PREFIXES = st.text(alphabet="ab/", max_size=3)
VALUES = st.binary(max_size=2)
FLAGS = st.integers(min_value=0, max_value=2)


class KVModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = StateStore()
        self.index = 0
        self.data: dict[str, tuple[bytes, int, int, int]] = {}  # key -> (value, flags, create, modify)
        self.tombs: dict[str, int] = {}
        self.table_index = 0

    # --- helpers ---------------------------------------------------------------------------------

    def apply(self, cmd):
        self.index += 1
        applied = self.store.apply(self.index, cmd)
        assert applied.error is None, applied.error
        return applied.value

    def model_set(self, key: str, value: bytes, flags: int) -> None:
        old = self.data.get(key)
        if old is not None and old[0] == value and old[1] == flags:
            return  # an identical write changes nothing, ModifyIndex included
        create = old[2] if old is not None else self.index
        self.data[key] = (value, flags, create, self.index)
        self.table_index = self.index

    def model_delete(self, key: str) -> None:
        if key in self.data:
            del self.data[key]
            self.tombs[key] = self.index
            self.table_index = self.index

    def expected_prefix_index(self, prefix: str) -> int:
        if prefix == "":
            best = self.table_index
        else:
            best = max(
                [m for k, (_, _, _, m) in self.data.items() if k.startswith(prefix)]
                + [i for k, i in self.tombs.items() if k.startswith(prefix)],
                default=0,
            ) or self.table_index
        return max(best, 1)

    # --- rules -----------------------------------------------------------------------------------

    @rule(key=KEYS, value=VALUES, flags=FLAGS)
    def set(self, key, value, flags):
        assert self.apply(KVSet(key=key, value=value, flags=flags)) is True
        self.model_set(key, value, flags)

    @rule(key=KEYS, value=VALUES, data=st.data())
    def cas(self, key, value, data):
        current = self.data.get(key)
        choices = [0, 1, self.index]
        if current is not None:
            choices.append(current[3])
        cas = data.draw(st.sampled_from(choices))
        ok = self.apply(KVSet(key=key, value=value, cas=cas))
        expected = (current is None) if cas == 0 else (current is not None and current[3] == cas)
        assert ok is expected
        if ok:
            self.model_set(key, value, 0)

    @rule(key=KEYS)
    def delete(self, key):
        assert self.apply(KVDelete(key=key)) is True
        self.model_delete(key)

    @rule(key=KEYS, data=st.data())
    def delete_cas(self, key, data):
        current = self.data.get(key)
        cas = data.draw(st.sampled_from([1, self.index] + ([current[3]] if current else [])))
        ok = self.apply(KVDelete(key=key, cas=cas))
        expected = current is None or current[3] == cas
        assert ok is expected
        if ok:
            self.model_delete(key)

    @rule(prefix=PREFIXES)
    def delete_tree(self, prefix):
        assert self.apply(KVDelete(key=prefix, recurse=True)) is True
        for key in sorted(k for k in self.data if k.startswith(prefix)):
            self.model_delete(key)

    @precondition(lambda self: self.tombs)
    @rule(data=st.data())
    def reap(self, data):
        up_to = data.draw(st.sampled_from(sorted(set(self.tombs.values()))))
        removed = self.apply(TombstoneReap(up_to_index=up_to))
        expected = [k for k, i in self.tombs.items() if i <= up_to]
        assert removed == len(expected)
        for k in expected:
            del self.tombs[k]

    @rule()
    def snapshot_restore(self):
        self.store = StateStore.restore(self.store.snapshot())

    # --- reads checked after every step --------------------------------------------------------------

    @rule(key=KEYS)
    def get(self, key):
        index, entry = self.store.kv_get(key)
        current = self.data.get(key)
        if current is None:
            assert entry is None
            assert index == max(self.table_index, 1)
        else:
            assert (entry.value or b"", entry.flags, entry.create_index, entry.modify_index) == current
            assert index == current[3]

    @rule(prefix=PREFIXES)
    def list_prefix(self, prefix):
        index, entries = self.store.kv_list(prefix)
        expected = sorted(k for k in self.data if k.startswith(prefix))
        assert [e.key for e in entries] == expected
        assert index == self.expected_prefix_index(prefix)

    @rule(prefix=PREFIXES, separator=st.sampled_from(["", "/", "b"]))
    def keys(self, prefix, separator):
        index, keys = self.store.kv_keys(prefix, separator)
        names = set()
        for k in self.data:
            if not k.startswith(prefix):
                continue
            cut = k.find(separator, len(prefix)) if separator else -1
            names.add(k[: cut + len(separator)] if cut >= 0 else k)
        assert keys == sorted(names)
        assert index == self.expected_prefix_index(prefix)

    @invariant()
    def same_keys(self):
        assert [e.key for e in self.store.kv_list("")[1]] == sorted(self.data)
        assert self.store.kv_tombstones() == self.tombs


KVModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestKVAgainstDict = KVModel.TestCase
