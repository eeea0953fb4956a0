"""Target expressions: which nodes a step, check or workload acts on.

Grammar (a target field holds one expression or a list of them)::

    s1                 a node by name
    *                  every node
    leader             the node /v1/status/leader names (resolved when the step runs)
    followers          live servers other than the leader;  random-follower: one of them
    servers, clients   every server / client;  random-server, random-client, random: one live node
    @kill-leader       the nodes step ``kill-leader`` acted on
    dc2:<expr>         the expression within datacenter dc2 (``dc2:*``, ``dc2:leader``...)

What lives here: `parse_target` (syntax, for the validator), `TargetError`, and `resolve_targets`, which
turns expressions into node names given a `TargetView` (who is up, who leads) and the run's seeded RNG.
Random picks draw from that RNG over *sorted* candidates, so a seed repeats its choices.

What must never live here: HTTP calls (the view does them) or acting on the nodes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Awaitable, Callable, Literal, Protocol, Sequence

ROLES = ("leader", "followers", "random-follower", "servers", "clients", "random-server", "random-client",
         "random")
Kind = Literal["all", "role", "node", "step"]


class TargetError(ValueError):
    """An expression that cannot be resolved now (no leader, no live follower...) or names nothing."""


@dataclass(frozen=True)
class TargetExpr:
    text: str
    dc: str | None
    kind: Kind
    value: str

    @property
    def single(self) -> bool:
        """Resolves to at most one node."""
        return self.kind == "node" or self.value in ("leader", "random-follower", "random-server",
                                                     "random-client", "random")


def parse_target(text: str, nodes: Sequence[str], dcs: Sequence[str], steps: Sequence[str]) -> TargetExpr:
    """Check the syntax and the names; raises `TargetError` with what was expected."""
    dc: str | None = None
    body = text
    if ":" in text and not text.startswith("@"):
        dc, _, body = text.partition(":")
        if dc not in dcs:
            raise TargetError(f"unknown datacenter {dc!r} in target {text!r}: expected one of {', '.join(dcs)}")
    if body == "*":
        return TargetExpr(text, dc, "all", body)
    if body in ROLES:
        return TargetExpr(text, dc, "role", body)
    if body.startswith("@"):
        if body[1:] not in steps:
            raise TargetError(f"target {text!r} names no step: expected @ and one of {', '.join(steps) or '(none)'}")
        return TargetExpr(text, dc, "step", body[1:])
    if body in nodes:
        return TargetExpr(text, dc, "node", body)
    raise TargetError(f"unknown target {text!r}: expected a node ({', '.join(nodes)}), '*', a role "
                      f"({', '.join(ROLES)}), '@<step>' or '<dc>:<target>'")


class TargetView(Protocol):
    """What resolution needs to know about the cluster right now."""

    def nodes(self) -> list[tuple[str, str, bool, bool]]:
        """(name, dc, is_server, is_up) of every node, in declaration order."""

    leader: Callable[[str | None], Awaitable[str | None]]
    step_nodes: dict[str, list[str]]


async def resolve_target(expr: TargetExpr, view: TargetView, rng: random.Random) -> list[str]:
    rows = [r for r in view.nodes() if expr.dc is None or r[1] == expr.dc]
    if expr.kind == "all":
        return [r[0] for r in rows]
    if expr.kind == "node":
        return [expr.value]
    if expr.kind == "step":
        picked = view.step_nodes.get(expr.value)
        if picked is None:
            raise TargetError(f"target {expr.text!r}: step {expr.value!r} has not run yet")
        in_dc = {r[0] for r in rows}
        return [n for n in picked if n in in_dc]
    role = expr.value
    up = [r for r in rows if r[3]]
    if role == "servers":
        return [r[0] for r in rows if r[2]]
    if role == "clients":
        return [r[0] for r in rows if not r[2]]
    if role == "random":
        return _pick(sorted(r[0] for r in up), rng, expr)
    if role == "random-server":
        return _pick(sorted(r[0] for r in up if r[2]), rng, expr)
    if role == "random-client":
        return _pick(sorted(r[0] for r in up if not r[2]), rng, expr)
    leader = await view.leader(expr.dc)
    if role == "leader":
        if leader is None:
            raise TargetError(f"target {expr.text!r}: no server reports a leader")
        return [leader]
    if leader is None:
        raise TargetError(f"target {expr.text!r}: no server reports a leader, so there are no followers")
    followers = sorted(r[0] for r in up if r[2] and r[0] != leader)
    if role == "followers":
        return followers
    return _pick(followers, rng, expr)


def _pick(candidates: list[str], rng: random.Random, expr: TargetExpr) -> list[str]:
    if not candidates:
        raise TargetError(f"target {expr.text!r}: no live node fits")
    return [candidates[rng.randrange(len(candidates))]]


async def resolve_targets(exprs: Sequence[TargetExpr], view: TargetView, rng: random.Random) -> list[str]:
    """Union of the expressions' nodes, without duplicates, in first-seen order."""
    out: dict[str, None] = {}
    for expr in exprs:
        for name in await resolve_target(expr, view, rng):
            out[name] = None
    return list(out)
