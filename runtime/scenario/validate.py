"""Cross-reference and value checks on a well-shaped `Scenario`; every problem is reported, with its path.

What lives here: `validate(scenario) -> list[Problem]`: the cluster has nodes and unique names; targets
name real nodes, roles, datacenters or steps; ``after`` names a step and steps do not wait on each other
in a cycle; checks sit in a list that suits them (eventual checks are liveness, whole-run checks are
safety); workloads named by checks exist and are of the right kind; the run is bounded.

What must never live here: types and key names (``shape.py`` enforces those), or anything that needs a
running cluster.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .durations import parse_duration, parse_moment
from .problems import Problem, Segment
from .schema import Scenario
from .schema_checks import (CHECK_BY_KIND, CHECK_KINDS, EVENTUAL_KINDS, FINAL_KINDS, ActorRestarts, Check,
                            CheckSpec, DNSAnswers, HealthIs, KVEquals, Linearizable, MemberFailedWithin, Metric,
                            NoAcknowledgedWriteLost, LeaderWithin, MembersConvergeWithin, check_name)
from .schema_steps import CheckStep, CrashActor, KVPut, LinkFault, Partition, Step
from .schema_types import targets_of
from .schema_workloads import KVRegister, Watch, workload_name
from .targets import TargetError, parse_target
from .topology import datacenters, node_lists

Path = tuple[Segment, ...]


def step_names(scenario: Scenario) -> list[str]:
    """Each step's name: its own, else its inline check's name, else ``step-<index>``."""
    names = []
    for i, step in enumerate(scenario.timeline):
        if step.name:
            names.append(step.name)
        elif isinstance(step, CheckStep) and not isinstance(step.check, str) and step.check.name:
            names.append(step.check.name)
        else:
            names.append(f"step-{i}")
    return names


class _Validator:
    def __init__(self, scenario: Scenario) -> None:
        self.s = scenario
        self.problems: list[Problem] = []
        self.nodes: list[str] = []
        self.roles: dict[str, str] = {}
        self.dcs = [name for name, _, _ in datacenters(scenario)]
        self.steps = step_names(scenario)
        self.workloads = {workload_name(w, i): w for i, w in enumerate(scenario.workloads)}

    def add(self, path: Path, message: str) -> None:
        self.problems.append(Problem(path, message))

    # --- cluster ---------------------------------------------------------------------------------
    def cluster(self) -> None:
        s = self.s
        if s.cluster is not None and s.datacenters:
            self.add(("datacenters",), "give either [cluster] or [[datacenters]], not both")
        if s.cluster is None and not s.datacenters:
            self.add((), "no nodes: add a [cluster] table (servers = 3) or [[datacenters]]")
            return
        seen_dc: set[str] = set()
        for name, _, path in datacenters(s):
            if name in seen_dc:
                self.add((*path, "name"), f"datacenter {name!r} is declared twice")
            seen_dc.add(name)
        for name, dc, role, path in node_lists(s):
            if name in self.roles:
                self.add(path, f"node name {name!r} is used twice")
            elif not name or any(c.isspace() for c in name) or name in ("*",) or ":" in name or name.startswith("@"):
                self.add(path, f"invalid node name {name!r}: no spaces, ':', '@' or '*'")
            else:
                self.nodes.append(name)
            self.roles.setdefault(name, role)
        if not self.nodes:
            self.add(("cluster",) if s.cluster else ("datacenters",), "no nodes: set servers, clients or dev")
        for dc_name, table, path in datacenters(s):
            mine = {n for n, d, _, _ in node_lists(s) if d == dc_name}
            for agent in table.agents:
                if agent not in mine:
                    self.add((*path, "agents", agent), f"no node {agent!r} in datacenter {dc_name!r}: "
                             f"expected one of {', '.join(sorted(mine)) or '(none)'}")
        has_servers = any(r in ("server", "dev") for r in self.roles.values())
        if s.ready == "leader" and not has_servers:
            self.add(("ready",), "ready = 'leader' needs at least one server or dev agent")
        self.seconds(("ready_timeout",), s.ready_timeout)

    # --- helpers ---------------------------------------------------------------------------------
    def seconds(self, path: Path, value: Any) -> float:
        try:
            return parse_duration(value) if value is not None else 0.0
        except ValueError as exc:  # already reported by shape; keep the validator total
            self.add(path, str(exc))
            return 0.0

    def target(self, path: Path, value: Any, single: bool = False) -> None:
        exprs = targets_of(value)
        if not exprs:
            self.add(path, "expected at least one target")
        for i, text in enumerate(exprs):
            where = path if isinstance(value, str) else (*path, i)
            try:
                expr = parse_target(text, self.nodes, self.dcs, self.steps)
            except TargetError as exc:
                self.add(where, str(exc))
                continue
            if single and not expr.single:
                self.add(where, f"target {text!r} may name several nodes: expected one node "
                         "(a name, leader, random-follower, random-server, random-client or random)")

    # --- sections --------------------------------------------------------------------------------
    def services(self) -> None:
        for i, svc in enumerate(self.s.services):
            path: Path = ("services", i)
            if svc.agent not in self.nodes:
                self.add((*path, "agent"), f"unknown node {svc.agent!r}: expected one of {', '.join(self.nodes)}")
            for j, chk in enumerate(svc.checks):
                kinds = [k for k in ("ttl", "http", "tcp") if getattr(chk, k) is not None]
                if len(kinds) != 1:
                    self.add((*path, "checks", j), "a check needs exactly one of ttl, http or tcp")
                elif kinds[0] != "ttl" and chk.interval is None:
                    self.add((*path, "checks", j), f"a {kinds[0]} check needs an interval")

    def workloads_(self) -> None:
        seen: set[str] = set()
        for i, w in enumerate(self.s.workloads):
            path: Path = ("workloads", i)
            name = workload_name(w, i)
            if name in seen:
                self.add((*path, "name"), f"workload name {name!r} is used twice")
            seen.add(name)
            self.target((*path, "targets"), w.targets)
            if isinstance(w, KVRegister):
                if w.mix.read + w.mix.write + w.mix.cas <= 0:
                    self.add((*path, "mix"), "the mix needs some reads, writes or cas")
                if w.rate < 0:
                    self.add((*path, "rate"), "expected a rate >= 0 ops/s (0: as fast as possible)")
                if w.dc is not None and w.dc not in self.dcs:
                    self.add((*path, "dc"), f"unknown datacenter {w.dc!r}: expected one of {', '.join(self.dcs)}")
            if isinstance(w, Watch):
                given = [k for k in ("key", "prefix", "service") if getattr(w, k) is not None]
                if len(given) != 1:
                    self.add(path, "a watch needs exactly one of key, prefix or service")
            if getattr(w, "rate", 1.0) <= 0 and w.__struct_config__.tag == "events":
                self.add((*path, "rate"), "expected a rate > 0 events/s")

    def timeline(self) -> None:
        s = self.s
        duration = self.seconds(("duration",), s.duration) if s.duration is not None else None
        seen: dict[str, int] = {}
        for i, step in enumerate(s.timeline):
            path: Path = ("timeline", i)
            name = self.steps[i]
            if name in seen:
                self.add((*path, "name"), f"step name {name!r} is used twice (first at $.timeline[{seen[name]}])")
            seen.setdefault(name, i)
            if step.at is None and step.after is None:
                self.add(path, "a step needs `at` (time since the start) or `after` (a step name)")
            if step.after is not None:
                if step.after not in self.steps:
                    self.add((*path, "after"), f"no step named {step.after!r}: expected one of "
                             f"{', '.join(n for n in self.steps if n != name) or '(none)'}")
                elif step.after == name:
                    self.add((*path, "after"), "a step cannot wait for itself")
            elif step.at is not None and duration is not None and self.seconds((*path, "at"), step.at) > duration:
                self.add((*path, "at"), f"{step.at} is after the end of the run (duration = {s.duration})")
            self.step(path, step)
        self.cycles()

    def step(self, path: Path, step: Step) -> None:
        if hasattr(step, "target") and not isinstance(step, KVPut):
            self.target((*path, "target"), step.target)
        if isinstance(step, KVPut) and step.target is not None:
            self.target((*path, "target"), step.target)
        if isinstance(step, CrashActor) and not step.path:
            self.add((*path, "path"), "expected an actor path such as 'agent:{node}/http'")
        if isinstance(step, Partition):
            if len(step.groups) < 2:
                self.add((*path, "groups"), "a partition needs at least two groups")
            if sum(1 for g in step.groups if "*" in g) > 1:
                self.add((*path, "groups"), "only one group may hold '*' (everyone not named elsewhere)")
            for j, group in enumerate(step.groups):
                if not group:
                    self.add((*path, "groups", j), "an empty group")
                self.target((*path, "groups", j), group)
        if isinstance(step, LinkFault):
            self.target((*path, "from"), step.src)
            self.target((*path, "to"), step.to)
        if isinstance(step, CheckStep):
            self.check((*path, "check"), step.check, "timeline")

    def cycles(self) -> None:
        after = {self.steps[i]: st.after for i, st in enumerate(self.s.timeline) if st.after in self.steps}
        reported: set[str] = set()
        for i, name in enumerate(self.steps):
            if name in reported:
                continue
            chain, current = [name], after.get(name)
            while current is not None and current not in chain:
                chain.append(current)
                current = after.get(current)
            if current == name and len(chain) > 1:
                reported.update(chain)
                self.add(("timeline", i, "after"), "steps wait for each other in a cycle: " + " -> ".join([*chain, name]))

    def checks(self) -> None:
        c = self.s.checks
        self.seconds(("checks", "poll"), c.poll)
        for phase in ("safety", "liveness"):
            for i, spec in enumerate(getattr(c, phase)):
                self.check(("checks", phase, i), spec, phase)
        names: dict[str, Path] = {}
        entries = [(("checks", p, i), s) for p in ("safety", "liveness") for i, s in enumerate(getattr(c, p))]
        for path, spec in entries:
            name = spec if isinstance(spec, str) else check_name(spec)
            if name in names:
                self.add(path, f"check name {name!r} is used twice: give one of them a `name`")
            names.setdefault(name, path)

    def check(self, path: Path, spec: CheckSpec, phase: str) -> None:
        if isinstance(spec, str):
            cls = CHECK_BY_KIND.get(spec)
            if cls is None:
                self.add(path, f"unknown check {spec!r}: expected one of {', '.join(CHECK_KINDS)}")
                return
            try:
                spec = cls()  # type: ignore[call-arg]
            except TypeError:
                required = [f.encode_name for f in msgspec.structs.fields(cls) if f.required]
                self.add(path, f"check {spec!r} needs settings: write it as a table, "
                         f"{{ kind = {spec!r}, {', '.join(f'{r} = ...' for r in required)} }}")
                return
        kind = spec.__struct_config__.tag
        if phase == "safety" and kind in EVENTUAL_KINDS:
            self.add(path, f"{kind} holds eventually: list it under checks.liveness or as a timeline check step")
        if phase != "safety" and kind in FINAL_KINDS:
            self.add(path, f"{kind} judges the whole run: list it under checks.safety")
        if spec.within is not None:
            self.seconds((*path, "within"), spec.within)
        self.check_fields(path, spec)

    def check_fields(self, path: Path, spec: Check) -> None:
        if isinstance(spec, (LeaderWithin, MembersConvergeWithin)):
            if spec.dc is not None and spec.dc not in self.dcs:
                self.add((*path, "dc"), f"unknown datacenter {spec.dc!r}: expected one of {', '.join(self.dcs)}")
            if spec.exclude is not None:
                self.target((*path, "exclude"), spec.exclude)
        if isinstance(spec, (MemberFailedWithin, ActorRestarts)):
            self.target((*path, "node"), spec.node, single=False)
        if isinstance(spec, (KVEquals, DNSAnswers)) and spec.target is not None:
            self.target((*path, "target"), spec.target)
        if isinstance(spec, HealthIs) and spec.node is not None and spec.node not in self.nodes:
            self.add((*path, "node"), f"unknown node {spec.node!r}: expected one of {', '.join(self.nodes)}")
        if isinstance(spec, KVEquals) and (spec.value is None) == (not spec.absent):
            self.add(path, "kv-equals needs either value = '...' or absent = true")
        if isinstance(spec, ActorRestarts) and spec.equals is None and spec.at_least is None and spec.at_most is None:
            self.add(path, "actor-restarts needs equals, at_least or at_most")
        if isinstance(spec, Metric):
            if spec.min is None and spec.max is None:
                self.add(path, "a metric check needs min or max")
            if spec.workload not in self.workloads:
                self.add((*path, "workload"), f"no workload named {spec.workload!r}: expected one of "
                         f"{', '.join(self.workloads) or '(none)'}")
            for key in ("since", "until"):
                value = getattr(spec, key)
                if value is None:
                    continue
                try:
                    step, _ = parse_moment(value)
                except ValueError as exc:
                    self.add((*path, key), str(exc))
                    continue
                if step is not None and step not in self.steps:
                    self.add((*path, key), f"no step named {step!r}: expected one of {', '.join(self.steps) or '(none)'}")
        if isinstance(spec, (Linearizable, NoAcknowledgedWriteLost)):
            kv = [n for n, w in self.workloads.items() if isinstance(w, KVRegister)]
            if spec.workload is not None and spec.workload not in kv:
                self.add((*path, "workload"), f"no kv-register workload named {spec.workload!r}: expected one of "
                         f"{', '.join(kv) or '(none)'}")
            elif not kv:
                self.add(path, f"{spec.__struct_config__.tag} needs a kv-register workload to record a history")
            if isinstance(spec, Linearizable):
                self.seconds((*path, "timeout"), spec.timeout)

    def bounded(self) -> None:
        s = self.s
        open_ended = [workload_name(w, i) for i, w in enumerate(s.workloads) if w.duration is None]
        if open_ended and s.duration is None and not s.timeline:
            self.add(("duration",), f"the run has no end: set duration (workload {open_ended[0]!r} has none "
                     "and there is no timeline)")


def validate(scenario: Scenario) -> list[Problem]:
    v = _Validator(scenario)
    v.cluster()
    v.services()
    v.workloads_()
    v.timeline()
    v.checks()
    v.bounded()
    return v.problems
