"""What a running scenario shares between its steps, workloads and checks: `RunContext`.

What lives here: the run's seed and seeded streams (`stream(name)`), the clock origin (``t0``; `now()`
is seconds since the safety phase began), the launcher, HTTP client and network-fault table, the event
log every part appends to (`event`), the nodes each step acted on (for ``@step`` targets), the workloads
by name, and `resolve` (target fields -> node names) through the `targets.TargetView` it implements.

What must never live here: the behaviour of steps, workloads or checks; printing (``progress.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

import trio

from runtime.rng import derive

from .launcher import Launcher
from .netfaults import NetFaults
from .schema import Scenario
from .schema_types import Target, targets_of
from .targets import TargetExpr, parse_target, resolve_targets
from .topology import datacenters
from .validate import step_names


@dataclass
class Event:
    t: float
    kind: str
    text: str
    ok: bool = True
    data: dict[str, Any] = field(default_factory=dict)


class RunContext:
    def __init__(self, scenario: Scenario, seed: int, launcher: Launcher) -> None:
        self.scenario = scenario
        self.seed = seed
        self.launcher = launcher
        self.client = launcher.client
        self.net = NetFaults({name: node.api for name, node in launcher.nodes.items()})
        self.rng = derive(seed, "targets")
        self.t0: float | None = None
        self.events: list[Event] = []
        self.listeners: list[Callable[[Event], None]] = []
        self.step_nodes: dict[str, list[str]] = {}
        self.step_times: dict[str, float] = {}  # step name -> seconds since t0 when it started
        self.workloads: dict[str, Any] = {}
        self.phase = "setup"
        self.ready_timeout = 30.0
        self.ready_mode = "http"
        self._names = ([n for n in launcher.nodes], [d for d, _, _ in datacenters(scenario)], step_names(scenario))

    # --- time and randomness --------------------------------------------------------------------
    def now(self) -> float:
        return 0.0 if self.t0 is None else trio.current_time() - self.t0

    def stream(self, name: str) -> random.Random:
        return derive(self.seed, name)

    # --- events ---------------------------------------------------------------------------------
    def event(self, kind: str, text: str, ok: bool = True, **data: Any) -> Event:
        ev = Event(round(self.now(), 3), kind, text, ok, data)
        self.events.append(ev)
        for listener in self.listeners:
            listener(ev)
        return ev

    # --- targets (TargetView) -------------------------------------------------------------------
    def nodes(self) -> list[tuple[str, str, bool, bool]]:
        return [(n.name, n.spec.dc, n.spec.is_server, n.up) for n in self.launcher.nodes.values()]

    async def leader(self, dc: str | None) -> str | None:
        return await self.launcher.leader(dc)

    def parse(self, text: str) -> TargetExpr:
        return parse_target(text, *self._names)

    async def resolve(self, target: Target | None, rng: random.Random | None = None) -> list[str]:
        exprs = [self.parse(t) for t in targets_of(target)]
        return await resolve_targets(exprs, self, rng or self.rng)

    def live(self) -> list[str]:
        return [n.name for n in self.launcher.nodes.values() if n.up]
