"""A run's cluster: one real agent process per node on loopback, started, watched and always cleaned up.

What lives here: `Launcher`, an async context manager. It gives each node five ports from one
`PortRegistry` (HTTP, DNS, server RPC, LAN and WAN gossip), a directory ``<run_dir>/<node>/`` holding its
data dir, its JSON config (``config.json``, passed with ``-config-file``) and its captured ``stdout.log`` /
``stderr.log``, and a command line (``agent_args.py``) after the given command prefix (default
``python -m actors.cli agent``; the launcher knows no agent code). It then offers the process verbs the
timeline uses (`start`, `stop`, `kill`, `restart`, `pause`, `resume`), readiness waits (`wait_http`:
``/v1/agent/self`` answers; `wait_leader`: every live server reports the same non-empty
``/v1/status/leader``) with clear timeout messages, and `leader(dc)` -> node name.

Cleanup: leaving the ``async with`` (normally, on a failed step, on Ctrl-C or cancellation) stops every
process it started, by PID: SIGTERM, then SIGKILL after the grace period, shielded from cancellation.
`kill_leftovers()` is the synchronous last resort for callers whose event loop is gone. Children also
get a parent-death signal (``process.py``), so not even a SIGKILLed runner leaves agents behind.

What must never live here: fault semantics beyond signals, network rules, workloads or checks.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Literal, Sequence

import trio

from runtime.rng import child_seed

from .agent_api import AgentAPI, AgentError
from .agent_args import LOOPBACK, NodePorts, agent_argv
from .http_client import HttpClient, HttpClientError
from .ports import PortRegistry
from .process import ChildProcess
from .topology import NodeSpec

DEFAULT_AGENT_COMMAND = (sys.executable, "-m", "actors.cli", "agent")
READY_POLL = 0.05
LEADER_POLL = 0.1
State = Literal["new", "up", "paused", "down", "exited"]


class LaunchError(Exception):
    """A node did not start, did not become ready in time, or a verb could not be applied."""


@dataclass
class Node:
    spec: NodeSpec
    ports: NodePorts
    dir: Path
    process: ChildProcess
    api: AgentAPI
    stopped_by_us: bool = True
    starts: int = 0
    pids: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def state(self) -> State:
        if self.starts == 0:
            return "new"
        if self.process.running:
            return "paused" if self.process.paused else "up"
        return "down" if self.stopped_by_us else "exited"

    @property
    def up(self) -> bool:
        return self.state == "up"


class Launcher:
    def __init__(self, nodes: Sequence[NodeSpec], run_dir: Path, seed: int, client: HttpClient, *,
                 command: Sequence[str] = DEFAULT_AGENT_COMMAND, stop_grace: float = 5.0,
                 ports: PortRegistry | None = None) -> None:
        self.run_dir = run_dir
        self.client = client
        self.command = list(command)
        self.stop_grace = stop_grace
        self.registry = ports or PortRegistry(LOOPBACK)
        self.on_started: list[Callable[[Node], Awaitable[None]]] = []
        all_ports = {spec.name: NodePorts.of(self.registry.allocate(5)) for spec in nodes}
        self.nodes: dict[str, Node] = {}
        for spec in nodes:
            node_dir = run_dir / spec.name
            node_dir.mkdir(parents=True, exist_ok=True)
            config_file = None
            if spec.config:
                config_file = node_dir / "config.json"
                config_file.write_text(json.dumps(spec.config, indent=2) + "\n")
            argv = agent_argv(self.command, spec, all_ports[spec.name], node_dir / "data",
                              child_seed(seed, f"agent:{spec.name}") % (2**63), nodes, all_ports, config_file)
            proc = ChildProcess(argv, node_dir / "stdout.log", node_dir / "stderr.log")
            api = AgentAPI(spec.name, LOOPBACK, all_ports[spec.name].http, client)
            self.nodes[spec.name] = Node(spec, all_ports[spec.name], node_dir, proc, api)

    # --- context manager: cleanup is not optional -----------------------------------------------
    async def __aenter__(self) -> "Launcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        with trio.CancelScope(shield=True):
            await self.stop_all()
        self.kill_leftovers()

    async def stop_all(self) -> None:
        async with trio.open_nursery() as nursery:
            for node in self.nodes.values():
                if node.process.running:
                    nursery.start_soon(self._terminate, node)

    async def _terminate(self, node: Node) -> None:
        node.stopped_by_us = True
        await node.process.terminate(self.stop_grace)
        self.client.drop(node.api.host, node.api.port)

    def kill_leftovers(self) -> None:
        for node in self.nodes.values():
            node.process.kill_now()

    @property
    def pids(self) -> list[int]:
        """Every PID this launcher ever started."""
        return [pid for node in self.nodes.values() for pid in node.pids]

    # --- verbs ----------------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        return self.nodes[name]

    async def start_all(self, timeout: float) -> None:
        """Start every node that is not running, then wait until all their HTTP APIs answer."""
        starting = [node for node in self.nodes.values() if not node.process.running]
        for node in starting:
            self._spawn(node)
        errors: list[str] = []

        async def wait(name: str) -> None:
            try:
                await self.wait_http(name, timeout)
            except LaunchError as exc:
                errors.append(str(exc))

        async with trio.open_nursery() as nursery:
            for node in starting:
                nursery.start_soon(wait, node.name)
        if errors:
            raise LaunchError("\n".join(sorted(errors)))
        for node in starting:
            await self._started(node)

    def _spawn(self, node: Node) -> None:
        if node.process.running:
            raise LaunchError(f"cannot start {node.name}: it is already running (pid {node.process.pid})")
        pid = node.process.start()
        node.pids.append(pid)
        node.starts += 1
        node.stopped_by_us = False

    async def _started(self, node: Node) -> None:
        for hook in self.on_started:
            await hook(node)

    async def start(self, name: str, timeout: float) -> None:
        node = self.nodes[name]
        self._spawn(node)
        await self.wait_http(name, timeout)
        await self._started(node)

    async def stop(self, name: str) -> int | None:
        node = self.nodes[name]
        if not node.process.running:
            raise LaunchError(f"cannot stop {name}: it is not running ({node.state})")
        await self._terminate(node)
        return node.process.returncode

    async def kill(self, name: str) -> int | None:
        node = self.nodes[name]
        if not node.process.running:
            raise LaunchError(f"cannot kill {name}: it is not running ({node.state})")
        node.stopped_by_us = True
        code = await node.process.kill()
        self.client.drop(node.api.host, node.api.port)
        return code

    async def restart(self, name: str, signal_name: str, down: float, timeout: float) -> None:
        node = self.nodes[name]
        if node.process.running:
            await (self.kill(name) if signal_name == "KILL" else self.stop(name))
        if down > 0:
            await trio.sleep(down)
        await self.start(name, timeout)

    def pause(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up:
            raise LaunchError(f"cannot pause {name}: it is {node.state}")
        node.process.pause()

    def resume(self, name: str) -> None:
        node = self.nodes[name]
        if node.state != "paused":
            raise LaunchError(f"cannot resume {name}: it is {node.state}, not paused")
        node.process.resume()

    # --- readiness ------------------------------------------------------------------------------
    async def wait_http(self, name: str, timeout: float) -> None:
        node = self.nodes[name]
        last = "no answer yet"
        with trio.move_on_after(timeout):
            while True:
                if not node.process.running:
                    raise LaunchError(f"{name} exited with code {node.process.returncode} before its HTTP API "
                                      f"answered; last lines of {node.dir / 'stderr.log'}:\n{self.tail(name)}")
                try:
                    await node.api.get_json("/v1/agent/self", timeout=2.0)
                    return
                except (HttpClientError, AgentError) as exc:
                    last = str(exc)
                await trio.sleep(READY_POLL)
        raise LaunchError(f"{name}: HTTP API on {node.api.address} not answering after {timeout:g}s ({last})")

    async def wait_leader(self, timeout: float) -> str:
        """Until every live server of every datacenter reports the same non-empty leader."""
        views: dict[str, str] = {}
        with trio.move_on_after(timeout):
            while True:
                views = await self.leader_views()
                by_dc: dict[str, set[str]] = {}
                for name, seen in views.items():
                    by_dc.setdefault(self.nodes[name].spec.dc, set()).add(seen)
                if by_dc and all(len(s) == 1 and "" not in s for s in by_dc.values()):
                    leaders = sorted(next(iter(s)) for s in by_dc.values())
                    return ", ".join(f"{self.node_by_server_address(a) or '?'} ({a})" for a in leaders)
                await trio.sleep(LEADER_POLL)
        shown = ", ".join(f"{n}={v!r}" for n, v in sorted(views.items())) or "no live server answered"
        raise LaunchError(f"no leader after {timeout:g}s: /v1/status/leader stayed empty or disagreeing ({shown}). "
                          "Raft may not be implemented yet in this build; set ready = \"http\" to skip the wait.")

    async def leader_views(self, dc: str | None = None, exclude: Sequence[str] = ()) -> dict[str, str]:
        """node -> what it answers on /v1/status/leader, for every live server (of `dc`, not in `exclude`)."""
        views: dict[str, str] = {}

        async def ask(node: Node) -> None:
            try:
                views[node.name] = await node.api.leader()
            except (HttpClientError, AgentError):
                pass

        async with trio.open_nursery() as nursery:
            for node in self.nodes.values():
                if node.up and node.spec.is_server and (dc is None or node.spec.dc == dc) and node.name not in exclude:
                    nursery.start_soon(ask, node)
        return views

    async def leader(self, dc: str | None = None) -> str | None:
        """The node most live servers (of `dc`) name as leader, or None."""
        votes = Counter(v for v in (await self.leader_views(dc)).values() if v)
        if not votes:
            return None
        address = votes.most_common(1)[0][0]
        return self.node_by_server_address(address) or await self._node_by_self_info(address)

    def node_by_server_address(self, address: str) -> str | None:
        _, _, port = address.rpartition(":")
        for node in self.nodes.values():
            if str(node.ports.server) == port:
                return node.name
        return None

    async def _node_by_self_info(self, address: str) -> str | None:
        """Ask the live servers who serves RPC at `address` (their config may have moved the port)."""
        for node in self.nodes.values():
            if not (node.up and node.spec.is_server):
                continue
            try:
                info = await node.api.self_info()
            except (HttpClientError, AgentError):
                continue
            member = info.get("Member") or {}
            if f"{member.get('Addr')}:{(member.get('Tags') or {}).get('port')}" == address:
                return node.name
        return None

    def tail(self, name: str, head: int = 5, tail: int = 10) -> str:
        """The first and last lines of a node's stderr (a flag error comes first, then the usage text)."""
        try:
            lines = (self.nodes[name].dir / "stderr.log").read_text(errors="replace").splitlines()
        except OSError:
            return "    (no stderr log)"
        if len(lines) > head + tail:
            lines = [*lines[:head], f"... ({len(lines) - head - tail} lines)", *lines[-tail:]]
        return "\n".join("    " + line for line in lines) or "    (empty)"
