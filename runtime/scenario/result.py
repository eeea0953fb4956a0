"""Everything a run produced, in one plain record: `RunResult`, its exit code and its JSON form.

What lives here: `RunResult` (scenario, seed, the reproduce command, run dir, nodes with ports and PIDs,
the timeline as it happened, the event log, workload measurements, check results, an error if the run was
cut short) and `exit_code()`: 0 only if nothing went wrong and every check held (an undecided check does
not hold); 130 if interrupted before the checks were judged; 1 otherwise.

What must never live here: rendering (``report.py``) or producing the data (``runner.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .checks.base import CheckResult


@dataclass
class RunResult:
    scenario: str
    file: str
    seed: int
    reproduce: str
    run_dir: str
    started_at: str
    description: str = ""
    phase: str = "setup"
    error: str | None = None
    interrupted: bool = False
    judged: bool = False
    elapsed: float = 0.0
    knobs: dict[str, Any] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    workloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.ok is not True]

    @property
    def workload_errors(self) -> list[str]:
        return [f"{name}: {w['error']}" for name, w in self.workloads.items() if w.get("error")]

    def exit_code(self) -> int:
        if self.interrupted and not self.judged:
            return 130
        if self.error or self.workload_errors or self.failed_checks:
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["exit_code"] = self.exit_code()
        doc["checks"] = [{**asdict(c), "status": c.status} for c in self.checks]
        return doc
