"""Watch registry precision and cost, and the store's read/apply watch-key contract end to end."""

from __future__ import annotations

import time

from actors.state import (
    CheckUpdate,
    KVDelete,
    KVSet,
    NodeDeregister,
    SessionDestroy,
    WatchRegistry,
    WatchSet,
)


def test_exact_key_only_wakes_its_waiter():
    reg = WatchRegistry()
    a = reg.register(WatchSet(keys=[("kv", "a")]))
    b = reg.register(WatchSet(keys=[("kv", "b")]))
    assert reg.fire([("kv", "a")]) == {a}
    assert b in reg and a not in reg  # one-shot: a was unregistered


def test_prefix_wakes_on_any_key_below_and_nothing_else():
    reg = WatchRegistry()
    app = reg.register(WatchSet(prefixes=["app/"]))
    appx = reg.register(WatchSet(prefixes=["app/x/"]))
    root = reg.register(WatchSet(prefixes=[""]))
    assert reg.fire([("kv", "apple")]) == {root}
    assert reg.fire([("kv", "app/x/1")]) == {app, appx}
    assert len(reg) == 0


def test_prefix_equal_to_key_matches():
    reg = WatchRegistry()
    t = reg.register(WatchSet(prefixes=["cfg"]))
    assert reg.fire([("kv", "cfg")]) == {t}


def test_table_and_name_keys_do_not_cross():
    reg = WatchRegistry()
    nodes = reg.register(WatchSet(keys=[("nodes",)]))
    web = reg.register(WatchSet(keys=[("service", "web")]))
    kvp = reg.register(WatchSet(prefixes=["service"]))  # a KV prefix that looks like a table name
    assert reg.fire([("service", "db"), ("services",)]) == set()
    assert reg.fire([("service", "web")]) == {web}
    assert reg.fire([("nodes",)]) == {nodes}
    assert kvp in reg


def test_one_waiter_with_many_keys_fires_once_and_is_fully_removed():
    reg = WatchRegistry()
    t = reg.register(WatchSet(keys=[("kv", "a"), ("nodes",)], prefixes=["p/", "q/"]))
    assert reg.fire([("kv", "a"), ("nodes",), ("kv", "p/1")]) == {t}
    assert reg.fire([("kv", "q/1"), ("nodes",)]) == set()
    assert reg._by_key == {} and reg._by_prefix == {} and reg._prefix_lengths == {}


def test_cancel_and_wake_all():
    reg = WatchRegistry()
    a = reg.register(WatchSet(prefixes=["x"]))
    b = reg.register(WatchSet(keys=[("nodes",)]))
    assert reg.cancel(a) is True and reg.cancel(a) is False
    assert reg.fire([("kv", "x1")]) == set()
    assert reg.wake_all() == {b}
    assert len(reg) == 0


def test_ten_thousand_watchers_are_cheap_and_precise():
    reg = WatchRegistry()
    prefix_tokens = {}
    key_tokens = {}
    for i in range(10_000):
        prefix_tokens[i] = reg.register(WatchSet(prefixes=[f"svc/{i}/"]))
        key_tokens[i] = reg.register(WatchSet(keys=[("kv", f"cfg/{i}")]))
    start = time.perf_counter()
    reg.lookups = 0
    woken = reg.fire([("kv", "svc/1234/leader")])
    assert woken == {prefix_tokens[1234]}
    # One exact probe plus one probe per distinct registered prefix length <= len(key).
    assert reg.lookups <= 1 + len("svc/1234/leader") + 1
    assert reg.fire([("kv", "cfg/77")]) == {key_tokens[77]}
    assert reg.fire([("kv", "unrelated/key")]) == set()
    for i in range(1000):
        reg.fire([("kv", f"nothing/{i}")])
    assert time.perf_counter() - start < 1.0
    assert len(reg) == 20_000 - 2


# --- the store's side of the contract --------------------------------------------------------------


def block(h, read, *args, **kwargs):
    """Run a read with a WatchSet and register it, as a blocking HTTP handler would."""
    ws = WatchSet()
    result = read(*args, ws=ws, **kwargs)
    return h.registry.register(ws), result


def test_kv_get_woken_by_its_key_only(h):
    t, _ = block(h, h.store.kv_get, "a")
    h.ok(KVSet(key="ab"))
    assert h.last_woken == set()
    h.ok(KVSet(key="a"))
    assert h.last_woken == {t}


def test_kv_get_missing_key_woken_when_created(h):
    h.ok(KVSet(key="other"))
    t, (index, entry) = block(h, h.store.kv_get, "later")
    assert entry is None
    h.ok(KVSet(key="later"))
    assert h.last_woken == {t}
    assert h.store.kv_get("later")[0] > index


def test_kv_list_woken_by_delete_under_prefix(h):
    h.ok(KVSet(key="p/a"))
    h.ok(KVSet(key="q/a"))
    t, (index, _) = block(h, h.store.kv_list, "p/")
    h.ok(KVDelete(key="q/a"))
    assert h.last_woken == set()
    h.ok(KVDelete(key="p/a"))
    assert h.last_woken == {t}
    assert h.store.kv_list("p/")[0] > index


def test_noop_write_wakes_nobody(h):
    h.ok(KVSet(key="k", value=b"1"))
    block(h, h.store.kv_get, "k")
    h.ok(KVSet(key="k", value=b"1"))
    assert h.last_woken == set()


def test_session_invalidation_wakes_lock_key_watchers(h):
    h.node()
    h.session("s1")
    h.ok(KVSet(key="locks/leader", acquire="s1"))
    t_key, _ = block(h, h.store.kv_get, "locks/leader")
    t_sess, _ = block(h, h.store.session_get, "s1")
    t_other, _ = block(h, h.store.kv_list, "other/")
    h.ok(SessionDestroy(id="s1"))
    assert h.last_woken == {t_key, t_sess}
    assert t_other in h.registry


def test_catalog_watchers(h):
    h.node()
    h.node("n2", "10.0.0.2")
    h.service("n1", "web")
    h.service("n2", "db")
    t_nodes, _ = block(h, h.store.nodes)
    t_web, _ = block(h, h.store.service_health, "web")
    t_db, _ = block(h, h.store.service_health, "db")
    t_services, _ = block(h, h.store.services)
    t_n2checks, _ = block(h, h.store.node_checks, "n2")
    t_kv, _ = block(h, h.store.kv_list, "")
    # A node-level check on n1 changes web's health view, not db's, nor the node or service tables.
    h.ok(CheckUpdate(node="n1", check_id="serfHealth", status="warning"))
    assert h.last_woken == {t_web}
    t_web, _ = block(h, h.store.service_health, "web")
    # A new service instance of db on n1 wakes db and the service table.
    h.service("n1", "db", sid="db-1")
    assert h.last_woken == {t_db, t_services}
    # Deregistering n2 wakes the node table, db (its instance was there), and n2's checks watchers.
    t_db, _ = block(h, h.store.service_health, "db")
    t_services, _ = block(h, h.store.services)
    h.ok(NodeDeregister(node="n2"))
    assert h.last_woken == {t_nodes, t_db, t_services, t_n2checks}
    assert t_web in h.registry and t_kv in h.registry


def test_catalog_service_index_passes_min_index_after_wake(h):
    h.node()
    h.service("n1", "web")
    t, (index, _) = block(h, h.store.service_nodes, "web")
    h.service("n1", "web", tags=["new"])
    assert t in h.last_woken
    assert h.store.service_nodes("web")[0] > index
