"""Checks on what agents serve: ``kv-equals``, ``health-is``, ``dns-answers``, ``actor-restarts``.

What lives here: the four probes, each one round of HTTP (or DNS) calls against the nodes it names.
``kv-equals`` reads with ``?consistent`` through its target (default: the first live server; ``*``: every
live node must agree); ``health-is`` folds each instance's checks into Consul's aggregate (critical beats
warning beats passing); ``actor-restarts`` reads the restart count of one path from ``/v1/agent/actors``.

What must never live here: waiting or repetition (``phases.py``).
"""

from __future__ import annotations

from typing import Any

from .. import dns_client
from ..context import RunContext
from ..schema_checks import ActorRestarts, DNSAnswers, HealthIs, KVEquals
from .base import BaseCheck, Verdict, first_live

_RANK = {"passing": 0, "warning": 1, "critical": 2}


async def _targets(ctx: RunContext, target: str | None) -> list[str]:
    if target is None:
        node = first_live(ctx)
        return [node] if node else []
    return [n for n in await ctx.resolve(target) if ctx.launcher.node(n).up]


class KVEqualsCheck(BaseCheck):
    spec: KVEquals

    async def probe(self, ctx: RunContext) -> Verdict:
        nodes = await _targets(ctx, self.spec.target)
        if not nodes:
            return Verdict(False, "no live node to read from")
        want = None if self.spec.absent else self.spec.value
        for node in nodes:
            value, _ = await ctx.launcher.node(node).api.kv_get(self.spec.key, "consistent")
            if value != want:
                shown = "absent" if value is None else repr(value)
                return Verdict(False, f"{self.spec.key} is {shown} on {node}, expected "
                               f"{'absent' if want is None else repr(want)}")
        return Verdict(True, f"{self.spec.key} = {'absent' if want is None else repr(want)} on {', '.join(nodes)}")


class HealthIsCheck(BaseCheck):
    spec: HealthIs

    async def probe(self, ctx: RunContext) -> Verdict:
        node = first_live(ctx)
        if node is None:
            return Verdict(False, "no live node to ask")
        entries = await ctx.launcher.node(node).api.health_service(self.spec.service)
        if self.spec.node is not None:
            entries = [e for e in entries if e.get("Node", {}).get("Node") == self.spec.node]
        if self.spec.instances is not None and len(entries) != self.spec.instances:
            return Verdict(False, f"{len(entries)} instances of {self.spec.service}, expected {self.spec.instances}")
        if not entries:
            return Verdict(False, f"no instance of {self.spec.service} is registered")
        for entry in entries:
            status = aggregate(entry.get("Checks") or [])
            if status != self.spec.status:
                sid = entry.get("Service", {}).get("ID", "?")
                return Verdict(False, f"{self.spec.service} instance {sid} is {status}, expected {self.spec.status}")
        count = len(entries)
        return Verdict(True, f"{count} instance{'s' if count != 1 else ''} of {self.spec.service} "
                       f"{'are' if count != 1 else 'is'} {self.spec.status}")


def aggregate(checks: list[dict[str, Any]]) -> str:
    worst = "passing"
    for check in checks:
        status = check.get("Status", "critical")
        if _RANK.get(status, 2) > _RANK[worst]:
            worst = status if status in _RANK else "critical"
    return worst


class DNSAnswersCheck(BaseCheck):
    spec: DNSAnswers

    async def probe(self, ctx: RunContext) -> Verdict:
        nodes = await _targets(ctx, self.spec.target)
        if not nodes:
            return Verdict(False, "no live node to ask")
        for node in nodes:
            port = ctx.launcher.node(node).ports.dns
            try:
                rcode, count = await dns_client.query("127.0.0.1", port, self.spec.query, self.spec.type, 2.0,
                                                      ctx.stream(f"dns:{self.name}"))
            except TimeoutError as exc:
                return Verdict(False, f"{node}: {exc} (the agent may have no DNS server yet)")
            if count < self.spec.count:
                return Verdict(False, f"{node}: {self.spec.query} {self.spec.type} -> {rcode} with {count} answers, "
                               f"expected at least {self.spec.count}")
        return Verdict(True, f"{self.spec.query} {self.spec.type} answered by {', '.join(nodes)}")


def find_actor(tree: dict[str, Any], path: str) -> dict[str, Any] | None:
    if tree.get("path") == path:
        return tree
    for child in tree.get("children") or []:
        found = find_actor(child, path)
        if found is not None:
            return found
    return None


class ActorRestartsCheck(BaseCheck):
    spec: ActorRestarts

    async def probe(self, ctx: RunContext) -> Verdict:
        spec = self.spec
        nodes = [n for n in await ctx.resolve(spec.node) if ctx.launcher.node(n).up]
        if not nodes:
            return Verdict(None, f"no live node among {spec.node!r} to ask")
        seen = []
        for node in nodes:
            path = spec.path.replace("{node}", node)
            actor = find_actor(await ctx.launcher.node(node).api.actor_tree(), path)
            if actor is None:
                return Verdict(False, f"{node}: no actor at {path}")
            count = int(actor.get("restarts", 0))
            wanted = []
            if spec.equals is not None and count != spec.equals:
                wanted.append(f"exactly {spec.equals}")
            if spec.at_least is not None and count < spec.at_least:
                wanted.append(f"at least {spec.at_least}")
            if spec.at_most is not None and count > spec.at_most:
                wanted.append(f"at most {spec.at_most}")
            if wanted:
                err = actor.get("last_error") or {}
                why = f" (last error: {err.get('type')}: {err.get('message')})" if err else ""
                return Verdict(False, f"{node}: {path} restarted {count} times, expected {' and '.join(wanted)}{why}",
                               data={"restarts": count})
            seen.append(f"{path} restarted {count} time{'s' if count != 1 else ''}")
        return Verdict(True, "; ".join(seen))
