"""The runner's small pure parts: durations, line search, targets, fault rules, percentiles, failing histories."""

from __future__ import annotations

import random

import pytest

from runtime.checker import History
from runtime.scenario.checks.history import judge
from runtime.scenario.durations import format_duration, parse_duration
from runtime.scenario.lines import line_of
from runtime.scenario.netfaults import Rule, link_rules, partition_rules
from runtime.scenario.ports import PortRegistry
from runtime.scenario.stats import OpStats, percentile
from runtime.scenario.targets import TargetError, parse_target, resolve_targets


@pytest.mark.parametrize(("text", "seconds"), [("10s", 10), ("1m30s", 90), ("250ms", 0.25), ("1.5h", 5400),
                                               (3, 3.0), ("0", 0.0)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["10", "s", "-1s", "1x", True, -2])
def test_bad_durations_say_what_is_expected(bad: object) -> None:
    with pytest.raises(ValueError, match="duration such as '10s'"):
        parse_duration(bad)  # type: ignore[arg-type]


def test_format_duration() -> None:
    assert [format_duration(x) for x in (0.25, 1.5, 12, 90)] == ["250ms", "1.5s", "12s", "1m30s"]


def test_line_of_follows_headers_and_keys() -> None:
    text = 'name = "x"\n[cluster]\nservers = 3\n[[timeline]]\nat = "1s"\n[[timeline]]\nat = "2s"\ndo = "k"\n' \
           '[checks]\nliveness = [\n  { kind = "a", within = "x" },\n]\n'
    assert line_of(text, ("cluster", "servers")) == 3
    assert line_of(text, ("timeline", 1, "do")) == 8
    assert line_of(text, ("timeline", 1)) == 6
    assert line_of(text, ("checks", "liveness", 0, "within")) == 11
    assert line_of(text, ("nothing",)) is None


class View:
    def __init__(self, leader: str | None) -> None:
        self._leader = leader
        self.step_nodes = {"kill": ["s2"]}

    def nodes(self) -> list[tuple[str, str, bool, bool]]:
        return [("s1", "dc1", True, True), ("s2", "dc1", True, False), ("s3", "dc1", True, True),
                ("c1", "dc1", False, True), ("x1", "dc2", True, True)]

    async def leader(self, dc: str | None) -> str | None:
        return self._leader


NAMES = (["s1", "s2", "s3", "c1", "x1"], ["dc1", "dc2"], ["kill"])


async def resolve(texts: list[str], leader: str | None = "s1", seed: int = 1) -> list[str]:
    return await resolve_targets([parse_target(t, *NAMES) for t in texts], View(leader), random.Random(seed))


async def test_targets_resolve_by_name_role_step_and_datacenter() -> None:
    assert await resolve(["leader"]) == ["s1"]
    assert await resolve(["followers"]) == ["s3", "x1"]
    assert await resolve(["dc2:*"]) == ["x1"]
    assert await resolve(["@kill", "c1"]) == ["s2", "c1"]
    assert await resolve(["random-client"]) == ["c1"]
    picks = {tuple(await resolve(["random-server"], seed=s)) for s in range(20)}
    assert picks <= {("s1",), ("s3",), ("x1",)} and len(picks) > 1  # s2 is down: never picked
    assert await resolve(["random-server"], seed=5) == await resolve(["random-server"], seed=5)


async def test_targets_without_a_leader_fail_clearly() -> None:
    with pytest.raises(TargetError, match="no server reports a leader"):
        await resolve(["leader"], leader=None)


def test_target_syntax_errors() -> None:
    with pytest.raises(TargetError, match="unknown datacenter 'dc9'"):
        parse_target("dc9:*", *NAMES)
    with pytest.raises(TargetError, match="names no step"):
        parse_target("@nope", *NAMES)


def test_partition_and_link_rules() -> None:
    both = partition_rules([["a"], ["b", "c"]], oneway=False)
    assert set(both) == {Rule("a", "b", Drop=True), Rule("a", "c", Drop=True), Rule("b", "a", Drop=True),
                         Rule("c", "a", Drop=True)}
    assert partition_rules([["a"], ["b"]], oneway=True) == [Rule("a", "b", Drop=True)]
    lossy = link_rules(["a"], ["a", "b"], oneway=False, Loss=0.2)
    assert lossy == [Rule("a", "b", Loss=0.2), Rule("b", "a", Loss=0.2)]


def test_port_registry_never_repeats() -> None:
    registry = PortRegistry()
    first, second = registry.allocate(5), registry.allocate(5)
    assert len(set(first) | set(second)) == 10


def test_percentiles_and_summary() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4], 99) == 4 and percentile([], 50) == 0
    stats = OpStats()
    for i in range(100):
        stats.record("read", "ok", (i + 1) / 1000, float(i))
    stats.record("write", "info", 0.0, 0.0)
    summary = stats.summary(10.0)
    assert summary["throughput"] == 10.0 and summary["p50"] == 50.0 and summary["p99"] == 99.0
    assert summary["info"] == 1 and summary["errors"] == 1 and summary["read.max"] == 100.0


async def test_a_stale_read_fails_with_the_failing_window() -> None:
    history = History.from_tuples([
        ("a", ("write", "k", "v1"), None, 0, 1),
        ("a", ("write", "k", "v2"), None, 2, 3),
        ("b", ("read", "k", None), "v1", 4, 5),
    ])
    verdict = await judge(history, 5.0, "kv")
    assert verdict.ok is False
    assert "NOT linearizable on k" in verdict.detail
    assert "read" in verdict.report and "'v1'" in verdict.report
