"""The fault table: network faults injected inside the transports, between node names.

Scenario tests partition, slow down and degrade the network without root: every transport asks its
node's `FaultTable` for a `Verdict` before it puts a frame or datagram on the wire, and obeys it. The
scenario runner sets the rules over the admin HTTP API (a rule is a msgspec Struct, so the API decodes a
JSON body straight into `FaultRule` and gets its validation errors).

Semantics:

- A rule applies to traffic *from* ``src`` *to* ``dst`` only, so a one-way partition is one rule and a
  full partition is two. Selectors are node names, ``"host:port"`` strings for peers whose name is not
  known, or ``"*"`` for any.
- Rules speak of *nodes*, whatever transport carries the traffic. A transport that knows a node under
  another name (the WAN gossip pool's member names ``<node>.<dc>``) registers it with `FaultTable.alias`;
  the table reads an alias as its node name on both ends of a link, so one rule between two node names
  cuts their LAN, WAN and RPC traffic alike. An alias is never a selector: a rule naming ``s1.dc1`` matches
  nothing once ``s1.dc1`` is an alias (node names are expected to be unique across the datacenters a
  table spans).
- Every rule matching a link applies, as if the traffic crossed each faulty hop in turn: the frame is
  dropped if any rule partitions (``drop``) or any rule's ``loss`` draw hits; delays (``delay`` plus a
  uniform draw in ``±jitter``, never below zero) add up; it is duplicated if any ``duplicate`` draw hits.
- Rules are evaluated in table order and draw from the injected `random.Random`, so a seed and the same
  sequence of calls give exactly the same verdicts.
- Counters per link (``"src->dst"``) record what was seen, dropped, delayed and duplicated. They survive
  `heal`, so a test can read what a fault did after removing it.

What lives here: `FaultRule`, `Verdict`, `LinkCounters`, `FaultTable`. Pure: no Trio, no sockets, no clock.
What must never live here: applying a verdict (each transport does that: ``connection``, ``udp``).
"""

from __future__ import annotations

import math
import random
from typing import Any, Iterable

import msgspec

ANY = "*"
MAX_LINKS = 1024  # distinct links with their own counters; the rest are summed under OTHER_LINKS
OTHER_LINKS = "other"


class FaultRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One fault on the traffic from ``src`` to ``dst``. Probabilities are in [0, 1]; times in seconds."""

    src: str = ANY
    dst: str = ANY
    drop: bool = False  # partition: nothing gets through
    loss: float = 0.0  # probability that one frame or datagram is lost
    delay: float = 0.0  # added latency
    jitter: float = 0.0  # the latency varies uniformly within delay ± jitter (never below 0)
    duplicate: float = 0.0  # probability that one frame or datagram is delivered twice

    def __post_init__(self) -> None:
        if not self.src or not self.dst:
            raise ValueError("src and dst must be node names, host:port or '*'")
        for name in ("loss", "duplicate"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a probability between 0 and 1, got {value}")
        for name in ("delay", "jitter"):
            value = getattr(self, name)
            if not (0.0 <= value < math.inf):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value}")

    def matches(self, src: str, dst: str) -> bool:
        return self.src in (ANY, src) and self.dst in (ANY, dst)


class Verdict(msgspec.Struct, frozen=True):
    """What to do with one frame or datagram."""

    drop: bool = False
    delay: float = 0.0
    duplicate: bool = False


PASS = Verdict()


class LinkCounters(msgspec.Struct):
    """What the faults did to one link while rules were in force."""

    seen: int = 0
    dropped: int = 0
    delayed: int = 0
    duplicated: int = 0


class FaultTable:
    """The rules in force on one node (or one simulated network) and what they did."""

    def __init__(self, rng: random.Random, rules: Iterable[FaultRule] = ()) -> None:
        self._rng = rng
        self._rules: list[FaultRule] = []
        self._aliases: dict[str, str] = {}
        self.links: dict[str, LinkCounters] = {}
        self.replace(rules)

    # -- changing the rules ------------------------------------------------------------------------

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        return tuple(self._rules)

    def set(self, rule: FaultRule) -> None:
        """Add ``rule``, replacing the rule for the same ``src`` and ``dst`` if there is one."""
        for i, old in enumerate(self._rules):
            if (old.src, old.dst) == (rule.src, rule.dst):
                self._rules[i] = rule
                return
        self._rules.append(rule)

    def replace(self, rules: Iterable[FaultRule]) -> None:
        """Make ``rules`` the whole table (later rules for the same link replace earlier ones)."""
        self._rules = []
        for rule in rules:
            self.set(rule)

    def clear(self, src: str, dst: str) -> bool:
        """Remove the rule for exactly this ``src`` and ``dst``; True if there was one."""
        before = len(self._rules)
        self._rules = [r for r in self._rules if (r.src, r.dst) != (src, dst)]
        return len(self._rules) != before

    def heal(self) -> None:
        """Remove every rule. Counters are kept."""
        self._rules = []

    # -- naming ------------------------------------------------------------------------------------

    def alias(self, name: str, node: str) -> None:
        """Read ``name`` (how some transport knows a node) as the node name ``node`` from now on."""
        if name != node:
            self._aliases[name] = node

    def canonical(self, name: str) -> str:
        """The node name rules use for ``name``: itself unless it is a registered alias."""
        return self._aliases.get(name, name)

    # -- asking ------------------------------------------------------------------------------------

    def blocks(self, src: str, dst: str) -> bool:
        """Whether a partition rule cuts ``src`` -> ``dst`` (used before opening a connection). No draws."""
        if not self._rules:
            return False
        if self._aliases:
            src, dst = self._aliases.get(src, src), self._aliases.get(dst, dst)
        blocked = any(rule.drop and rule.matches(src, dst) for rule in self._rules)
        if blocked:
            counters = self._counters(src, dst)
            counters.seen += 1
            counters.dropped += 1
        return blocked

    def verdict(self, src: str, dst: str) -> Verdict:
        """The fate of one frame or datagram from ``src`` to ``dst``."""
        if not self._rules:
            return PASS
        if self._aliases:
            src, dst = self._aliases.get(src, src), self._aliases.get(dst, dst)
        matching = [rule for rule in self._rules if rule.matches(src, dst)]
        if not matching:
            return PASS
        counters = self._counters(src, dst)
        counters.seen += 1
        rng = self._rng
        delay = 0.0
        duplicate = False
        for rule in matching:
            if rule.drop or (rule.loss > 0.0 and rng.random() < rule.loss):
                counters.dropped += 1
                return Verdict(drop=True)
            if rule.delay > 0.0 or rule.jitter > 0.0:
                spread = rng.uniform(-rule.jitter, rule.jitter) if rule.jitter > 0.0 else 0.0
                delay += max(0.0, rule.delay + spread)
            if rule.duplicate > 0.0 and rng.random() < rule.duplicate:
                duplicate = True
        if delay > 0.0:
            counters.delayed += 1
        if duplicate:
            counters.duplicated += 1
        return Verdict(drop=False, delay=delay, duplicate=duplicate)

    def statistics(self) -> dict[str, Any]:
        return {
            "rules": [msgspec.to_builtins(rule) for rule in self._rules],
            "links": {link: msgspec.to_builtins(c) for link, c in self.links.items()},
            "aliases": dict(sorted(self._aliases.items())),
        }

    def _counters(self, src: str, dst: str) -> LinkCounters:
        key = f"{src}->{dst}"
        counters = self.links.get(key)
        if counters is None:
            if len(self.links) >= MAX_LINKS:
                key = OTHER_LINKS
            counters = self.links.setdefault(key, LinkCounters())
        return counters
