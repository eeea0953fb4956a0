"""The launcher against real ``-dev`` agents: free ports, readiness, kill by PID, nothing left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from runtime.scenario.http_client import HttpClient
from runtime.scenario.launcher import LaunchError, Launcher
from runtime.scenario.topology import NodeSpec


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_two_dev_agents_start_get_killed_and_are_cleaned_up(tmp_path: Path) -> None:
    client = HttpClient()
    specs = [NodeSpec("n1", "dc1", "dev"), NodeSpec("n2", "dc1", "dev")]
    async with Launcher(specs, tmp_path, seed=3, client=client, stop_grace=5.0) as launcher:
        ports = [p for node in launcher.nodes.values() for p in vars(node.ports).values()]
        assert len(set(ports)) == 10
        await launcher.start_all(timeout=30)
        n1, n2 = launcher.node("n1"), launcher.node("n2")
        assert n1.up and n2.up and n1.process.pid != n2.process.pid
        assert (await n1.api.self_info())["Config"]["NodeName"] == "n1"
        assert (await n2.api.self_info())["Config"]["NodeName"] == "n2"
        killed = n1.process.pid
        assert await launcher.kill("n1") == -9
        assert gone(killed) and n1.state == "down" and n2.up
        assert "Starting proconsul agent" in (tmp_path / "n2" / "stdout.log").read_text()
        await launcher.start("n1", timeout=30)  # same ports, same directory
        assert n1.up and n1.process.pid != killed
        assert (await n1.api.self_info())["DebugConfig"]["ports"]["http"] == n1.ports.http
        launcher.pause("n2")
        assert n2.state == "paused"
        pids = launcher.pids
    assert len(pids) == 3
    assert all(gone(pid) for pid in pids)
    await client.aclose()


async def test_a_node_that_exits_at_once_is_reported_with_its_stderr(tmp_path: Path) -> None:
    client = HttpClient()
    spec = NodeSpec("bad", "dc1", "dev", options=("-no-such-flag",))
    async with Launcher([spec], tmp_path, seed=1, client=client) as launcher:
        with pytest.raises(LaunchError, match="exited with code 1 before its HTTP API answered") as info:
            await launcher.start_all(timeout=30)
        assert "flag provided but not defined: -no-such-flag" in str(info.value)
    await client.aclose()


async def test_cleanup_on_a_failed_step_and_on_cancellation(tmp_path: Path) -> None:
    client = HttpClient()
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="a failed step"):
        async with Launcher([NodeSpec("n1", "dc1", "dev")], tmp_path / "a", seed=1, client=client) as launcher:
            await launcher.start_all(timeout=30)
            pids += launcher.pids
            raise RuntimeError("a failed step")
    with trio.move_on_after(30) as scope:
        async with Launcher([NodeSpec("n1", "dc1", "dev")], tmp_path / "b", seed=1, client=client) as launcher:
            await launcher.start_all(timeout=30)
            pids += launcher.pids
            scope.cancel()  # as Ctrl-C does to the runner: everything below is cancelled
            await trio.sleep_forever()
    assert len(pids) == 2 and all(gone(pid) for pid in pids)
    await client.aclose()
