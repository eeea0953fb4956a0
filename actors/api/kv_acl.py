"""ACL rules of the KV endpoint (Consul's ``kvs_endpoint.go``), kept beside ``kv`` so it stays small.

What lives here:

* `check_listing`: ``?recurse``/``?keys`` need ``key:list`` on the prefix, but only when
  ``acl.enable_key_list_policy`` is on; otherwise listings are filtered key by key.
* `readable_entries` / `readable_keys`: a prefix's entries or key names with the keys the token may
  not read left out. Key names are filtered on the *full* keys before ``?separator`` collapses them
  (as Consul's ``ListKeys``), so a "directory" shows only when a readable key lies below it, and a
  token for ``app/`` never learns that ``app2/`` or ``apple`` exist.
* `check_write`: PUT (plain, ``cas``, ``acquire``, ``release``: all ``key:write``, Consul checks nothing
  else for locks) and DELETE (one key: ``key:write``; ``?recurse``: ``key:write`` on every key under
  the prefix, `Authorizer.key_write_prefix`, CVE-2019-12291).

What must never live here: request parsing or the store's semantics (``kv``, ``actors/state``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.acl import readable
from actors.acl.enforce import AclFilter, Caller, require
from actors.state.models import KVEntry
from actors.state.store import StateStore, collapse_keys
from actors.state.watch import WatchSet

if TYPE_CHECKING:
    from actors.context import AgentContext


def check_listing(caller: Caller, ctx: "AgentContext", prefix: str) -> None:
    if ctx.config.acl.enable_key_list_policy:
        require(caller, caller.authz.key_list(prefix), "key:list", prefix)


def check_write(caller: Caller, key: str, *, recurse: bool = False) -> None:
    allowed = caller.authz.key_write_prefix(key) if recurse else caller.authz.key_write(key)
    require(caller, allowed, "key:write", key)


def readable_entries(store: StateStore, prefix: str, ws: WatchSet, seen: AclFilter) -> tuple[int, list[KVEntry]]:
    index, entries = store.kv_list(prefix, ws)
    return index, seen.keep(entries, readable.kv_entry)


def readable_keys(store: StateStore, prefix: str, separator: str, ws: WatchSet,
                  seen: AclFilter) -> tuple[int, list[str]]:
    if not seen.active:
        return store.kv_keys(prefix, separator, ws)
    index, entries = readable_entries(store, prefix, ws, seen)  # sorted by key, as collapsing needs
    return index, collapse_keys((entry.key for entry in entries), len(prefix), separator)
