"""The kv-register workload and the history checks against one real ``-dev`` agent (its KV API is there).

A ``-dev`` agent keeps its data in memory, so restarting it loses every write: the run must say the
history is linearizable *and* that acknowledged writes were lost after the restart.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from runtime.scenario import parse_scenario
from runtime.scenario.runner import RunOptions, Runner

SCENARIO = """
name = "kv-dev"
seed = 5
duration = "2s"
[cluster]
dev = 1
[[workloads]]
kind = "kv-register"
name = "kv"
keys = 3
clients = 4
rate = 400
mix = { read = 0.4, write = 0.3, cas = 0.3 }
[[workloads]]
kind = "watch"
name = "watch"
key = "scenario/k0"
watchers = 2
[checks]
safety = [
    "linearizable",
    { kind = "metric", name = "some-throughput", workload = "kv", metric = "throughput", min = 10 },
    { kind = "metric", name = "index-never-back", workload = "watch", metric = "regressions", max = 0 },
    "no-acknowledged-write-lost",
]
"""


async def test_kv_register_history_is_linearizable_and_dev_restart_loses_writes(tmp_path: Path) -> None:
    out = io.StringIO()
    options = RunOptions(run_dir=tmp_path / "run", report=tmp_path / "report.json", live=False)
    runner = Runner(parse_scenario(SCENARIO, "kv.toml"), "kv.toml", options, Console(file=out, width=200))
    await runner.run()
    code = runner.finish()
    text = out.getvalue()
    results = {c.name: c for c in runner.result.checks}
    assert results["linearizable"].ok is True, text
    assert "kv: linearizable" in results["linearizable"].detail
    assert results["some-throughput"].ok is True and results["index-never-back"].ok is True, text
    lost = results["no-acknowledged-write-lost"]
    assert lost.ok is False and "acknowledged writes lost" in lost.detail, text
    assert code == 1 and "FAIL: no-acknowledged-write-lost (fail)" in text

    history = runner.ctx.workloads["kv"].recorder.history()  # type: ignore[union-attr]
    kinds = {op.input[0] for op in history if op.status == "ok"}
    assert kinds == {"read", "write", "cas"}
    written = [op.input[2] for op in history if op.input[0] == "write"]
    assert len(written) == len(set(written))  # every write carries its own value

    report = json.loads((tmp_path / "report.json").read_text())
    metrics = report["workloads"]["kv"]["metrics"]
    assert metrics["ok"] > 0 and 0 < metrics["p50"] <= metrics["p90"] <= metrics["p99"] <= metrics["max"]
    assert report["workloads"]["watch"]["metrics"]["wakeups"] > 0
    assert report["exit_code"] == 1
