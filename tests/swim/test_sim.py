"""Whole-cluster properties on the deterministic simulated network (see `sim` and `scenarios`).

Every test is seeded; a failure reproduces with the same seed. Figures are printed (``pytest -s``) so a run
doubles as a measurement; ``python -m tests.swim.measure`` reports them over many seeds.
"""

from __future__ import annotations

import msgspec
import pytest

from actors.swim.config import lan, sim
from actors.swim.effects import LeaveCompleted, MemberState
from tests.swim import scenarios
from tests.swim.sim import SimNet

NO_TCP = msgspec.structs.replace(lan(), tcp_fallback_ping=False)
"""LAN settings without the TCP fallback ping: the simulated streams never lose anything, so with the
fallback on, packet loss alone can never cause a suspicion. Without it, loss tests bite."""


def test_200_nodes_converge():
    r = scenarios.scenario_convergence(seed=7, n=200)
    print(f"\n200 nodes, seed 7: all see all alive {r['after_last_join']:.2f}s after the last join")
    assert r["converged"]
    assert r["after_last_join"] < 15.0  # ~log3(200) = 5 gossip rounds is 1 s; allow for epidemic tails


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crashed_node_is_declared_dead_by_every_survivor_within_the_bound(seed):
    r = scenarios.scenario_crash(seed, n=50)
    print(f"\nN=50 seed {seed}: first suspect {r['first_suspect']:.2f}s, first dead {r['first_dead']:.2f}s, "
          f"dead everywhere {r['all_dead_at']:.2f}s (bound {r['bound']:.1f}s)")
    assert r["all_dead"] and r["false_dead"] == 0
    assert r["all_dead_at"] <= r["bound"]
    # Lifeguard's dogpile: with k=2 independent suspicions the timeout collapses to the minimum.
    assert r["all_dead_at"] <= r["first_suspect"] + r["min_suspicion"] + 2.0


def test_no_false_positives_with_10_percent_loss_on_every_link():
    r = scenarios.scenario_loss(seed=1, n=50, config=NO_TCP, loss=0.10, duration=300.0)
    print(f"\nN=50, 300s, 10% loss, no TCP fallback, seed 1: {r['suspicions_raised']} suspicions raised, "
          f"{r['false_dead']} false deaths, {r['corrections']} stale-gossip corrections, max health {r['max_health']}")
    assert r["suspicions_raised"] > 0  # the loss really bites: every one of them had to be refuted
    assert r["false_dead"] == 0


def test_tcp_fallback_absorbs_udp_loss_entirely():
    r = scenarios.scenario_loss(seed=2, n=30, config=lan(), loss=0.10, duration=60.0)
    assert r["suspicions_raised"] == 0 and r["false_dead"] == 0


@pytest.mark.parametrize("lifeguard", [True, False], ids=["lifeguard", "plain-swim"])
def test_stalled_node_does_not_get_healthy_nodes_declared_dead(lifeguard):
    config = lan() if lifeguard else lan().without_lifeguard()
    r = scenarios.scenario_stall(seed=5, n=20, config=config, stalls=[(10.0, 8.0)], loss=0.05)
    print(f"\n8s stall of n1, N=20, 5% loss, {'Lifeguard' if lifeguard else 'plain SWIM'}: {r}")
    assert r["healthy_dead_at_healthy"] == 0
    assert r["slow_dead"] > 0 and r["slow_incarnation"] >= 1  # it was declared dead, and refuted on waking
    assert r["all_alive_at_end"]


def test_slow_node_stops_accusing_under_lifeguard():
    """n1 processes every message 1.5 s late for 120 s: its acks always miss its own deadlines."""
    with_lg = scenarios.scenario_slow(seed=4, n=20, config=lan(), delay=1.5, duration=120.0)
    without = scenarios.scenario_slow(seed=4, n=20, config=lan().without_lifeguard(), delay=1.5, duration=120.0)
    print(f"\nslow n1 (1.5s), N=20, 120s\n  Lifeguard:  {with_lg}\n  plain SWIM: {without}")
    assert with_lg["accusations_by_slow"] <= 5
    assert without["accusations_by_slow"] >= 50
    assert with_lg["healthy_suspected"] * 10 < without["healthy_suspected"]
    assert with_lg["healthy_dead_at_healthy"] == 0
    assert with_lg["all_alive_at_end"] and without["all_alive_at_end"]


def test_leave_is_left_and_crash_is_failed():
    r = scenarios.scenario_leave_and_crash(seed=3, n=10)
    assert r["n2_kinds"] == ["left"] and r["n2_states"] == {MemberState.LEFT}
    assert "failed" in r["n3_kinds"] and "left" not in r["n3_kinds"] and r["n3_states"] == {MemberState.DEAD}


def test_leave_completes_after_dissemination():
    net = scenarios.build(2, 8)
    scenarios.converge(net, 10.0)
    seen = []
    core = net.nodes["n4"].core
    original = core.poll

    def spy():
        effects = original()
        seen.extend(e for e in effects if type(e) is LeaveCompleted)
        return effects

    core.poll = spy
    net.leave("n4", net.now + 1)
    net.run_until(net.now + 10)
    assert seen == [LeaveCompleted()]


def test_restarted_node_rejoins_with_a_higher_incarnation():
    r = scenarios.scenario_restart(seed=6, n=10)
    assert r["all_alive"]
    assert r["new_incarnation"] > r["old_incarnation"]
    assert r["seen_incarnations"] == {r["new_incarnation"]}
    assert r["rejoin_time"] < 5.0


def test_partition_heals_through_reconnect_and_push_pull():
    r = scenarios.scenario_partition(seed=8, n=10, length=60.0)
    print(f"\n10 nodes split 5/5 for 60s: merged {r['merge_time']:.1f}s after the heal")
    assert r["split_seen"] and r["merged"]
    assert r["merge_time"] < 2 * lan().reconnect_interval + lan().push_pull_interval


def test_failed_members_are_reaped_after_the_reconnect_timeout():
    cfg = sim()  # reconnect_timeout 60 s of virtual time
    net = scenarios.build(3, 8, cfg, join_spacing=0.001, delay=(0.00005, 0.0002))
    scenarios.converge(net, 3.0)
    net.kill("n5", net.now)
    net.run_until(net.now + 10, stop=lambda: net.all_see("n5", scenarios.DEAD))
    assert net.all_see("n5", scenarios.DEAD)
    net.run_until(net.now + cfg.reconnect_timeout + 2 * cfg.reap_interval)
    assert all(nd.core.member("n5") is None for nd in net.live())
    assert net.count("reaped", subjects={"n5"}) == 7


def _eventful_run(seed: int) -> SimNet:
    net = scenarios.build(seed, 12, wire=True)  # wire=True: every message goes through msgpack
    net.loss = 0.05
    net.stall("n3", 5.0, 3.0)
    net.slow("n4", 8.0, 10.0, 1.2)
    net.kill("n7", 12.0)
    net.leave("n8", 15.0)
    net.kill("n8", 18.0)  # a node that left shuts down
    net.add_node("n7", join=["n1"], at=40.0)
    net.run_until(60.0)
    return net


def test_same_seed_same_trace_and_different_seed_different_trace():
    a, b, c = _eventful_run(11), _eventful_run(11), _eventful_run(12)
    assert a.trace_hash() == b.trace_hash()
    assert [(e.time, e.observer, e.kind, e.subject) for e in a.events] == [
        (e.time, e.observer, e.kind, e.subject) for e in b.events]
    assert a.trace_hash() != c.trace_hash()
    assert a.all_see_all_alive()
