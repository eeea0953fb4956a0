"""Gossip benchmark: proconsul agents vs HashiCorp ``serf`` agents, as real processes on loopback.

Not collected by pytest. Run ``.venv/bin/python -m tests.gossip.bench_gossip [N ...]`` (default 10 30).

For each cluster size N and each system (``serf`` only if the binary is on PATH), with the LAN profile
(proconsul's defaults are memberlist's LAN values; serf runs ``-profile=lan``):

1. start N agents that join nobody, wait until every one answers its API;
2. *join*: ask agents 1..N-1 to join agent 0, all at once; time until every agent sees N alive;
3. *idle*: CPU% (utime+stime over a 10 s window) and RSS of every agent, averaged;
4. *kill*: ``kill -9`` one agent; time until every survivor marks it failed (median and max over agents);
5. *event*: fire one user event at one survivor; time until every survivor has it (max).

Observation is by polling every agent in parallel (threads) every ``POLL`` seconds, so times carry that
resolution; event receipt is exact for proconsul (a blocking ``/v1/event/list`` per agent) and serf (an
event handler stamping the time).

What must never live here: assertions; this prints figures.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script from the repository root, as the README says
    sys.path.insert(0, str(REPO))

from tests.support.ports import free_ports  # noqa: E402

PROCONSUL = [sys.executable, "-m", "actors.cli"]
REPO = Path(__file__).resolve().parents[2]
POLL = 0.1
IDLE_WINDOW = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(POLL)


def first_times(pool: ThreadPoolExecutor, checks: list[Callable[[], bool]], start: float,
                timeout: float) -> list[float]:
    """Per check, seconds from ``start`` until it first held (polled in parallel)."""
    done: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(checks):
        pending = [i for i in range(len(checks)) if i not in done]
        results = list(pool.map(lambda i: (i, checks[i]()), pending))
        now = time.monotonic()
        for i, ok in results:
            if ok:
                done[i] = now - start
        if now > deadline:
            raise TimeoutError(f"{len(checks) - len(done)} agents never got there")
        time.sleep(POLL)
    return [done[i] for i in range(len(checks))]


class AgentProcess:
    """What both kinds of benchmarked agent share: one child process (``proc``) and its log file."""

    proc: subprocess.Popen[bytes]
    log: Any

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


# -- proconsul ------------------------------------------------------------------------------------------


class ProconsulAgent(AgentProcess):
    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.http, self.serf, self.server = free_ports(3)
        data = root / name
        data.mkdir(parents=True)
        self.log = open(data / "agent.log", "wb")
        self.proc = subprocess.Popen(
            [*PROCONSUL, "agent", "-node", name, "-data-dir", str(data), "-bind", "127.0.0.1", "-http-port",
             str(self.http), "-dns-port", "0", "-serf-lan-port", str(self.serf), "-serf-wan-port", "0",
             "-server-port", str(self.server), "-log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)

    def call(self, method: str, path: str, body: bytes | None = None, timeout: float = 5.0) -> Any:
        req = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", data=body, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()

    def up(self) -> bool:
        try:
            return self.call("GET", "/v1/agent/self")[0] == 200
        except (OSError, urllib.error.URLError):
            return False

    def statuses(self) -> dict[str, str]:
        try:
            members = json.loads(self.call("GET", "/v1/agent/members")[2])
        except (OSError, urllib.error.URLError, ValueError):
            return {}
        return {m["Name"]: {1: "alive", 2: "leaving", 3: "left", 4: "failed"}.get(m["Status"], "?") for m in members}

    def join(self, seed: "ProconsulAgent") -> None:
        self.call("PUT", f"/v1/agent/join/127.0.0.1:{seed.serf}", timeout=15)

    def fire(self, name: str) -> None:
        self.call("PUT", f"/v1/event/fire/{name}", b"payload")

    def start_event_watch(self, name: str) -> Callable[[], float | None]:
        """Blocking query in a thread; returns a getter for the monotonic receipt time."""
        _, headers, _ = self.call("GET", f"/v1/event/list?name={name}")
        index = headers["X-Consul-Index"]
        got: list[float] = []

        def block() -> None:
            try:
                self.call("GET", f"/v1/event/list?name={name}&index={index}&wait=60s", timeout=70)
                got.append(time.monotonic())
            except (OSError, urllib.error.URLError):
                pass

        threading.Thread(target=block, daemon=True).start()
        return lambda: got[0] if got else None


# -- serf -----------------------------------------------------------------------------------------------


class SerfAgent(AgentProcess):
    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.port, self.rpc = free_ports(2)
        data = root / name
        data.mkdir(parents=True)
        self.events_file = data / "events"
        self.log = open(data / "agent.log", "wb")
        handler = f"user:bench=date +%s.%N >> {self.events_file}"
        self.proc = subprocess.Popen(
            ["serf", "agent", f"-node={name}", f"-bind=127.0.0.1:{self.port}", f"-rpc-addr=127.0.0.1:{self.rpc}",
             "-profile=lan", "-log-level=warn", f"-event-handler={handler}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def _cli(self, *args: str, timeout: float = 5.0) -> subprocess.CompletedProcess[str]:
        command, rest = args[0], args[1:]  # Go flags stop at the first argument: -rpc-addr goes first
        return subprocess.run(["serf", command, f"-rpc-addr=127.0.0.1:{self.rpc}", *rest], capture_output=True,
                              text=True, timeout=timeout)

    def up(self) -> bool:
        return self._cli("members").returncode == 0

    def statuses(self) -> dict[str, str]:
        result = self._cli("members", "-format=json")
        if result.returncode != 0:
            return {}
        return {m["name"]: m["status"] for m in json.loads(result.stdout)["members"]}

    def join(self, seed: "SerfAgent") -> None:
        self._cli("join", f"127.0.0.1:{seed.port}", timeout=15)

    def fire(self, name: str) -> None:
        self._cli("event", "-coalesce=false", name, "payload")

    def start_event_watch(self, name: str) -> Callable[[], float | None]:
        offset = time.time() - time.monotonic()

        def got() -> float | None:
            try:
                text = self.events_file.read_text().split()
            except FileNotFoundError:
                return None
            return float(text[0]) - offset if text else None

        return got


# -- one run --------------------------------------------------------------------------------------------


def run(kind: str, n: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-{n}-"))
    make = ProconsulAgent if kind == "proconsul" else SerfAgent
    agents = [make(f"{kind[0]}{i}", root) for i in range(n)]
    pool = ThreadPoolExecutor(max_workers=n + 4)
    out: dict[str, Any] = {"system": kind, "n": n}
    try:
        wait(lambda: all(pool.map(lambda a: a.up(), agents)), 120, "agents to start")
        names = {a.name for a in agents}
        start = time.monotonic()
        list(pool.map(lambda a: a.join(agents[0]), agents[1:]))
        converged = first_times(pool, [lambda a=a: a.statuses() == dict.fromkeys(names, "alive") for a in agents],
                                start, 120)
        out["join_all_alive_s"] = max(converged)

        time.sleep(2.0)  # let the join gossip settle before measuring idle cost (not synchronisation)
        before = {a.pid: cpu_seconds(a.pid) for a in agents}
        t0 = time.monotonic()
        time.sleep(IDLE_WINDOW)
        elapsed = time.monotonic() - t0
        cpu = [(cpu_seconds(a.pid) - before[a.pid]) / elapsed * 100 for a in agents]
        out["idle_cpu_pct"] = statistics.mean(cpu)
        out["rss_mb"] = statistics.mean(rss_mb(a.pid) for a in agents)

        victim, survivors = agents[-1], agents[:-1]
        start = time.monotonic()
        victim.kill()
        detected = first_times(pool, [lambda a=a: a.statuses().get(victim.name) == "failed" for a in survivors],
                               start, 180)
        out["kill_detect_median_s"] = statistics.median(detected)
        out["kill_detect_max_s"] = max(detected)

        watches = [a.start_event_watch("bench") for a in survivors]
        time.sleep(0.5)  # the blocking queries must be parked before the event is fired
        start = time.monotonic()
        survivors[1].fire("bench")
        wait(lambda: all(w() is not None for w in watches), 60, "the event everywhere")
        out["event_all_s"] = max(w() for w in watches) - start  # type: ignore[operator]
    finally:
        for agent in agents:
            agent.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(root, ignore_errors=True)
    return out


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [10, 30]
    systems = ["proconsul"] + (["serf"] if shutil.which("serf") else [])
    results = []
    for n in sizes:
        for kind in systems:
            print(f"running {kind} N={n} ...", flush=True)
            results.append(run(kind, n))
            print(json.dumps(results[-1]), flush=True)
    print()
    header = (f"{'system':<10} {'N':>3} {'join→all alive':>15} {'kill→all failed (med/max)':>26} "
              f"{'event→all':>10} {'idle CPU%':>9} {'RSS MB':>7}")
    print(header)
    for r in results:
        print(f"{r['system']:<10} {r['n']:>3} {r['join_all_alive_s']:>14.2f}s "
              f"{r['kill_detect_median_s']:>12.2f}s / {r['kill_detect_max_s']:>6.2f}s {r['event_all_s']:>9.3f}s "
              f"{r['idle_cpu_pct']:>9.2f} {r['rss_mb']:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
