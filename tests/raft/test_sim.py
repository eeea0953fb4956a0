"""Seed sweeps of the simulated cluster: safety always, liveness after healing, exact replay.

Environment knobs (no pytest options, so this works from any rootdir):

* ``RAFT_SIM_SEEDS=N``: seeds for the main 3-server sweep (default 200; the other profiles scale
  with it). Nightly: ``RAFT_SIM_SEEDS=5000``.
* ``RAFT_SIM_SEED=S``: run only seed S in every profile (to replay a failure; a failure message
  prints the line to use).
"""

from __future__ import annotations

import os
import statistics

import pytest

from .sim import Sim, SimProfile, measure_failover

SEEDS = int(os.environ.get("RAFT_SIM_SEEDS", "200"))
ONLY = os.environ.get("RAFT_SIM_SEED")

PROFILES: dict[str, tuple[SimProfile, int]] = {
    "3-servers": (SimProfile(), SEEDS),
    "5-servers": (SimProfile(voters=5, chaos_ticks=300), max(1, SEEDS // 5)),
    "membership": (SimProfile(voters=3, spares=2, membership=True, chaos_ticks=300), max(1, SEEDS // 5)),
    "msgpack-wire": (SimProfile(encode=True), max(1, SEEDS // 10)),
}


def cases() -> list:
    out = []
    for name, (profile, count) in PROFILES.items():
        seeds = [int(ONLY)] if ONLY is not None else range(count)
        out += [pytest.param(profile, seed, id=f"{name}-seed{seed}") for seed in seeds]
    return out


@pytest.mark.parametrize(("profile", "seed"), cases())
def test_safety_and_liveness(profile: SimProfile, seed: int) -> None:
    result = Sim(seed, profile).run()
    assert result.liveness_ticks is not None
    assert result.applied_max > 1


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_same_seed_same_trace(seed: int) -> None:
    profile = SimProfile(voters=3, spares=2, membership=True, encode=True, trace=True)
    first = Sim(seed, profile).run()
    second = Sim(seed, profile).run()
    assert first.trace_hash == second.trace_hash, f"seed={seed} is not deterministic"
    assert first.delivered == second.delivered
    other = Sim(seed + 1000, profile).run()
    assert other.trace_hash != first.trace_hash


def test_the_sweep_exercises_snapshots_reads_and_elections() -> None:
    """Guard against a sim that silently stops injecting trouble."""
    results = [Sim(seed, SimProfile()).run() for seed in range(20)]
    assert sum(r.snapshots_installed for r in results) >= 5
    assert sum(r.reads_ok for r in results) >= 100
    assert sum(r.elections for r in results) >= 40


def test_default_timings_replace_a_killed_leader_within_a_second() -> None:
    """RaftConfig() defaults on a loopback-like network: median failover under 1.0 s."""
    times = sorted(measure_failover(seed) for seed in range(60))
    median = statistics.median(times)
    assert median < 1.0, f"median failover {median:.3f}s (p90 {times[int(len(times) * 0.9)]:.3f}s)"
    assert times[0] >= 0.4  # nobody campaigns before roughly one election timeout
