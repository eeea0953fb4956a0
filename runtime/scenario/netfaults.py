"""Network faults of a run: one rule table for the whole cluster, pushed to the agents it concerns.

The agent-side contract (proconsul agents serve it with ``-enable-fault-injection``; without it the path
is a 404 and the runner says the agent has no such endpoint):

``PUT /v1/agent/faults`` with a JSON body ::

    {"Rules": [{"Src": "n1", "Dst": "n2", "Drop": true, "Loss": 0.0, "Delay": 0.0, "Jitter": 0.0,
                "Duplicate": 0.0}, ...]}

replaces the agent's whole rule table (idempotent: sending the same table twice changes nothing) and
answers ``200 true``. ``DELETE /v1/agent/faults`` empties it (``200 true``); ``GET`` may return it.

- ``Src``/``Dst`` are node names (``-node``); ``"*"`` matches any node. Keys are matched without case.
- A rule applies to the traffic *from* Src *to* Dst, on the sender (egress): an agent consults its table
  for what it sends. A one-way cut is one rule, a symmetric one two.
- ``Drop``: nothing gets through. ``Loss``: each frame or datagram is lost with this probability (0..1).
  ``Delay``/``Jitter`` (seconds): each is held ``Delay`` plus a uniform draw in ``±Jitter`` (never below
  0), so traffic may be reordered. ``Duplicate``: each is delivered twice with this probability. Every
  matching rule applies (any drop or loss draw drops, delays add up, any duplicate draw duplicates).
- The runner sends each agent every rule that names it, as Src or as Dst; only those whose Src is the
  agent itself take effect there, the others are harmless (the agent never sends as another node) and
  make ``GET`` on either end show the whole cut.
- Rules cover the cluster transports (LAN/WAN gossip over UDP and TCP, server RPC and Raft); never the
  HTTP API or DNS, so the runner can always reach and heal an agent.
- Rules name nodes, never pools or transports: the agent reads the WAN pool's member names
  (``<node>.<dc>``) and the WAN forwarder's peers as their node names (``FaultTable.alias``), so a rule
  between two servers of different datacenters cuts their WAN gossip and their forwarded requests too.
  A ``<node>.<dc>`` selector matches nothing. The runner sends node names only (its node names are
  unique across datacenters, as rules need).
- Random draws (loss, jitter, duplication) come from the agent's seeded streams.
- The table lives in memory: a restarted agent starts empty, and the runner pushes its rules again as soon
  as its HTTP API answers.

(The agent side is ``runtime.inspect.install_fault_table`` over ``runtime.transport.faults.FaultTable``.)

What lives here: `Rule`, `NetFaults` (add a partition or a link fault, heal, push the changed per-agent
tables, re-push on restart). What must never live here: resolving targets (``targets.py``) or process
signals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

import trio

from .agent_api import AgentAPI, AgentError
from .http_client import HttpClientError


@dataclass(frozen=True)
class Rule:
    Src: str
    Dst: str
    Drop: bool = False
    Loss: float = 0.0
    Delay: float = 0.0
    Jitter: float = 0.0
    Duplicate: float = 0.0

    def mentions(self, node: str) -> bool:
        return self.Src in (node, "*") or self.Dst in (node, "*")


def partition_rules(groups: list[list[str]], oneway: bool) -> list[Rule]:
    """Drop rules between resolved groups: all pairs across groups, or only first group -> others."""
    rules = []
    for i, group in enumerate(groups):
        for j, other in enumerate(groups):
            if i == j or (oneway and i != 0):
                continue
            rules += [Rule(a, b, Drop=True) for a in group for b in other]
    return rules


def link_rules(srcs: Iterable[str], dsts: Iterable[str], oneway: bool, **effect: Any) -> list[Rule]:
    srcs, dsts = list(srcs), list(dsts)
    rules = [Rule(a, b, **effect) for a in srcs for b in dsts if a != b]
    if not oneway:
        rules += [Rule(b, a, **effect) for a in srcs for b in dsts if a != b]
    return list(dict.fromkeys(rules))


class NetFaults:
    """The cluster's rule table and what each agent was last told."""

    def __init__(self, apis: dict[str, AgentAPI]) -> None:
        self.apis = apis
        self.rules: list[Rule] = []
        self.pushed: dict[str, tuple[Rule, ...]] = {}
        self.errors: list[str] = []

    def table_for(self, node: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.mentions(node))

    async def add(self, rules: list[Rule], live: Iterable[str]) -> list[str]:
        self.rules = list(dict.fromkeys([*self.rules, *rules]))
        return await self.push(live)

    async def heal(self, live: Iterable[str]) -> list[str]:
        self.rules = []
        return await self.push(live)

    async def push(self, live: Iterable[str], force: Iterable[str] = ()) -> list[str]:
        """Send each live agent its table if it changed (or is forced); returns the agents told."""
        live = set(live)
        targets = sorted(n for n in self.apis if n in live and (n in force or self.table_for(n) != self.pushed.get(n, ())))
        failures: list[str] = []

        async def one(node: str) -> None:
            table = self.table_for(node)
            try:
                if table:
                    await self.apis[node].set_faults([asdict(r) for r in table])
                else:
                    await self.apis[node].clear_faults()
                self.pushed[node] = table
            except (AgentError, HttpClientError) as exc:
                failures.append(str(exc))

        async with trio.open_nursery() as nursery:
            for node in targets:
                nursery.start_soon(one, node)
        if failures:
            raise NetFaultError("; ".join(sorted(failures)))
        return targets

    async def restarted(self, node: str) -> None:
        """A node came back with an empty table: give it its rules again (if it has any)."""
        self.pushed[node] = ()
        if self.table_for(node):
            await self.push([node], force=[node])


class NetFaultError(Exception):
    pass
