"""What each timeline step does, given the run's context: `run_step(ctx, step, name) -> StepOutcome`.

What lives here: one small coroutine per ``do`` value: process faults through the launcher (by PID),
``crash-actor`` through the agent's fault-injection endpoint, network faults through the cluster's rule
table (``netfaults.py``), ``kv-put`` through the KV API. Targets are resolved when the step runs, so
``leader`` means the leader at that moment; the nodes a step acted on are kept for ``@step`` targets.
``check`` steps are run by the timeline (they need the checks registry).

What must never live here: scheduling (``timeline.py``) or judging the outcome (``checks/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .agent_api import AgentError
from .context import RunContext
from .durations import parse_duration
from .http_client import HttpClientError
from .launcher import LaunchError
from .netfaults import NetFaultError, link_rules, partition_rules
from .schema_steps import (CrashActor, Delay, Duplicate, Heal, Kill, KVPut, Loss, Partition, Pause, Restart, Resume,
                           Start, Step, Stop)
from .targets import TargetError


class StepError(Exception):
    """The step could not be carried out; the message says why."""


@dataclass
class StepOutcome:
    nodes: list[str]
    detail: str


async def run_step(ctx: RunContext, step: Step, name: str) -> StepOutcome:
    try:
        outcome = await _dispatch(ctx, step)
    except (LaunchError, AgentError, HttpClientError, TargetError, NetFaultError) as exc:
        raise StepError(str(exc)) from None
    ctx.step_nodes[name] = outcome.nodes
    return outcome


async def _dispatch(ctx: RunContext, step: Step) -> StepOutcome:
    launcher = ctx.launcher
    if isinstance(step, Partition):
        return await _partition(ctx, step)
    if isinstance(step, Heal):
        told = await ctx.net.heal(ctx.live())
        return StepOutcome([], f"network healed ({', '.join(told) or 'no agent had rules'})")
    if isinstance(step, (Delay, Loss, Duplicate)):
        srcs, dsts = await ctx.resolve(step.src), await ctx.resolve(step.to)
        if isinstance(step, Delay):
            effect = {"Delay": parse_duration(step.delay), "Jitter": parse_duration(step.jitter)}
        elif isinstance(step, Loss):
            effect = {"Loss": step.rate}
        else:
            effect = {"Duplicate": step.rate}
        rules = link_rules(srcs, dsts, step.oneway, **effect)
        told = await ctx.net.add(rules, ctx.live())
        arrow = "->" if step.oneway else "<->"
        return StepOutcome(sorted({*srcs, *dsts}), f"{step.__struct_config__.tag} {effect} on "
                           f"{','.join(srcs)} {arrow} {','.join(dsts)} (told {', '.join(told) or 'nobody'})")
    if isinstance(step, KVPut):
        nodes = await ctx.resolve(step.target or "random")
        ok = await launcher.node(nodes[0]).api.kv_put(step.key, step.value)
        if not ok:
            raise StepError(f"PUT /v1/kv/{step.key} through {nodes[0]} answered false")
        return StepOutcome(nodes[:1], f"{step.key} = {step.value!r} through {nodes[0]}")
    nodes = await ctx.resolve(step.target)  # type: ignore[union-attr]
    if not nodes:
        raise StepError(f"target {step.target!r} names no node right now")  # type: ignore[union-attr]
    details = []
    for node in nodes:
        details.append(await _one(ctx, step, node))
    return StepOutcome(nodes, "; ".join(details))


async def _one(ctx: RunContext, step: Step, node: str) -> str:
    launcher = ctx.launcher
    pid = launcher.node(node).process.pid
    if isinstance(step, Kill):
        code = await launcher.kill(node)
        return f"killed {node} (pid {pid}, exit {code})"
    if isinstance(step, Stop):
        code = await launcher.stop(node)
        return f"stopped {node} (pid {pid}, exit {code})"
    if isinstance(step, Start):
        await launcher.start(node, ctx.ready_timeout)
        return f"started {node} (pid {launcher.node(node).process.pid})"
    if isinstance(step, Restart):
        await launcher.restart(node, step.signal, parse_duration(step.down), ctx.ready_timeout)
        return f"restarted {node} (pid {pid} -> {launcher.node(node).process.pid})"
    if isinstance(step, Pause):
        launcher.pause(node)
        return f"paused {node} (pid {pid})"
    if isinstance(step, Resume):
        launcher.resume(node)
        return f"resumed {node} (pid {pid})"
    if isinstance(step, CrashActor):
        path = step.path.replace("{node}", node)
        await launcher.node(node).api.inject(step.op, path)
        return f"{step.op} {path} on {node}"
    raise StepError(f"step kind {step.__struct_config__.tag!r} has no action")


async def _partition(ctx: RunContext, step: Partition) -> StepOutcome:
    named: list[list[str]] = []
    for group in step.groups:
        named.append(await ctx.resolve([t for t in group if t != "*"]) if [t for t in group if t != "*"] else [])
    taken = {n for g in named for n in g}
    everyone = [n for n, _, _, _ in ctx.nodes()]
    groups = []
    for group, nodes in zip(step.groups, named):
        if "*" in group:
            nodes = [*nodes, *(n for n in everyone if n not in taken)]
        groups.append(list(dict.fromkeys(nodes)))
    for i, g in enumerate(groups):
        for other in groups[i + 1:]:
            overlap = set(g) & set(other)
            if overlap:
                raise StepError(f"partition groups overlap on {', '.join(sorted(overlap))}")
    if sum(1 for g in groups if g) < 2:
        raise StepError(f"partition needs two non-empty groups, resolved to {groups}")
    told = await ctx.net.add(partition_rules(groups, step.oneway), ctx.live())
    shown = (" -/-> " if step.oneway else " | ").join("[" + ",".join(g) + "]" for g in groups)
    return StepOutcome(groups[0], f"partition {shown} (told {', '.join(told)})")
