"""Network-fault steps push the agreed rule tables to live agents, and a missing endpoint is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.scenario import parse_scenario
from runtime.scenario.agent_api import MissingEndpoint
from runtime.scenario.context import RunContext
from runtime.scenario.http_client import HttpClient
from runtime.scenario.launcher import Launcher
from runtime.scenario.steps import run_step
from runtime.scenario.topology import expand_nodes

SCENARIO = """
name = "net"
ready = "http"
[cluster]
dev = 3
[[timeline]]
name = "cut"
at = "1s"
do = "partition"
groups = [["n1"], ["*"]]
oneway = true
[[timeline]]
name = "slow"
at = "2s"
do = "delay"
from = "n2"
to = "n3"
delay = "50ms"
jitter = "10ms"
[[timeline]]
name = "heal"
at = "3s"
do = "heal"
"""


async def rules_of(launcher: Launcher, node: str) -> list[tuple[str, str, bool, float]]:
    doc = await launcher.node(node).api.get_json("/v1/agent/faults")
    return sorted((r["src"], r["dst"], r["drop"], r["delay"]) for r in doc["Rules"])


async def test_partition_delay_and_heal_reach_the_agents(tmp_path: Path) -> None:
    scenario = parse_scenario(SCENARIO)
    client = HttpClient()
    async with Launcher(expand_nodes(scenario), tmp_path, seed=1, client=client) as launcher:
        ctx = RunContext(scenario, 1, launcher)
        launcher.on_started.append(lambda node: ctx.net.restarted(node.name))
        await launcher.start_all(timeout=30)
        cut, slow, heal = scenario.timeline

        outcome = await run_step(ctx, cut, "cut")
        assert outcome.nodes == ["n1"] and ctx.step_nodes["cut"] == ["n1"]
        assert await rules_of(launcher, "n1") == [("n1", "n2", True, 0.0), ("n1", "n3", True, 0.0)]
        assert await rules_of(launcher, "n2") == [("n1", "n2", True, 0.0)]

        await run_step(ctx, slow, "slow")
        assert ("n2", "n3", False, 0.05) in await rules_of(launcher, "n3")
        assert ("n3", "n2", False, 0.05) in await rules_of(launcher, "n3")

        await launcher.restart("n2", "KILL", 0.0, timeout=30)  # a restarted agent gets its rules back
        assert await rules_of(launcher, "n2") == [("n1", "n2", True, 0.0), ("n2", "n3", False, 0.05),
                                                  ("n3", "n2", False, 0.05)]

        await run_step(ctx, heal, "heal")
        for node in ("n1", "n2", "n3"):
            assert await rules_of(launcher, node) == []

        with pytest.raises(MissingEndpoint, match="n1: the agent has no GET /v1/no/such endpoint yet"):
            await launcher.node("n1").api.get_json("/v1/no/such?x=1")
    await client.aclose()
