"""Report failure-detection figures over many seeds: ``python -m tests.swim.measure [--seeds N]``.

What lives here: a small driver over `scenarios` that prints convergence time, crash-detection times
against the analytic bound, and false suspicions/deaths under loss and with a slow member, with and
without Lifeguard (and with and without the stale-gossip correction). Slow: minutes, not part of pytest.

What must never live here: assertions; the tests own those.
"""

from __future__ import annotations

import argparse
import statistics
import time

import msgspec

from actors.swim.config import lan
from tests.swim import scenarios


def _summary(values: list[float]) -> str:
    return f"mean {statistics.fmean(values):6.2f}  max {max(values):6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    seeds = range(1, args.seeds + 1)
    started = time.time()

    print("== convergence: n0 alone, n_i joins through n0 at i*10ms; time after the last join ==")
    for n in (50, 200):
        rs = [scenarios.scenario_convergence(s, n) for s in seeds]
        print(f"N={n:3}: {_summary([r['after_last_join'] for r in rs])}  seeds {list(seeds)}")

    print("\n== crash of one member at t=30 (LAN defaults) ==")
    for n in (5, 20, 50):
        rs = [scenarios.scenario_crash(s, n) for s in seeds]
        assert all(r["all_dead"] and r["false_dead"] == 0 for r in rs)
        print(f"N={n:3}: first suspect {_summary([r['first_suspect'] for r in rs])} | dead everywhere "
              f"{_summary([r['all_dead_at'] for r in rs])} | min suspicion {rs[0]['min_suspicion']:.3f}s "
              f"k={rs[0]['k']} bound {rs[0]['bound']:.1f}s")

    base = msgspec.structs.replace(lan(), tcp_fallback_ping=False)
    variants = {
        "Lifeguard + correction": base,
        "Lifeguard (memberlist)": msgspec.structs.replace(base, correct_stale_gossip=False),
        "plain SWIM + correction": base.without_lifeguard(),
        "plain SWIM": msgspec.structs.replace(base.without_lifeguard(), correct_stale_gossip=False),
    }
    print("\n== N=50, 300 s, 10% loss on every link, TCP fallback off ==")
    for label, cfg in variants.items():
        rs = [scenarios.scenario_loss(s, 50, cfg, 0.10, 300.0) for s in seeds]
        print(f"{label:24}: suspicions raised {sum(r['suspicions_raised'] for r in rs):5}  "
              f"false deaths {sum(r['false_dead'] for r in rs):4} {[r['false_dead'] for r in rs]}  "
              f"corrections {sum(r['corrections'] for r in rs):6}  packets {sum(r['packets'] for r in rs)}")

    print("\n== N=20, n1 processes every message 1.5 s late for 120 s (5% loss, TCP fallback on) ==")
    for label, cfg in variants.items():
        cfg = msgspec.structs.replace(cfg, tcp_fallback_ping=True)
        rs = [scenarios.scenario_slow(s, 20, cfg, delay=1.5, duration=120.0, loss=0.05) for s in seeds]
        print(f"{label:24}: accusations by n1 {sum(r['accusations_by_slow'] for r in rs):4}  "
              f"healthy suspected (events) {sum(r['healthy_suspected'] for r in rs):5}  "
              f"healthy declared dead {sum(r['healthy_dead_at_healthy'] for r in rs)}  "
              f"n1 declared dead {sum(r['slow_dead'] for r in rs)}")

    print("\n== N=20, n1 stalled 8 s (5% loss, TCP fallback on) ==")
    for label, cfg in variants.items():
        cfg = msgspec.structs.replace(cfg, tcp_fallback_ping=True)
        rs = [scenarios.scenario_stall(s, 20, cfg, stalls=[(10.0, 8.0)], loss=0.05) for s in seeds]
        print(f"{label:24}: healthy declared dead {sum(r['healthy_dead_at_healthy'] for r in rs)}  "
              f"n1 declared dead by {statistics.fmean(r['slow_dead'] for r in rs):.1f} observers on average, "
              f"all alive afterwards: {all(r['all_alive_at_end'] for r in rs)}")

    print(f"\n({time.time() - started:.0f} s wall)")


if __name__ == "__main__":
    main()
