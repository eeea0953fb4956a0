"""Real ``proconsul agent`` processes on loopback for the gossip process test and the benchmark.

What lives here: `Agent` (one process with free HTTP/Serf/server ports, a ``-data-dir`` under the given
directory, an optional JSON config file; stopped or killed by its own PID only), `start_agents`,
`http_json`, `members_by_status` and `wait_until` (deadline-bounded polling of a condition; nothing here
sleeps to synchronise).

What must never live here: assertions about gossip; the test and the benchmark make them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

from tests.support.ports import free_ports

PROCONSUL = [sys.executable, "-m", "actors.cli"]
REPO = Path(__file__).resolve().parents[2]


class Agent:
    def __init__(self, name: str, root: Path, *, join: str | None = None, config: dict[str, Any] | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        self.name = name
        self.http, self.serf, self.server = free_ports(3)
        data = root / name
        data.mkdir(parents=True, exist_ok=True)
        argv = [*PROCONSUL, "agent", "-node", name, "-data-dir", str(data), "-bind", "127.0.0.1",
                "-http-port", str(self.http), "-dns-port", "0", "-serf-lan-port", str(self.serf),
                "-serf-wan-port", "0", "-server-port", str(self.server), "-log-level", "warn", *extra]
        if config:
            path = data / "gossip.json"
            path.write_text(json.dumps(config))
            argv += ["-config-file", str(path)]
        if join:
            argv += ["-retry-join", join, "-retry-interval", "500ms"]
        self.log = open(data / "agent.log", "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    @property
    def serf_address(self) -> str:
        return f"127.0.0.1:{self.serf}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http}{path}"

    def kill(self) -> None:
        """``kill -9`` by PID."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def start_agents(root: Path, count: int, *, prefix: str = "g", config: dict[str, Any] | None = None) -> list[Agent]:
    """``count`` agents; every one retry-joins the first agent's Serf address."""
    first = Agent(f"{prefix}0", root, config=config)
    return [first] + [Agent(f"{prefix}{i}", root, join=first.serf_address, config=config) for i in range(1, count)]


def http_json(agent: Agent, path: str, method: str = "GET", body: bytes | None = None, timeout: float = 5.0) -> Any:
    req = urllib.request.Request(agent.url(path), data=body, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def members_by_status(agent: Agent) -> dict[str, int]:
    """Member name -> Serf status code as ``agent`` reports it; empty if it does not answer (yet)."""
    try:
        return {m["Name"]: m["Status"] for m in http_json(agent, "/v1/agent/members")}
    except (OSError, ValueError, urllib.error.URLError):
        return {}


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll ``condition`` until it holds; returns the seconds it took, fails after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start
