"""Pieces the two-datacenter scenario needs: moments of a run, windowed metrics, failure latencies, and
the validation of ``dc`` on a kv-register workload and of a metric's ``since``/``until``."""

from __future__ import annotations

import textwrap

import pytest

from runtime.scenario import ScenarioError, parse_scenario
from runtime.scenario.durations import parse_moment
from runtime.scenario.stats import OpStats

TWO_DCS = """
name = "t"
duration = "30s"
[[datacenters]]
name = "dc1"
servers = 1
[[datacenters]]
name = "dc2"
servers = 1
[[workloads]]
kind = "kv-register"
name = "cross"
targets = "dc1:*"
dc = "dc2"
[[timeline]]
name = "cut"
at = "5s"
do = "partition"
groups = [["dc1:*"], ["dc2:*"]]
"""


def test_moments() -> None:
    assert parse_moment("25s") == (None, 25.0)
    assert parse_moment(3) == (None, 3.0)
    assert parse_moment("cut-wan") == ("cut-wan", 0.0)
    assert parse_moment("cut-wan+1m5s") == ("cut-wan", 65.0)
    for bad in ("+3s", "cut+soon", "10"):
        with pytest.raises(ValueError):
            parse_moment(bad)


def test_window_and_failure_latencies() -> None:
    stats = OpStats()
    for i in range(10):  # ok reads at t = 0..9 taking 10 ms, then refusals at t = 10..19 taking 2..20 ms
        stats.record("read", "ok", 0.010, float(i))
    for i in range(10):
        stats.record("read", "fail", (i + 1) * 0.002, 10.0 + i)
    whole = stats.summary(20.0)
    assert whole["ok"] == 10 and whole["fail"] == 10 and whole["fail_max"] == 20.0 and whole["p99"] == 10.0
    during = stats.summary_between(10.0, 19.0)
    assert during["ok"] == 0 and during["fail"] == 10 and during["fail_p50"] == 10.0 and during["p99"] == 0.0
    before = stats.summary_between(0.0, 9.5)
    assert before["ok"] == 10 and before["fail"] == 0 and before["throughput"] == pytest.approx(10 / 9.5, abs=0.01)


def test_two_datacenter_scenario_validates() -> None:
    text = TWO_DCS + textwrap.dedent("""
        [checks]
        safety = [{ kind = "metric", workload = "cross", metric = "fail_p99", since = "cut+2s", max = 100 }]
        liveness = [{ kind = "members-converge-within", wan = true }]
    """)
    scenario = parse_scenario(text, "ok.toml")
    assert scenario.workloads[0].dc == "dc2"  # type: ignore[union-attr]


@pytest.mark.parametrize(("change", "expected"), [
    (('dc = "dc2"', 'dc = "dc9"'), "$.workloads[0].dc: unknown datacenter 'dc9': expected one of dc1, dc2"),
])
def test_unknown_datacenter_of_a_workload(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(TWO_DCS.replace(*change), "bad.toml")
    assert any(expected in p.format("bad.toml") for p in info.value.problems), info.value.problems


def test_metric_window_names_a_step() -> None:
    text = TWO_DCS + '[checks]\nsafety = [{ kind = "metric", workload = "cross", metric = "ok", since = "heal", min = 1 }]\n'
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    assert any("no step named 'heal'" in p.format("bad.toml") for p in info.value.problems), info.value.problems


def test_partition_between_datacenters_also_cuts_the_wan_names() -> None:
    from runtime.scenario.netfaults import NetFaults, Rule, partition_rules

    net = NetFaults({}, {"dc1-s1": "dc1-s1.dc1", "dc2-s1": "dc2-s1.dc2"})
    rules = net.with_wan_twins(partition_rules([["dc1-s1", "dc1-c1"], ["dc2-s1"]], oneway=False))
    assert Rule("dc1-s1.dc1", "dc2-s1.dc2", Drop=True) in rules and Rule("dc2-s1.dc2", "dc1-s1.dc1", Drop=True) in rules
    assert not any("dc1-c1." in r.Src or "dc1-c1." in r.Dst for r in rules)  # clients have no WAN pool
    assert net.with_wan_twins([Rule("*", "dc2-s1", Delay=0.1)]) == [Rule("*", "dc2-s1", Delay=0.1),
                                                                     Rule("*", "dc2-s1.dc2", Delay=0.1)]
    net.rules = rules
    assert Rule("dc1-s1.dc1", "dc2-s1.dc2", Drop=True) in net.table_for("dc1-s1")
