"""How a run is shown at the end and saved: the summary tables and the ``--report`` JSON file.

What lives here: `print_header` (seed, derived knobs and the reproduce command, printed first, as VOPR
does), `print_summary` (checks table with the reason for each failure and any failing-window table,
workload measurements table with throughput and p50/p90/p99, then the verdict, the seed and the reproduce
command again) and `write_report`.

What must never live here: the live view (``progress.py``) or deciding outcomes (``result.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .result import RunResult

_STYLE = {"PASS": "green", "FAIL": "bold red", "UNKNOWN": "yellow"}


def print_header(console: Console, result: RunResult) -> None:
    console.print(f"[bold]scenario[/] {escape(result.scenario)}  [bold]seed[/] {result.seed}  "
                  f"[bold]run dir[/] {escape(result.run_dir)}", highlight=False)
    if result.description:
        console.print(f"  {escape(result.description)}", highlight=False)
    for key, value in result.knobs.items():
        console.print(f"  {key}: {escape(str(value))}", highlight=False)
    console.print(f"  reproduce: {result.reproduce}", markup=False, highlight=False)


def print_summary(console: Console, result: RunResult) -> None:
    if result.checks:
        table = Table(title="checks", title_justify="left")
        for col in ("check", "kind", "phase", "result", "detail"):
            table.add_column(col, overflow="fold")
        for c in result.checks:
            table.add_row(Text(c.name), c.kind, c.phase, Text(c.status, style=_STYLE[c.status]), Text(c.detail))
        console.print(table)
        for c in result.checks:
            if c.ok is not True and c.report:
                console.print(f"[bold]{escape(c.name)}[/]:")
                console.print(c.report, markup=False, highlight=False)
    if result.workloads:
        table = Table(title="workloads", title_justify="left")
        for col in ("workload", "kind", "ok", "fail", "info", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "note"):
            table.add_column(col, justify="left" if col in ("workload", "kind", "note") else "right")
        for name, w in result.workloads.items():
            m = w.get("metrics", {})
            extra = ", ".join(f"{k}={m[k]:g}" for k in ("wakeups", "regressions", "flips") if k in m)
            note = w.get("error") or extra
            table.add_row(Text(name), w.get("kind", ""), *(f"{m.get(k, 0):g}" for k in ("ok", "fail", "info",
                          "throughput", "p50", "p90", "p99", "max")), Text(note))
        console.print(table)
    code = result.exit_code()
    if result.error:
        console.print(f"[bold red]run failed[/]: {escape(result.error)}", highlight=False)
    for err in result.workload_errors:
        console.print(f"[bold red]workload failed[/]: {escape(err)}", highlight=False)
    failed = result.failed_checks
    if result.interrupted and not result.judged:
        verdict = "[yellow]INTERRUPTED[/] before the checks were judged"
    elif code == 0:
        verdict = f"[green]PASS[/]: {len(result.checks)} checks held"
    else:
        names = escape(", ".join(f"{c.name} ({c.status.lower()})" for c in failed))
        verdict = "[bold red]FAIL[/]" + (f": {names}" if names else "")
    console.print(f"{verdict}  (exit {code}, {result.elapsed:.1f}s)", highlight=False)
    console.print(f"seed {result.seed}; reproduce: {result.reproduce}", markup=False, highlight=False)


def write_report(path: Path, result: RunResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2, default=str) + "\n")
