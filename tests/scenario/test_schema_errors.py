"""Malformed scenario files: each problem is reported with its file, line, key path and what was expected."""

from __future__ import annotations

import textwrap

import pytest

from runtime.scenario import ScenarioError, parse_scenario

BASE = """
name = "t"
duration = "10s"
[cluster]
servers = 3
clients = 1
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(textwrap.dedent(text), "bad.toml")
    return [p.format("bad.toml") for p in info.value.problems]


CASES = [
    ("unknown top-level key", "bogus = 1\n" + BASE,
     ["bad.toml:1: $.bogus: unknown key `bogus`: expected one of name, description, seed"]),
    ("missing name", "[cluster]\nservers = 1\n", ["bad.toml: $: missing required key `name` (a string)"]),
    ("bad duration", BASE.replace('"10s"', '"ten seconds"'),
     ["bad.toml:3: $.duration: expected a duration such as '10s', '1m30s' or '250ms'", "got 'ten seconds'"]),
    ("unknown do", BASE + '[[timeline]]\nat = "1s"\ndo = "explode"\n',
     ["bad.toml:9: $.timeline[0].do: unknown do 'explode': expected one of 'kill', 'stop', 'start'"]),
    ("missing target", BASE + '[[timeline]]\nat = "1s"\ndo = "kill"\n',
     ["bad.toml:7: $.timeline[0]: missing required key `target` (a string or an array of strings)"]),
    ("wrong type", BASE.replace("servers = 3", 'servers = "three"'),
     ["bad.toml:5: $.cluster.servers: expected an integer >= 0 or an array of strings, got the string 'three'"]),
    ("probability out of range", BASE + '[[timeline]]\nat = "1s"\ndo = "loss"\nfrom = "s1"\nrate = 1.5\n',
     ["bad.toml:11: $.timeline[0].rate: expected a number between 0 and 1, got the number 1.5"]),
    ("unknown node in a target", BASE + '[[timeline]]\nat = "1s"\ndo = "kill"\ntarget = "s9"\n',
     ["bad.toml:10: $.timeline[0].target: unknown target 's9': expected a node (s1, s2, s3, c1), '*', a role"]),
    ("after names no step", BASE + '[[timeline]]\nname = "a"\nat = "1s"\ndo = "heal"\n'
     '[[timeline]]\nafter = "nope"\ndo = "heal"\n',
     ["bad.toml:12: $.timeline[1].after: no step named 'nope': expected one of a"]),
    ("steps in a cycle", BASE + '[[timeline]]\nname = "a"\nafter = "b"\ndo = "heal"\n'
     '[[timeline]]\nname = "b"\nafter = "a"\ndo = "heal"\n',
     ["$.timeline[0].after: steps wait for each other in a cycle: a -> b -> a"]),
    ("eventual check listed as safety", BASE + '[checks]\nsafety = [{ kind = "leader-within", within = "5s" }]\n',
     ["bad.toml:8: $.checks.safety[0]: leader-within holds eventually: list it under checks.liveness"]),
    ("unknown check name", BASE + '[checks]\nliveness = ["leader-soon"]\n',
     ["$.checks.liveness[0]: unknown check 'leader-soon': expected one of leader-within"]),
    ("cluster and datacenters", BASE + '[[datacenters]]\nname = "dc2"\nservers = 1\n',
     ["$.datacenters: give either [cluster] or [[datacenters]], not both"]),
    ("TOML syntax", 'name = "t"\nduration = \n', ["$: not valid TOML: ", "line 2"]),
    ("linearizable with no workload", BASE + '[checks]\nsafety = ["linearizable"]\n',
     ["$.checks.safety[0]: linearizable needs a kv-register workload to record a history"]),
    ("unknown datacenter", BASE + '[[workloads]]\nkind = "watch"\nkey = "k"\ntargets = ["dc2:*"]\n',
     ["$.workloads[0].targets[0]: unknown datacenter 'dc2' in target 'dc2:*': expected one of dc1"]),
    ("unknown key in a nested table", BASE + '[cluster.agents.s1]\noptionz = ["-log-level", "debug"]\n',
     ["bad.toml:8: $.cluster.agents.s1.optionz: unknown key `optionz`: expected one of options, config"]),
    ("override for a node that does not exist", BASE + '[cluster.agents.s7]\noptions = []\n',
     ["bad.toml:7: $.cluster.agents.s7: no node 's7' in datacenter 'dc1'"]),
    ("bare check that needs settings", BASE + '[checks]\nliveness = ["kv-equals"]\n',
     ["$.checks.liveness[0]: check 'kv-equals' needs settings: write it as a table, { kind = 'kv-equals', key = ... }"]),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in CASES], ids=[c[0] for c in CASES])
def test_malformed_file_is_reported_clearly(text: str, expected: list[str]) -> None:
    found = "\n".join(problems(text))
    for fragment in expected:
        assert fragment in found


def test_every_problem_of_a_kind_is_reported_at_once() -> None:
    text = "bogus = 1\n" + BASE + '[[timeline]]\nat = "1q"\ndo = "kill"\ntarget = "s1"\n' + \
        '[[timeline]]\nat = "1s"\ndo = "explode"\n' + '[checks]\nsafety = [3]\n'
    found = problems(text)
    assert len(found) == 4, found
    assert any("$.bogus" in p for p in found)
    assert any("$.timeline[0].at" in p for p in found)
    assert any("$.timeline[1].do" in p for p in found)
    assert any("$.checks.safety[0]: expected a string or a table, got the integer 3" in p for p in found)


def test_cross_reference_problems_are_reported_together() -> None:
    text = BASE + '[[timeline]]\nat = "1s"\ndo = "kill"\ntarget = "x1"\n' + \
        '[[timeline]]\nat = "20s"\ndo = "heal"\n' + '[checks]\nliveness = ["no-acknowledged-write-lost"]\n'
    found = "\n".join(problems(text))
    assert "$.timeline[0].target: unknown target 'x1'" in found
    assert "$.timeline[1].at: 20s is after the end of the run (duration = 10s)" in found
    assert "$.checks.liveness[0]: no-acknowledged-write-lost judges the whole run" in found


def test_yaml_scenarios_load_like_toml_and_report_errors_with_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pathlib

    import yaml

    from runtime.scenario import load_scenario

    smoke = pathlib.Path(__file__).resolve().parents[2] / "scenarios" / "dev-smoke.toml"
    as_toml = load_scenario(smoke)
    import tomllib

    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(tomllib.loads(smoke.read_text())))
    assert load_scenario(path) == as_toml

    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\ntimeline:\n  - at: 1s\n    do: kil\n")
    with pytest.raises(ScenarioError, match=r"\$\.timeline\[0\]\.do: unknown do 'kil'"):
        load_scenario(broken)
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(garbage)
