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


async def test_partition_between_datacenters_is_sent_in_node_names_only() -> None:
    # The agents read the WAN pool's "<node>.<dc>" names as node names (FaultTable.alias), so the runner
    # sends exactly what anyone calling PUT /v1/agent/faults by hand would: rules between node names.
    from runtime.scenario.netfaults import NetFaults, partition_rules

    class FakeAPI:
        def __init__(self) -> None:
            self.tables: list[list[dict[str, object]]] = []

        async def set_faults(self, rules: list[dict[str, object]]) -> None:
            self.tables.append(rules)

        async def clear_faults(self) -> None:
            self.tables.append([])

    apis = {name: FakeAPI() for name in ("dc1-s1", "dc1-c1", "dc2-s1")}
    net = NetFaults(apis)  # type: ignore[arg-type]
    await net.add(partition_rules([["dc1-s1", "dc1-c1"], ["dc2-s1"]], oneway=False), live=apis)
    pairs = {(r["Src"], r["Dst"]) for r in apis["dc1-s1"].tables[-1]}
    assert pairs == {("dc1-s1", "dc2-s1"), ("dc2-s1", "dc1-s1")}
    assert len(apis["dc2-s1"].tables[-1]) == 4  # both of dc1's agents, both ways
    assert not any("." in str(r["Src"]) + str(r["Dst"]) for api in apis.values() for t in api.tables for r in t)
    await net.heal(live=apis)
    assert all(api.tables[-1] == [] for api in apis.values())
