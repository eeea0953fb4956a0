"""Scenario files: launch a cluster of real agent processes, run workloads, inject faults, check, report.

What lives here (one job per module):

- the file: ``schema*.py`` (msgspec Structs), ``shape.py`` + ``validate.py`` + ``lines.py`` (every
  problem with its key path and line), ``loader.py`` (`load_scenario`);
- the cluster: ``topology.py`` (nodes), ``ports.py``, ``agent_args.py``, ``process.py``, ``launcher.py``;
- talking to agents: ``http_client.py`` (h11 on trio, keep-alive), ``agent_api.py``;
- the run: ``targets.py``, ``netfaults.py``, ``steps.py``, ``timeline.py``, ``workloads/``, ``checks/``,
  ``runner.py`` (safety phase, then liveness, then whole-run checks), ``progress.py``, ``report.py``.

It is generic: the agent is a command line it is given (default ``python -m actors.cli agent``), spoken to
over Consul's HTTP API and proconsul's fault-injection endpoints. Everything random comes from the run's
seed (`runtime.rng`); every run prints that seed and the command that repeats it. Real processes and a real
clock mean a seed repeats the *choices* (targets, ops, values), not the exact interleaving: this is the
loopback tier next to the deterministic simulator.

What must never live here: any import of ``actors`` (the CLI in ``actors/cli/scenario_cmd.py`` wires the
two together).
"""

from .loader import load_scenario, parse_scenario
from .problems import Problem, ScenarioError

__all__ = ["Problem", "ScenarioError", "load_scenario", "parse_scenario"]
