"""Watch keys and the registry that turns "what a write touched" into "which waiters to wake".

Theory of operation
-------------------
Every read of the state store can be given a `WatchSet`; the read adds to it exactly the keys its answer
depends on. Every apply reports the keys it touched (`Applied.touched`). The HTTP layer, for a blocking
query, does in one synchronous step (no ``await`` in between, so no apply can slip in)::

    ws = WatchSet()
    index, result = store.kv_list("app/", ws)
    if index > min_index: return result
    token = registry.register(ws)          # then wait on its own per-token event

and after each apply::

    for token in registry.fire(applied.touched): wake(token)

Registrations are one-shot: `fire` unregisters the tokens it returns, and a waiter that times out calls
`cancel`. After waking, the waiter re-runs its read (which re-registers if it still has nothing new),
exactly Consul's blocking loop. A snapshot restore replaces everything, so the caller then wakes every
waiter with `wake_all`.

Watch-key scheme (tuples; names are already case-folded where the catalog is case-insensitive)
-----------------------------------------------------------------------------------------------
=============================  ====================================================================
``("kv", key)``                that exact KV key was written, deleted, locked or released
KV prefix ``p`` (`WatchSet.prefixes`)  any ``("kv", k)`` with ``k.startswith(p)``; ``""`` = whole KV
``("nodes",)``                 the node table (any node added, changed, removed)
``("node", node)``             that node's record
``("node_services", node)``    the services registered on that node
``("node_checks", node)``      the checks (node and service level) on that node
``("services",)``              the service table (any instance added, changed, removed)
``("service", name)``          anything ``/v1/health/service/<name>`` shows: an instance, its checks,
                               its node, or its node's checks
``("checks",)``                the check table
``("sessions",)``              the session table
``("session", id)``            that session (created or invalidated)
``("node_sessions", node)``    the sessions of that node
=============================  ====================================================================

Cost: `fire` does one dict lookup per exact touched key, and for a KV key ``k`` one lookup per distinct
*registered prefix length* ``<= len(k)`` (so at most ``len(k) + 1``), never a scan of the waiters.

What must never live here: trio. Tokens are plain ints; the shell owns the events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

WatchKey: TypeAlias = tuple[str, ...]


def fold(name: str) -> str:
    """Case folding for catalog identifiers (node names, service names/IDs, check IDs, session IDs)."""
    return name.lower()


def kv_key(key: str) -> WatchKey:
    return ("kv", key)


def node_key(node: str) -> WatchKey:
    return ("node", fold(node))


def service_key(name: str) -> WatchKey:
    return ("service", fold(name))


def session_key(session_id: str) -> WatchKey:
    return ("session", fold(session_id))


NODES: WatchKey = ("nodes",)
SERVICES: WatchKey = ("services",)
CHECKS: WatchKey = ("checks",)
SESSIONS: WatchKey = ("sessions",)


class WatchSet:
    """What one read depended on: exact keys plus KV prefixes. Reads fill it; `register` consumes it."""

    __slots__ = ("keys", "prefixes")

    def __init__(self, keys: Iterable[WatchKey] = (), prefixes: Iterable[str] = ()) -> None:
        self.keys: set[WatchKey] = set(keys)
        self.prefixes: set[str] = set(prefixes)

    def add(self, key: WatchKey) -> None:
        self.keys.add(key)

    def add_prefix(self, prefix: str) -> None:
        self.prefixes.add(prefix)

    def update(self, other: "WatchSet") -> None:
        self.keys |= other.keys
        self.prefixes |= other.prefixes

    def __bool__(self) -> bool:
        return bool(self.keys or self.prefixes)

    def __repr__(self) -> str:
        return f"WatchSet(keys={sorted(self.keys)!r}, prefixes={sorted(self.prefixes)!r})"


class WatchRegistry:
    """Waiters indexed by exact key and by KV prefix. See the module docstring for the protocol."""

    def __init__(self) -> None:
        self._next_token = 1
        self._by_key: dict[WatchKey, set[int]] = {}
        self._by_prefix: dict[str, set[int]] = {}
        # How many registered prefixes have each length; fire() only slices keys at these lengths.
        self._prefix_lengths: dict[int, int] = {}
        self._tokens: dict[int, tuple[frozenset[WatchKey], frozenset[str]]] = {}
        self.lookups = 0  # dict probes made by fire(); a test reads it to prove fire() never scans

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: int) -> bool:
        return token in self._tokens

    def register(self, ws: WatchSet) -> int:
        """Register a one-shot waiter for everything in ``ws``; returns its token."""
        token = self._next_token
        self._next_token += 1
        keys = frozenset(ws.keys)
        prefixes = frozenset(ws.prefixes)
        self._tokens[token] = (keys, prefixes)
        for key in keys:
            self._by_key.setdefault(key, set()).add(token)
        for prefix in prefixes:
            bucket = self._by_prefix.get(prefix)
            if bucket is None:
                bucket = self._by_prefix[prefix] = set()
                n = len(prefix)
                self._prefix_lengths[n] = self._prefix_lengths.get(n, 0) + 1
            bucket.add(token)
        return token

    def cancel(self, token: int) -> bool:
        """Forget a waiter (timeout, disconnect). Returns False if it was already fired or cancelled."""
        entry = self._tokens.pop(token, None)
        if entry is None:
            return False
        keys, prefixes = entry
        for key in keys:
            bucket = self._by_key[key]
            bucket.discard(token)
            if not bucket:
                del self._by_key[key]
        for prefix in prefixes:
            bucket = self._by_prefix[prefix]
            bucket.discard(token)
            if not bucket:
                del self._by_prefix[prefix]
                n = len(prefix)
                left = self._prefix_lengths[n] - 1
                if left:
                    self._prefix_lengths[n] = left
                else:
                    del self._prefix_lengths[n]
        return True

    def fire(self, touched: Iterable[WatchKey]) -> set[int]:
        """Tokens of every waiter interested in any touched key; they are unregistered before returning."""
        woken: set[int] = set()
        by_key = self._by_key
        by_prefix = self._by_prefix
        lengths = self._prefix_lengths
        for key in touched:
            self.lookups += 1
            bucket = by_key.get(key)
            if bucket:
                woken |= bucket
            if key[0] == "kv" and lengths:
                k = key[1]
                size = len(k)
                # Probe only lengths some prefix actually has, and never more than len(k) + 1 of them.
                candidates = lengths if len(lengths) <= size + 1 else range(size + 1)
                for n in candidates:
                    if n <= size and n in lengths:
                        self.lookups += 1
                        bucket = by_prefix.get(k[:n])
                        if bucket:
                            woken |= bucket
        for token in woken:
            self.cancel(token)
        return woken

    def wake_all(self) -> set[int]:
        """Every registered token, all unregistered: use after a snapshot restore."""
        woken = set(self._tokens)
        self._tokens.clear()
        self._by_key.clear()
        self._by_prefix.clear()
        self._prefix_lengths.clear()
        return woken
