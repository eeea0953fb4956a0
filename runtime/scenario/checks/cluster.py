"""Checks on the cluster's shape: ``leader-within``, ``members-converge-within``, ``member-failed-within``.

What lives here: the three probes. A leader is agreed when every live server (of a datacenter) names the
same non-empty ``/v1/status/leader``; members converge when every live node's ``/v1/agent/members`` shows
exactly the live nodes of its datacenter with Serf status alive (1) (``wan``: every live server's WAN
members are exactly the live servers of every datacenter, named ``<node>.<dc>``); a member has failed
when every other live node of its datacenter shows it with status failed (4) (``wan``: every live server
of the other datacenters shows ``<node>.<dc>`` failed in its WAN members).

What must never live here: waiting (``phases.py`` polls these within their budgets).
"""

from __future__ import annotations

from ..context import RunContext
from ..schema_checks import LeaderWithin, MemberFailedWithin, MembersConvergeWithin
from .base import BaseCheck, Verdict

ALIVE, FAILED = 1, 4


class LeaderCheck(BaseCheck):
    spec: LeaderWithin

    async def probe(self, ctx: RunContext) -> Verdict:
        dcs = sorted({n.spec.dc for n in ctx.launcher.nodes.values() if n.spec.is_server})
        if self.spec.dc is not None:
            dcs = [self.spec.dc]
        exclude = await ctx.resolve(self.spec.exclude) if self.spec.exclude is not None else []
        found = []
        for dc in dcs:
            views = await ctx.launcher.leader_views(dc, exclude)
            if not views:
                return Verdict(False, f"{dc}: no live server answers /v1/status/leader")
            answers = set(views.values())
            if answers == {""}:
                return Verdict(False, f"{dc}: no leader ({', '.join(sorted(views))} report none)")
            if len(answers) > 1:
                shown = ", ".join(f"{n}={v or 'none'}" for n, v in sorted(views.items()))
                return Verdict(False, f"{dc}: servers disagree on the leader ({shown})")
            address = answers.pop()
            found.append(f"{dc}: {ctx.launcher.node_by_server_address(address) or '?'} ({address})")
        return Verdict(True, "leader " + "; ".join(found))


class MembersConverge(BaseCheck):
    spec: MembersConvergeWithin

    async def probe(self, ctx: RunContext) -> Verdict:
        exclude = set(await ctx.resolve(self.spec.exclude)) if self.spec.exclude is not None else set()
        if self.spec.wan:
            return await self._wan(ctx, exclude)
        nodes = [n for n in ctx.launcher.nodes.values()
                 if self.spec.dc in (None, n.spec.dc) and n.name not in exclude]
        for node in nodes:
            if not node.up:
                continue
            expected = {n.name for n in nodes if n.up and n.spec.dc == node.spec.dc}
            alive = {m["Name"] for m in await node.api.members() if m.get("Status") == ALIVE}
            alive -= exclude
            if alive != expected:
                missing, extra = sorted(expected - alive), sorted(alive - expected)
                return Verdict(False, f"{node.name} sees alive {sorted(alive)}; missing {missing}, unexpected {extra}")
        return Verdict(True, f"{sum(1 for n in nodes if n.up)} live nodes agree on membership")

    async def _wan(self, ctx: RunContext, exclude: set[str]) -> Verdict:
        servers = [n for n in ctx.launcher.nodes.values()
                   if n.spec.is_server and n.spec.role != "dev" and n.name not in exclude]
        expected = {f"{n.name}.{n.spec.dc}" for n in servers if n.up}
        for node in servers:
            if not node.up or self.spec.dc not in (None, node.spec.dc):
                continue
            alive = {m["Name"] for m in await node.api.members(wan=True) if m.get("Status") == ALIVE}
            alive -= {f"{n}.{dc}" for n in exclude for dc in {s.spec.dc for s in ctx.launcher.nodes.values()}}
            if alive != expected:
                missing, extra = sorted(expected - alive), sorted(alive - expected)
                return Verdict(False, f"{node.name} sees WAN alive {sorted(alive)}; missing {missing}, unexpected {extra}")
        return Verdict(True, f"{len(expected)} live servers agree on the WAN pool")


class MemberFailed(BaseCheck):
    spec: MemberFailedWithin

    def __init__(self, spec: MemberFailedWithin) -> None:
        super().__init__(spec)
        self.targets: list[str] | None = None

    async def probe(self, ctx: RunContext) -> Verdict:
        if self.targets is None:
            self.targets = await ctx.resolve(self.spec.node)
        wan = self.spec.wan
        for target in self.targets:
            dc = ctx.launcher.node(target).spec.dc
            name = f"{target}.{dc}" if wan else target
            for node in ctx.launcher.nodes.values():
                if not node.up or node.name == target:
                    continue
                if (wan and (node.spec.dc == dc or node.spec.role != "server")) or (not wan and node.spec.dc != dc):
                    continue
                status = {m["Name"]: m.get("Status") for m in await node.api.members(wan=wan)}.get(name)
                if status != FAILED:
                    return Verdict(False, f"{node.name} reports {name} with status {status} (failed is {FAILED})")
        peers = "every live server of the other datacenters (WAN)" if wan else "every live peer"
        return Verdict(True, f"{', '.join(self.targets)} reported failed by {peers}")
