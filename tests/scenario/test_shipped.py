"""Every scenario shipped in scenarios/ is valid, through the loader and through ``proconsul scenario validate``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runtime.scenario import load_scenario
from runtime.scenario.topology import expand_nodes

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))
REQUIRED = {"quickstart", "leader-failover", "partitioned-leader", "rolling-restart", "gossip-failure-detection",
            "kv-linearizable-under-faults", "crash-actor-isolation", "bench-kv", "bench-failover", "dev-smoke"}


def test_the_promised_scenarios_are_shipped() -> None:
    assert REQUIRED <= {p.stem for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert expand_nodes(scenario)


def test_validate_command_accepts_every_shipped_file() -> None:
    result = subprocess.run([sys.executable, "-m", "actors.cli", "scenario", "validate", *map(str, SHIPPED)],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == len(SHIPPED)


def test_validate_command_reports_problems_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[cluster]\nservers = 1\n[[timeline]]\nat = "1s"\ndo = "kil"\n')
    result = subprocess.run([sys.executable, "-m", "actors.cli", "scenario", "validate", str(bad)],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1
    assert f"{bad}:6: $.timeline[0].do: unknown do 'kil'" in result.stderr
