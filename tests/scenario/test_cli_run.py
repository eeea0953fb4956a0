"""``proconsul scenario run`` end to end: dev-smoke passes; a deliberately failing copy says which check and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "dev-smoke.toml"


def run_cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "actors.cli", "scenario", "run", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env={**os.environ, "COLUMNS": "200"})


def all_gone(report: dict) -> bool:
    for node in report["nodes"]:
        for pid in node["pids"]:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            return False
    return True


def test_dev_smoke_runs_end_to_end_and_exits_0(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_cli(str(SMOKE), "--run-dir", str(tmp_path / "run"), "--report", str(report_path))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "seed 1" in out and f"scenario run {SMOKE} --seed 1" in out  # seed and reproduce command
    assert "crash agent:n1/http on n1" in out
    assert "PASS: 2 checks held" in out
    report = json.loads(report_path.read_text())
    assert report["exit_code"] == 0 and report["seed"] == 1
    assert [c["status"] for c in report["checks"]] == ["PASS", "PASS"]
    assert report["timeline"][0]["name"] == "crash-http" and report["timeline"][0]["ok"] is True
    assert (tmp_path / "run" / "n1" / "stderr.log").exists()
    assert all_gone(report)


def test_a_failing_check_exits_1_and_says_which_and_why(tmp_path: Path) -> None:
    text = SMOKE.read_text().replace("equals = 1", "equals = 2").replace('within = "5s"', 'within = "1s"')
    failing = tmp_path / "dev-smoke-failing.toml"
    failing.write_text(text)
    report_path = tmp_path / "report.json"
    result = run_cli(str(failing), "--seed", "99", "--run-dir", str(tmp_path / "run"), "--report", str(report_path))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "FAIL: http-restarted-once (fail)" in out
    assert "n1: agent:n1/http restarted 1 times, expected exactly 2" in out
    assert "seed 99" in out and "--seed 99" in out  # --seed overrides the file's seed
    report = json.loads(report_path.read_text())
    failed = [c for c in report["checks"] if c["status"] == "FAIL"]
    assert [c["name"] for c in failed] == ["http-restarted-once"]
    assert all_gone(report)


def test_a_scenario_that_cannot_start_fails_with_the_reason(tmp_path: Path) -> None:
    text = SMOKE.read_text().replace('dev = ["n1"]', 'dev = ["n1"]\noptions = ["-no-such-flag"]')
    broken = tmp_path / "broken.toml"
    broken.write_text(text)
    result = run_cli(str(broken), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 1
    assert "run failed: n1 exited with code 1 before its HTTP API answered" in result.stdout
    assert "flag provided but not defined: -no-such-flag" in result.stdout


def test_a_three_server_cluster_scenario_with_partition_kill_and_linearizability(tmp_path: Path) -> None:
    """scenarios/ci-cluster-smoke.toml: 3 real servers, the leader partitioned then healed, then killed and
    restarted, a KV register workload throughout; every check must hold, the history linearizable."""
    scenario = ROOT / "scenarios" / "ci-cluster-smoke.toml"
    report_path = tmp_path / "report.json"
    result = run_cli(str(scenario), "--run-dir", str(tmp_path / "run"), "--report", str(report_path), timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads(report_path.read_text())
    checks = {c["name"]: c["status"] for c in report["checks"]}
    assert checks == {"majority-elects": "PASS", "leader-within": "PASS", "members-converge-within": "PASS",
                      "linearizable": "PASS"}, checks
    assert [step["ok"] for step in report["timeline"]] == [True] * 5
    assert all_gone(report)
