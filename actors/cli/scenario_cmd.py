"""``proconsul scenario run|validate``: scenario files from the command line.

What lives here: argument parsing, the choice of the agent command (this interpreter running
``actors.cli agent``, i.e. this very build) and of the reproduce command shown with every run, and the
exit codes: ``validate`` 0 when every file is valid, 1 otherwise (each problem on its own line with file,
line and key path); ``run`` 0 only when every check held, 1 otherwise, 130 when interrupted before the
checks were judged.

What must never live here: scenario semantics; those are in ``runtime.scenario``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from pathlib import Path

SUMMARY = "Runs or validates scenario files (clusters, faults, checks)"

AGENT_COMMAND = (sys.executable, "-m", "actors.cli", "agent")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="proconsul scenario", description=SUMMARY)
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="launch the cluster, play the timeline, check, report")
    run.add_argument("file")
    run.add_argument("--seed", type=int, help="override the file's seed")
    run.add_argument("--report", type=Path, help="write the whole run as JSON to this file")
    run.add_argument("--run-dir", type=Path, help="directory for data dirs and logs (default runs/<name>-<seed>-<time>)")
    run.add_argument("--no-live", action="store_true", help="print events only, no live status panel")
    validate = sub.add_parser("validate", help="check files without running them")
    validate.add_argument("files", nargs="+")
    return parser


def _reproduce_prefix() -> str:
    if Path(sys.argv[0]).name == "proconsul":
        return "proconsul scenario run"
    return f"{shlex.quote(sys.executable)} -m actors.cli scenario run"


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=int(os.environ.get("COLUMNS", "160")))
    return console


def validate(files: list[str]) -> int:
    from runtime.scenario import ScenarioError, load_scenario
    from runtime.scenario.topology import expand_nodes

    code = 0
    for file in files:
        try:
            scenario = load_scenario(file)
        except ScenarioError as err:
            print(err, file=sys.stderr)
            code = 1
            continue
        checks = len(scenario.checks.safety) + len(scenario.checks.liveness)
        counts = [(len(expand_nodes(scenario)), "node"), (len(scenario.timeline), "step"),
                  (len(scenario.workloads), "workload"), (checks, "check")]
        shown = ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)
        print(f"{file}: ok ({scenario.name}: {shown})")
    return code


def run_file(args: argparse.Namespace) -> int:
    import trio

    from runtime.scenario import ScenarioError, load_scenario
    from runtime.scenario.runner import RunOptions, Runner

    try:
        scenario = load_scenario(args.file)
    except ScenarioError as err:
        print(err, file=sys.stderr)
        return 1
    options = RunOptions(seed=args.seed, run_dir=args.run_dir, report=args.report, command=AGENT_COMMAND,
                         reproduce_prefix=_reproduce_prefix(), live=False if args.no_live else None)
    runner = Runner(scenario, args.file, options, _console())
    try:
        trio.run(runner.run)
    except KeyboardInterrupt:
        runner.result.interrupted = True
    except Exception as exc:  # a bug in the runner: still stop the agents and report what there is
        traceback.print_exc()
        runner.result.error = f"internal error: {exc!r}"
    finally:
        if runner.launcher is not None:
            runner.launcher.kill_leftovers()
    return runner.finish()


def run(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.action == "validate":
        return validate(args.files)
    return run_file(args)
