"""Seeded SWIM scenarios on `SimNet`, each returning the figures a test asserts on and `measure` prints.

What lives here: cluster construction and one function per fault scenario (convergence, crash detection,
uniform packet loss, a stalled node, a slow node, leave versus crash, restart, partition and heal). Each
returns a plain dict of measurements in virtual seconds, so tests stay one-line assertions and the same
numbers can be reported across many seeds.

What must never live here: assertions, or any randomness not derived from the scenario's seed.
"""

from __future__ import annotations

import math

from actors.swim.config import SwimConfig, lan
from actors.swim.effects import MemberState
from actors.swim.suspicion import expected_confirmations, suspicion_timeout
from tests.swim.sim import SimNet

DEAD = (MemberState.DEAD,)


def build(seed: int, n: int, config: SwimConfig | None = None, *, join_spacing: float = 0.01,
          **net_options) -> SimNet:
    """`n` nodes named n0..n{n-1}; n0 starts alone and n_i joins through n0 at ``i * join_spacing``."""
    net = SimNet(seed, config or lan(), **net_options)
    net.add_node("n0")
    for i in range(1, n):
        net.add_node(f"n{i}", join=["n0"], at=i * join_spacing)
    return net


def converge(net: SimNet, limit: float) -> float:
    """Run until every live node sees every live node alive; returns the time (or `limit`)."""
    return net.run_until(limit, stop=net.all_see_all_alive, check_every=0.05)


def detection_bound(config: SwimConfig, n: int, epsilon: float = 1e-3) -> float:
    """Seconds within which every survivor declares a crashed member dead, but with probability epsilon.

    * first suspicion: each round, each of the n-1 others probes the victim with probability ~1/(n-1),
      so a round passes unprobed with probability ~1/e; ln(1/epsilon) rounds, plus the probe round itself;
    * suspicion: at most the maximum timeout (no confirmation at all);
    * dissemination: the dead message reaches everyone in ~log3(n) gossip rounds; allow twice that.
    """
    first = config.probe_interval * (1 + math.log(1 / epsilon))
    minimum = suspicion_timeout(config.suspicion_mult, n, config.probe_interval)
    suspicion = config.suspicion_max_timeout_mult * minimum
    spread = 2 * math.ceil(math.log(n, config.gossip_nodes)) * config.gossip_interval
    return first + suspicion + spread


def scenario_convergence(seed: int, n: int, config: SwimConfig | None = None, limit: float = 120.0) -> dict:
    net = build(seed, n, config)
    last_join = (n - 1) * 0.01
    done = converge(net, limit)
    return {"converged": net.all_see_all_alive(), "after_last_join": done - last_join,
            "packets": net.packets_sent, "hash": net.trace_hash()}


def scenario_crash(seed: int, n: int, config: SwimConfig | None = None, *, loss: float = 0.0) -> dict:
    """Converge, crash one member at t=30, and time its detection at every survivor."""
    config = config or lan()
    net = build(seed, n, config)
    converge(net, 30.0)
    crash_at = 30.0
    net.run_until(crash_at)
    net.loss = loss
    victim = f"n{n // 2}"
    net.kill(victim, crash_at)
    limit = crash_at + 2 * detection_bound(config, n)
    net.run_until(limit, stop=lambda: net.all_see(victim, DEAD), check_every=0.05)
    failed = [e for e in net.events if e.kind == "failed" and e.subject == victim and e.time >= crash_at]
    suspected = net.first("suspect", victim, after=crash_at)
    others = {f"n{i}" for i in range(n)} - {victim}
    n_min = suspicion_timeout(config.suspicion_mult, n, config.probe_interval)
    return {
        "all_dead": net.all_see(victim, DEAD),
        "first_suspect": suspected.time - crash_at if suspected else math.inf,
        "first_dead": min((e.time for e in failed), default=math.inf) - crash_at,
        "all_dead_at": max((e.time for e in failed), default=math.inf) - crash_at,
        "bound": detection_bound(config, n),
        "min_suspicion": n_min,
        "k": expected_confirmations(config.suspicion_mult, n),
        "false_dead": net.count("failed", subjects=others, after=crash_at),
    }


def scenario_loss(seed: int, n: int, config: SwimConfig, loss: float, duration: float) -> dict:
    """Converge loss-free, then run `duration` seconds with `loss` on every link, nobody failing."""
    net = build(seed, n, config)
    start = converge(net, 30.0)
    net.loss = loss
    net.run_until(start + duration)
    live = net.live()
    return {
        "suspicions_raised": sum(nd.core.statistics().suspicions_raised for nd in live),
        "suspect_events": net.count("suspect", after=start),
        "false_dead": net.count("failed", after=start),
        "max_health": max(nd.core.health_score for nd in live),
        "corrections": sum(nd.core.statistics().corrections for nd in live),
        "packets": net.packets_sent,
        "lost": net.packets_lost,
    }


def scenario_stall(seed: int, n: int, config: SwimConfig, *, stalls: list[tuple[float, float]],
                   loss: float = 0.0, settle: float = 60.0) -> dict:
    """Converge, then stall n1 for each ``(start offset, duration)``; count what it did to the others.

    A stalled node still has its probe round running; when it wakes its timers fire before it reads the
    acks in its buffer, so it accuses its target. The question is whether such accusations, or the
    others' suspicion of the stalled node itself, ever make a healthy node be declared dead.
    """
    slow = "n1"
    net = build(seed, n, config)
    start = converge(net, 30.0)
    net.loss = loss
    for offset, duration in stalls:
        net.stall(slow, start + offset, duration)
    end = start + max(o + d for o, d in stalls) + settle
    net.run_until(end)
    healthy = {f"n{i}" for i in range(n)} - {slow}
    core = net.nodes[slow].core
    return {
        "accusations_by_slow": core.statistics().suspicions_raised,
        "healthy_suspected": net.count("suspect", subjects=healthy, observers=healthy, after=start),
        "healthy_dead_at_healthy": net.count("failed", subjects=healthy, observers=healthy, after=start),
        "healthy_dead_at_slow": net.count("failed", subjects=healthy, observers={slow}, after=start),
        "slow_dead": net.count("failed", subjects={slow}, after=start),
        "slow_health": core.health_score,
        "slow_incarnation": core.incarnation,
        "all_alive_at_end": net.all_see_all_alive(),
    }


def scenario_slow(seed: int, n: int, config: SwimConfig, *, delay: float, duration: float,
                  loss: float = 0.0, settle: float = 60.0) -> dict:
    """Converge, then make n1 process every message `delay` seconds late for `duration` seconds.

    With delay above probe_timeout, n1's acks arrive after its own probe deadlines: plain SWIM makes it
    accuse nearly every member it probes. Lifeguard should see the missing nacks, raise n1's health
    score, stretch its timeouts past the delay, and stop the accusations.
    """
    slow = "n1"
    net = build(seed, n, config)
    start = converge(net, 30.0)
    net.loss = loss
    net.slow(slow, start, duration, delay)
    net.run_until(start + duration + settle)
    healthy = {f"n{i}" for i in range(n)} - {slow}
    core = net.nodes[slow].core
    return {
        "accusations_by_slow": core.statistics().suspicions_raised,
        "probes_by_slow": core.statistics().probes_sent,
        "healthy_suspected": net.count("suspect", subjects=healthy, observers=healthy, after=start),
        "healthy_dead_at_healthy": net.count("failed", subjects=healthy, observers=healthy, after=start),
        "healthy_dead_at_slow": net.count("failed", subjects=healthy, observers={slow}, after=start),
        "slow_suspected": net.count("suspect", subjects={slow}, after=start),
        "slow_dead": net.count("failed", subjects={slow}, after=start),
        "all_alive_at_end": net.all_see_all_alive(),
    }


def scenario_leave_and_crash(seed: int, n: int, config: SwimConfig | None = None) -> dict:
    net = build(seed, n, config)
    start = converge(net, 30.0)
    net.leave("n2", start + 1)
    net.kill("n3", start + 1)
    net.run_until(start + 60)
    survivors = {f"n{i}" for i in range(n)} - {"n2", "n3"}
    kinds = lambda subject: sorted({e.kind for e in net.events if e.subject == subject and e.time > start  # noqa: E731
                                    and e.observer in survivors})
    return {
        "n2_kinds": kinds("n2"),
        "n3_kinds": kinds("n3"),
        "n2_states": {net.state_of(o, "n2") for o in survivors},
        "n3_states": {net.state_of(o, "n3") for o in survivors},
    }


def scenario_restart(seed: int, n: int, config: SwimConfig | None = None) -> dict:
    """Crash n3, wait until it is dead everywhere, restart it with incarnation 0 and rejoin."""
    config = config or lan()
    net = build(seed, n, config)
    start = converge(net, 30.0)
    net.kill("n3", start)
    net.run_until(start + 120, stop=lambda: net.all_see("n3", DEAD))
    dead_at = net.now
    old_incarnation = net.nodes["n0"].core.member("n3").incarnation
    net.add_node("n3", join=["n1"], at=dead_at + 1)
    net.run_until(dead_at + 1)
    back = net.run_until(dead_at + 60, stop=net.all_see_all_alive)
    return {
        "old_incarnation": old_incarnation,
        "new_incarnation": net.nodes["n3"].core.incarnation,
        "seen_incarnations": {nd.core.member("n3").incarnation for nd in net.live()},
        "all_alive": net.all_see_all_alive(),
        "rejoin_time": back - (dead_at + 1),
    }


def scenario_partition(seed: int, n: int, config: SwimConfig | None = None, *, length: float = 60.0,
                       limit: float = 240.0) -> dict:
    """Cut the cluster in two halves for `length` seconds, then heal and time the merge."""
    net = build(seed, n, config)
    start = converge(net, 30.0)
    left = [f"n{i}" for i in range(n // 2)]
    right = [f"n{i}" for i in range(n // 2, n)]

    def cut(loss: float) -> None:
        for a in left:
            for b in right:
                net.set_link_loss(a, b, loss)
                net.set_link_loss(b, a, loss)

    net.at(start, lambda: cut(1.0))
    net.at(start + length, lambda: cut(0.0))
    net.run_until(start + length)
    split = all(net.state_of(a, b) is MemberState.DEAD for a in left for b in right)
    healed = net.run_until(start + length + limit, stop=net.all_see_all_alive)
    return {"split_seen": split, "merged": net.all_see_all_alive(), "merge_time": healed - (start + length)}
