"""Running one scenario from start to summary: `Runner`.

The phases, in order (VOPR's "safety, then liveness"):

1. **launch**: a run directory, one agent process per node, readiness (HTTP, then a leader when
   ``ready = "leader"``), the ``[[services]]`` registered;
2. **safety**: ``t0``; workloads start, the timeline plays, continuous safety checks are polled; the phase
   lasts until the timeline is over, the scenario's ``duration`` has passed and bounded workloads have
   finished; open-ended workloads are then stopped;
3. **liveness**: with faults behind (the last step is usually a heal or a restart), every liveness check
   must come to hold within its ``within`` budget; they are waited for concurrently;
4. **final**: whole-run safety checks are judged (linearizability, metrics), continuous ones once more,
   ``no-acknowledged-write-lost`` last (it restarts the cluster);
5. **stay up** (``stay_up``): print every node's addresses and wait for Ctrl-C.

Whatever happens (a failed step, a node that will not start, Ctrl-C), the launcher stops every process it
started, and `finish()` prints the summary, writes the ``--report`` JSON and returns the exit code. A
failed *action* step ends the run (what follows would test something else); a failed check does not.

What lives here: `RunOptions`, `Runner` (``run`` for ``trio.run``, ``finish`` after it), `choose_seed`.
What must never live here: any step, workload or check's behaviour, or argument parsing (the CLI's).
"""

from __future__ import annotations

import datetime as dt
import secrets
import shlex
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import trio
from rich.console import Console

from .agent_api import AgentError
from .checks import make_check
from .checks.base import CheckResult
from .checks.phases import SafetyWatch, budget_of, hold_within
from .context import RunContext
from .durations import parse_duration
from .http_client import HttpClient, HttpClientError
from .launcher import DEFAULT_AGENT_COMMAND, LaunchError, Launcher
from .netfaults import NetFaultError
from .progress import Progress
from .report import print_header, print_summary, write_report
from .result import RunResult
from .schema import Scenario, Service
from .schema_workloads import workload_name
from .steps import StepError
from .targets import TargetError
from .timeline import StepFailed, Timeline
from .topology import expand_nodes
from .validate import step_names
from .workloads import make_workload

EXPECTED_ERRORS = (LaunchError, StepFailed, StepError, NetFaultError, AgentError, HttpClientError, TargetError, OSError)


@dataclass
class RunOptions:
    seed: int | None = None
    run_dir: Path | None = None
    report: Path | None = None
    command: Sequence[str] = DEFAULT_AGENT_COMMAND
    reproduce_prefix: str = "proconsul scenario run"
    live: bool | None = None
    stop_grace: float = 5.0
    stay_up: bool | None = None
    runs_root: Path = Path("runs")


def choose_seed(option: int | None, scenario: Scenario) -> int:
    if option is not None:
        return option
    if scenario.seed is not None:
        return scenario.seed
    return secrets.randbelow(2**31)


class Runner:
    def __init__(self, scenario: Scenario, file: str, options: RunOptions, console: Console | None = None) -> None:
        self.scenario = scenario
        self.options = options
        self.console = console or Console()
        self.seed = choose_seed(options.seed, scenario)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.run_dir = options.run_dir or options.runs_root / f"{scenario.name}-{self.seed}-{stamp}"
        reproduce = f"{options.reproduce_prefix} {shlex.quote(file)} --seed {self.seed}"
        self.result = RunResult(scenario.name, file, self.seed, reproduce, str(self.run_dir),
                                dt.datetime.now().isoformat(timespec="seconds"), scenario.description)
        self.launcher: Launcher | None = None
        self.ctx: RunContext | None = None
        self.timeline: Timeline | None = None
        self._began = time.monotonic()

    # --- the run --------------------------------------------------------------------------------
    async def run(self) -> None:
        client = HttpClient()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._on_signals, nursery.cancel_scope)
                await self._main(client)
                nursery.cancel_scope.cancel()
        except BaseException as exc:  # noqa: BLE001 - sorted below; anything unexpected is re-raised
            leaves = [e for e in _leaves(exc) if not isinstance(e, trio.Cancelled)]
            if any(isinstance(e, KeyboardInterrupt) for e in leaves):
                self.result.interrupted = True
                self.console.print("\ninterrupted: stopping every agent", style="yellow")
            elif leaves and all(isinstance(e, EXPECTED_ERRORS) for e in leaves):
                self.result.error = "; ".join(str(e) for e in leaves)
            else:
                raise
        finally:
            with trio.CancelScope(shield=True):
                await client.aclose()

    async def _on_signals(self, scope: trio.CancelScope) -> None:
        """SIGINT or SIGTERM: stop the run (the launcher then stops every agent) and report what there is.
        A second signal falls back to the default behaviour."""
        if threading.current_thread() is not threading.main_thread():
            return
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                self.result.interrupted = True
                self.console.print(f"\n{signal.Signals(signum).name}: stopping every agent", style="yellow")
                scope.cancel()
                return

    async def _main(self, client: HttpClient) -> None:
        s, opts = self.scenario, self.options
        self.run_dir.mkdir(parents=True, exist_ok=True)
        launcher = Launcher(expand_nodes(s), self.run_dir, self.seed, client, command=opts.command,
                            stop_grace=opts.stop_grace)
        self.launcher = launcher
        ctx = RunContext(s, self.seed, launcher)
        ctx.ready_timeout = parse_duration(s.ready_timeout)
        has_servers = any(n.spec.is_server for n in launcher.nodes.values())
        ctx.ready_mode = s.ready or ("leader" if has_servers else "http")
        self.ctx = ctx
        self._describe(ctx)
        print_header(self.console, self.result)
        planned = parse_duration(s.duration) if s.duration is not None else None
        progress = Progress(self.console, ctx, planned, opts.live)
        async with launcher:
            launcher.on_started.append(lambda node: ctx.net.restarted(node.name))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(progress.run)
                await self._launch(ctx)
                await self._phases(ctx, progress)
                if s.stay_up if opts.stay_up is None else opts.stay_up:
                    await self._stay_up(ctx)
                nursery.cancel_scope.cancel()
            ctx.phase = "cleanup"

    def _describe(self, ctx: RunContext) -> None:
        s = self.scenario
        nodes = []
        for node in ctx.launcher.nodes.values():
            nodes.append({"name": node.name, "dc": node.spec.dc, "role": node.spec.role, "dir": str(node.dir),
                          "ports": asdict(node.ports), "argv": node.process.argv, "pids": node.pids})
        self.result.nodes = nodes
        self.result.knobs = {
            "nodes": ", ".join(f"{n['name']} ({n['role']}, {n['dc']}, http {n['ports']['http']})" for n in nodes),
            "ready": f"{ctx.ready_mode} within {ctx.ready_timeout:g}s",
            "duration": s.duration if s.duration is not None else "timeline and workloads",
            "agent command": " ".join(self.options.command),
        }

    async def _launch(self, ctx: RunContext) -> None:
        ctx.phase = "launch"
        ctx.event("phase", f"starting {len(ctx.launcher.nodes)} agents")
        await ctx.launcher.start_all(ctx.ready_timeout)
        if ctx.ready_mode == "leader":
            leader = await ctx.launcher.wait_leader(ctx.ready_timeout)
            ctx.event("phase", f"leader elected: {leader}")
        for svc in self.scenario.services:
            await ctx.launcher.node(svc.agent).api.register_service(service_definition(svc))
            ctx.event("setup", f"registered service {svc.name} on {svc.agent}")

    async def _phases(self, ctx: RunContext, progress: Progress) -> None:
        s = self.scenario
        poll = parse_duration(s.checks.poll)
        safety = [make_check(c) for c in s.checks.safety]
        liveness = [make_check(c) for c in s.checks.liveness]
        workloads = [make_workload(ctx, w, workload_name(w, i)) for i, w in enumerate(s.workloads)]
        ctx.workloads = {w.name: w for w in workloads}
        timeline = Timeline(ctx, list(s.timeline), step_names(s), poll)
        self.timeline = progress.timeline = timeline
        watch = SafetyWatch(ctx, safety, poll)

        ctx.t0 = trio.current_time()
        ctx.phase = "safety"
        ctx.event("phase", "safety: workloads, timeline and safety checks")
        try:
            async with trio.open_nursery() as checks_nursery:
                checks_nursery.start_soon(watch.run)
                async with trio.open_nursery() as loads:
                    for w in workloads:
                        loads.start_soon(w.run)
                    await timeline.run()
                    if s.duration is not None:
                        await trio.sleep_until(ctx.t0 + parse_duration(s.duration))
                    for w in workloads:
                        if not w.bounded:
                            w.stop(w.stop_grace)
                ctx.phase = "liveness"
                results = await self._liveness(ctx, liveness, poll)
                checks_nursery.cancel_scope.cancel()
        finally:
            self.result.checks = list(timeline.check_results)
        ctx.phase = "final"
        ctx.event("phase", "final: judging the whole run")
        final = await watch.finish()
        self.result.checks = [*timeline.check_results, *results, *final]
        self.result.judged = True
        ctx.phase = "done"

    async def _liveness(self, ctx: RunContext, checks: list, poll: float) -> list[CheckResult]:
        if not checks:
            return []
        ctx.event("phase", f"liveness: {len(checks)} checks must hold within their budgets")
        results: list[CheckResult | None] = [None] * len(checks)

        async def one(i: int) -> None:
            results[i] = await hold_within(ctx, checks[i], budget_of(checks[i]), poll, "liveness")
            r = results[i]
            ctx.event("check", f"{r.name}: {r.status} {r.detail}", ok=bool(r.ok))  # type: ignore[union-attr]

        async with trio.open_nursery() as nursery:
            for i in range(len(checks)):
                nursery.start_soon(one, i)
        return [r for r in results if r is not None]

    async def _stay_up(self, ctx: RunContext) -> None:
        ctx.phase = "up"
        lines = ["the cluster stays up; Ctrl-C stops it. Addresses:"]
        for node in ctx.launcher.nodes.values():
            p = node.ports
            lines.append(f"  {node.name:<8} HTTP http://127.0.0.1:{p.http}   DNS 127.0.0.1:{p.dns} "
                         f"(dig @127.0.0.1 -p {p.dns} consul.service.consul)   "
                         f"inspector ws://127.0.0.1:{p.http}/v1/agent/actors")
        first = next(iter(ctx.launcher.nodes.values()))
        lines.append(f"  try: CONSUL_HTTP_ADDR=127.0.0.1:{first.ports.http} proconsul actors -watch")
        self.console.print("\n".join(lines), highlight=False, markup=False)
        await trio.sleep_forever()

    # --- after trio.run -------------------------------------------------------------------------
    def finish(self) -> int:
        """Fill in what the run left, print the summary, write the report; returns the exit code."""
        if self.launcher is not None:
            self.launcher.kill_leftovers()
            for entry in self.result.nodes:
                node = self.launcher.nodes[entry["name"]]
                entry["pids"] = list(node.pids)
                entry["state"] = node.state
        if self.ctx is not None:
            self.result.phase = self.ctx.phase
            self.result.events = [asdict(ev) for ev in self.ctx.events]
            for name, w in self.ctx.workloads.items():
                self.result.workloads[name] = {"kind": w.kind, "error": w.error, "metrics": w.metrics(),
                                               "nodes": w.nodes}
        if self.timeline is not None:
            self.result.timeline = [r.as_dict() for r in self.timeline.records]
        self.result.elapsed = round(time.monotonic() - self._began, 3)
        print_summary(self.console, self.result)
        if self.options.report is not None:
            write_report(self.options.report, self.result)
            self.console.print(f"report written to {self.options.report}", highlight=False)
        return self.result.exit_code()


def service_definition(svc: Service) -> dict[str, Any]:
    doc: dict[str, Any] = {"Name": svc.name, "Port": svc.port, "Tags": list(svc.tags), "Meta": dict(svc.meta)}
    if svc.id:
        doc["ID"] = svc.id
    if svc.address:
        doc["Address"] = svc.address
    checks = []
    for chk in svc.checks:
        entry: dict[str, Any] = {"Name": chk.name or f"{svc.name} check"}
        for key, value in (("TTL", chk.ttl), ("HTTP", chk.http), ("TCP", chk.tcp), ("Interval", chk.interval),
                           ("Timeout", chk.timeout), ("Status", chk.status)):
            if value is not None:
                entry[key] = value if isinstance(value, str) else f"{value}s"
        checks.append(entry)
    if checks:
        doc["Checks"] = checks
    return doc


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]
