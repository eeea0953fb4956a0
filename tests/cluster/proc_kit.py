"""Real ``proconsul agent`` processes on loopback for cluster tests: start, wait, kill by PID, restart.

Each agent gets its own free ports and data dir under the test's ``tmp_path``; logs go to files there.
Only processes started here are ever signalled, by their own PID, and `ProcCluster.close` kills what is
left. Waiting is deadline-bounded polling of the agents' HTTP API.
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

PROCONSUL = [sys.executable, "-m", "actors.cli", "agent"]


class ProcAgent:
    def __init__(self, name: str, root: Path, args: list[str]) -> None:
        self.name = name
        self.http, self.dns, self.server, self.lan, self.wan = free_ports(5)
        self.data_dir = root / name
        self.log_path = root / f"{name}.log"
        self.args = ["-node", name, "-bind", "127.0.0.1", "-client", "127.0.0.1", "-data-dir", str(self.data_dir),
                     "-http-port", str(self.http), "-dns-port", str(self.dns), "-server-port", str(self.server),
                     "-serf-lan-port", str(self.lan), "-serf-wan-port", str(self.wan), *args]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([*PROCONSUL, *self.args], stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=30)
        self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def call(self, method: str, path: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, bytes]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", data=body, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def get_json(self, path: str) -> Any:
        status, body = self.call("GET", path)
        if status != 200:
            raise RuntimeError(f"{self.name} GET {path}: {status} {body[:200]!r}")
        return json.loads(body)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; return the seconds it took. Errors count as "not yet"."""
    start = time.monotonic()
    deadline = start + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return time.monotonic() - start
        except (OSError, RuntimeError, ValueError) as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last})")


class ProcCluster:
    def __init__(self, root: Path, servers: int = 3, clients: int = 0) -> None:
        self.root = root
        self.servers = [ProcAgent(f"s{i + 1}", root, []) for i in range(servers)]
        join = f"127.0.0.1:{self.servers[0].lan}"
        for agent in self.servers:
            agent.args += ["-server", "-bootstrap-expect", str(servers), "-retry-join", join,
                           "-retry-interval", "1s"]
        self.clients = [ProcAgent(f"c{i + 1}", root, ["-retry-join", join, "-retry-interval", "1s"])
                        for i in range(clients)]

    @property
    def agents(self) -> list[ProcAgent]:
        return [*self.servers, *self.clients]

    def start(self) -> None:
        for agent in self.agents:
            agent.start()

    def leader(self) -> ProcAgent | None:
        """The server every live server names as leader, if they agree."""
        names = set()
        for agent in self.servers:
            if agent.alive:
                address = agent.get_json("/v1/status/leader")
                if not address:
                    return None
                names.add(address)
        if len(names) != 1:
            return None
        address = names.pop()
        return next((a for a in self.servers if a.alive and address.endswith(f":{a.server}")), None)

    def close(self) -> None:
        for agent in self.agents:
            agent.kill()
