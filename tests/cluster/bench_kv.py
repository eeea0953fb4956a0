"""Benchmark: KV throughput and latency on a three-server cluster, and leader failover time (not collected).

Run from the repository root::

    .venv/bin/python tests/cluster/bench_kv.py                    # 5 s per point, 5 failover trials
    .venv/bin/python tests/cluster/bench_kv.py --duration 10 --etcd

The cluster: three server agents, each in *its own process*, durable Raft logs under a temporary data
dir (fsync before every acknowledgement), Consul's default timings. ``--mode agents`` (the default) runs
real ``proconsul agent -server -bootstrap-expect 3 -retry-join ...`` processes that find each other by
gossip; ``--mode static`` runs ``serve_agent`` per process with the founding servers named through the
static ``raft.servers`` extra, as the in-process tests do. A crash is SIGKILL of the leader's process;
a restart starts the same command again on the same data dir and ports.

The load generator (this process, Trio): N concurrent clients (1, 16, 64), one keep-alive connection
each, each with one request in flight, for a fixed duration per point, over 1,000 keys with 100-byte
values. Points:

* ``PUT leader``: every client writes to the leader's HTTP port;
* ``PUT any``: client i writes to server i mod 3 (two thirds of the writes are forwarded);
* ``GET default``: client i reads from server i mod 3 (a follower asks the leader for its commit index);
* ``GET stale``: the same with ``?stale`` (answered locally).

Printed per point: operations/s, p50/p99 latency. Failover: the leader's process is killed and a client
keeps writing through a surviving server; the time from the kill to the first acknowledged write (and
to a new leader, polled on ``/v1/status/leader`` every 10 ms) is measured over ``--trials`` trials; the
killed server is restarted and caught up between trials.

``--etcd`` also starts three etcd members (Debian's ``etcd-server``) on loopback with their data dirs
in the same temporary directory and drives the same PUT workload through etcd's JSON gateway
(``POST /v3/kv/put``; reads: ``/v3/kv/range``, linearizable and ``serializable``), for a side-by-side
ratio from the same client on the same machine.

Every process started here is stopped by its PID. What must never live here: assertions a test suite
relies on.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import trio  # noqa: E402

from tests.cluster.cluster_kit import ConnectFailed, HttpConn, ReplyLost, percentile  # noqa: E402
from tests.support.ports import free_ports  # noqa: E402

NAMES = ("s1", "s2", "s3")
KEYS = 1000
VALUE = b"x" * 100


# =====================================================================================================
# one server process
# =====================================================================================================


def serve_one(name: str, spec_path: str) -> None:
    from actors.agent import serve_agent
    from actors.flags import parse_agent_flags

    spec = json.loads(Path(spec_path).read_text())
    me = spec["servers"][name]
    cfg = parse_agent_flags(
        ["-server", "-bootstrap-expect", "3", "-node", name, "-bind", "127.0.0.1",
         "-data-dir", str(Path(spec["dir"]) / name), "-server-port", str(me["server"]),
         "-serf-lan-port", str(me["lan"]), "-serf-wan-port", str(me["wan"]), "-http-port", str(me["http"]),
         "-dns-port", str(me["dns"]), "-seed", str(NAMES.index(name) + 1)],
        hostname="bench")
    servers = {n: ("127.0.0.1", s["server"]) for n, s in spec["servers"].items()}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(lambda task_status: serve_agent(cfg, extras={"raft.servers": servers},
                                                                task_status=task_status))
            print("READY", flush=True)
            await trio.sleep_forever()

    trio.run(main)


class Cluster:
    """Three server processes (see the module docstring)."""

    def __init__(self, root: Path, mode: str) -> None:
        self.root = root
        self.mode = mode
        ports = free_ports(len(NAMES) * 5)
        self.spec = {"dir": str(root), "servers": {
            name: dict(zip(("server", "lan", "wan", "http", "dns"), ports[i * 5:i * 5 + 5]))
            for i, name in enumerate(NAMES)}}
        self.spec_path = root / "spec.json"
        self.spec_path.write_text(json.dumps(self.spec))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def http(self, name: str) -> tuple[str, int]:
        return ("127.0.0.1", self.spec["servers"][name]["http"])

    def start(self, name: str) -> None:
        log = open(self.root / f"{name}.log", "ab")
        if self.mode == "static":
            self.procs[name] = subprocess.Popen(
                [sys.executable, __file__, "--serve", name, "--spec", str(self.spec_path)],
                stdout=subprocess.PIPE, stderr=log, cwd=REPO)
            log.close()
            line = self.procs[name].stdout.readline()  # type: ignore[union-attr]
            if b"READY" not in line:
                raise SystemExit(f"{name} did not start; see {self.root / (name + '.log')}")
            return
        me = self.spec["servers"][name]
        joins = [arg for other, s in self.spec["servers"].items() if other != name
                 for arg in ("-retry-join", f"127.0.0.1:{s['lan']}")]
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "actors.cli", "agent", "-server", "-bootstrap-expect", "3", "-node", name,
             "-bind", "127.0.0.1", "-data-dir", str(self.root / name), "-server-port", str(me["server"]),
             "-serf-lan-port", str(me["lan"]), "-serf-wan-port", str(me["wan"]), "-http-port", str(me["http"]),
             "-dns-port", str(me["dns"]), *joins],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        log.close()
        deadline = time.monotonic() + 30
        while True:  # up once its HTTP API answers
            try:
                with socket.create_connection(self.http(name), timeout=1):
                    return
            except OSError:
                if self.procs[name].poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not start; see {self.root / (name + '.log')}") from None
                time.sleep(0.05)

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    async def leader(self, among: tuple[str, ...] = NAMES, timeout: float = 20.0) -> str:
        """The server of ``among`` that every server of ``among`` names as leader (polled every 10 ms,
        bounded): after a kill, survivors keep naming the dead leader until they time out."""
        by_rpc = {f"127.0.0.1:{s['server']}": n for n, s in self.spec["servers"].items()}
        deadline = trio.current_time() + timeout
        conns = {n: HttpConn(self.http(n)) for n in among}
        try:
            while trio.current_time() < deadline:
                seen = set()
                for n, conn in conns.items():
                    try:
                        with trio.move_on_after(1):
                            reply = await conn.request("GET", "/v1/status/leader")
                            seen.add(by_rpc.get(reply.json(), None))
                            continue
                        seen.add(None)
                    except (ConnectFailed, ReplyLost):
                        seen.add(None)
                if len(seen) == 1 and None not in seen and next(iter(seen)) in among:
                    return seen.pop()  # type: ignore[return-value]
                await trio.sleep(0.01)
        finally:
            for conn in conns.values():
                await conn.aclose()
        raise SystemExit(f"no leader agreed on by {among} within {timeout} s")


# =====================================================================================================
# etcd, for comparison
# =====================================================================================================


class Etcd:
    def __init__(self, root: Path) -> None:
        self.root = root
        ports = free_ports(6)
        self.clients = [("127.0.0.1", ports[i * 2]) for i in range(3)]
        self.peers = [ports[i * 2 + 1] for i in range(3)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        cluster = ",".join(f"e{i + 1}=http://127.0.0.1:{p}" for i, p in enumerate(self.peers))
        for i in range(3):
            log = open(self.root / f"etcd{i + 1}.log", "wb")
            self.procs.append(subprocess.Popen(
                ["etcd", "--name", f"e{i + 1}", "--data-dir", str(self.root / f"etcd{i + 1}"),
                 "--listen-client-urls", f"http://127.0.0.1:{self.clients[i][1]}",
                 "--advertise-client-urls", f"http://127.0.0.1:{self.clients[i][1]}",
                 "--listen-peer-urls", f"http://127.0.0.1:{self.peers[i]}",
                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peers[i]}",
                 "--initial-cluster", cluster, "--initial-cluster-state", "new",
                 "--initial-cluster-token", f"bench-{os.getpid()}"],
                stdout=log, stderr=subprocess.STDOUT))
            log.close()

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = trio.current_time() + timeout
        while trio.current_time() < deadline:
            conn = HttpConn(self.clients[0])
            try:
                reply = await conn.request("POST", "/v3/kv/put", json.dumps(
                    {"key": base64.b64encode(b"ready").decode(), "value": ""}).encode())
                if reply.status == 200:
                    return
            except (ConnectFailed, ReplyLost):
                pass
            finally:
                await conn.aclose()
            await trio.sleep(0.1)
        raise SystemExit("etcd did not become ready")

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []


# =====================================================================================================
# the load generator
# =====================================================================================================


class Request:
    """How to make one operation: method and target from a key, and the body."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def build(self, key: str) -> tuple[str, str, bytes]:
        kind = self.kind
        if kind == "put":
            return "PUT", f"/v1/kv/bench/{key}", VALUE
        if kind == "get":
            return "GET", f"/v1/kv/bench/{key}", b""
        if kind == "get-stale":
            return "GET", f"/v1/kv/bench/{key}?stale", b""
        body: dict[str, Any] = {"key": base64.b64encode(f"bench/{key}".encode()).decode()}
        if kind == "etcd-put":
            body["value"] = base64.b64encode(VALUE).decode()
            return "POST", "/v3/kv/put", json.dumps(body).encode()
        if kind == "etcd-get-serializable":
            body["serializable"] = True
        return "POST", "/v3/kv/range", json.dumps(body).encode()


async def load(targets: list[tuple[str, int]], kind: str, clients: int, duration: float) -> dict[str, Any]:
    """``clients`` closed-loop clients (client i on targets[i % len]) for ``duration`` seconds."""
    req = Request(kind)
    latencies: list[float] = []
    errors = 0
    stop_at = trio.current_time() + duration

    async def client(i: int) -> None:
        nonlocal errors
        rng = random.Random(i)
        conn = HttpConn(targets[i % len(targets)])
        try:
            while trio.current_time() < stop_at:
                method, target, body = req.build(str(rng.randrange(KEYS)))
                started = time.perf_counter()
                try:
                    reply = await conn.request(method, target, body)
                except (ConnectFailed, ReplyLost):
                    errors += 1
                    continue
                if reply.status != 200:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
        finally:
            await conn.aclose()

    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        for i in range(clients):
            nursery.start_soon(client, i)
    elapsed = trio.current_time() - started
    return {"kind": kind, "clients": clients, "ops_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "errors": errors, "n": len(latencies)}


def line(label: str, r: dict[str, Any]) -> str:
    return (f"{label:<28} {r['clients']:>3} clients  {r['ops_s']:8.0f} ops/s  p50 {r['p50_ms']:7.2f} ms  "
            f"p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}")


async def populate(target: tuple[str, int], kind: str) -> None:
    """Write every key once (so reads find them), with 16 clients."""
    req = Request(kind)
    keys = iter(range(KEYS))

    async def worker() -> None:
        conn = HttpConn(target)
        try:
            for k in keys:
                method, path, body = req.build(str(k))
                reply = await conn.request(method, path, body)
                assert reply.status == 200, reply
        finally:
            await conn.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(16):
            nursery.start_soon(worker)


async def failover(cluster: Cluster, trials: int) -> list[tuple[float, float]]:
    """(kill -> new leader, kill -> first acknowledged write) per trial, in seconds."""
    results = []
    for trial in range(trials):
        leader = await cluster.leader()
        survivor = next(n for n in NAMES if n != leader)
        others = tuple(n for n in NAMES if n != leader)
        conn = HttpConn(cluster.http(survivor))
        assert (await conn.request("PUT", "/v1/kv/failover/warm", b"x")).status == 200
        killed_at = trio.current_time()
        cluster.kill(leader)
        elected: list[float] = []

        async def watch_leader() -> None:
            await cluster.leader(others)
            elected.append(trio.current_time() - killed_at)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_leader)
            attempts = 0
            while True:
                attempts += 1
                with trio.move_on_after(10):
                    try:
                        reply = await conn.request("PUT", f"/v1/kv/failover/{trial}", str(attempts).encode())
                        if reply.status == 200:
                            break
                    except (ConnectFailed, ReplyLost):
                        pass
                if trio.current_time() - killed_at > 30:
                    raise SystemExit("no write succeeded within 30 s of the leader's death")
        written = trio.current_time() - killed_at
        await conn.aclose()
        results.append((elected[0] if elected else float("nan"), written))
        print(f"  trial {trial + 1}: killed {leader}; new leader after {results[-1][0] * 1000:6.0f} ms, "
              f"first write through {survivor} acknowledged after {written * 1000:6.0f} ms ({attempts} attempt(s))",
              flush=True)
        cluster.start(leader)
        back = HttpConn(cluster.http(leader))
        deadline = trio.current_time() + 30
        while True:  # the restarted server has caught up once it serves the last write locally
            try:
                reply = await back.request("GET", f"/v1/kv/failover/{trial}?stale")
                if reply.status == 200:
                    break
            except (ConnectFailed, ReplyLost):
                pass
            if trio.current_time() > deadline:
                raise SystemExit(f"{leader} did not catch up after restart")
            await trio.sleep(0.05)
        await back.aclose()
    return results


async def bench(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="proconsul-bench-kv-"))
    cluster = Cluster(root, args.mode)
    etcd: Etcd | None = None
    print(f"# proconsul bench_kv: 3 server processes ({args.mode}), data under {root}; {os.cpu_count()} CPUs; "
          f"{args.duration:g} s per point; Python {sys.version.split()[0]}", flush=True)
    summary: dict[str, Any] = {"points": []}
    try:
        for name in NAMES:
            cluster.start(name)
        leader = await cluster.leader()
        targets = [cluster.http(n) for n in NAMES]
        await populate(cluster.http(leader), "put")
        plan = [("PUT leader", [cluster.http(leader)], "put"), ("PUT any server", targets, "put"),
                ("GET default, any server", targets, "get"), ("GET ?stale, any server", targets, "get-stale")]
        for label, where, kind in plan:
            for clients in args.clients:
                result = await load(where, kind, clients, args.duration)
                summary["points"].append({"label": label, **result})
                print(line(label, result), flush=True)
        print(f"# leader failover, {args.trials} trials (SIGKILL of the leader's process)", flush=True)
        trials = await failover(cluster, args.trials)
        elections = [t[0] for t in trials]
        writes = [t[1] for t in trials]
        print(f"  new leader: median {sorted(elections)[len(elections) // 2] * 1000:.0f} ms, "
              f"max {max(elections) * 1000:.0f} ms; first write: median {sorted(writes)[len(writes) // 2] * 1000:.0f} ms, "
              f"max {max(writes) * 1000:.0f} ms", flush=True)
        summary["failover"] = trials
        cluster.stop()

        if args.etcd:
            if shutil.which("etcd") is None:
                print("# etcd not installed (apt-get install etcd-server): skipped", flush=True)
            else:
                etcd = Etcd(root)
                etcd.start()
                await etcd.wait_ready()
                await populate(etcd.clients[0], "etcd-put")
                print("# etcd 3 members on loopback, same client, JSON gateway", flush=True)
                for label, kind in (("etcd PUT any member", "etcd-put"), ("etcd GET linearizable", "etcd-get"),
                                    ("etcd GET serializable", "etcd-get-serializable")):
                    for clients in args.clients:
                        result = await load(etcd.clients, kind, clients, args.duration)
                        summary["points"].append({"label": label, **result})
                        print(line(label, result), flush=True)
                ours = {(p["label"], p["clients"]): p["ops_s"] for p in summary["points"]}
                for clients in args.clients:
                    a, b = ours.get(("PUT any server", clients)), ours.get(("etcd PUT any member", clients))
                    if a and b:
                        print(f"  PUT ratio proconsul/etcd at {clients} clients: {a / b:.2f}", flush=True)
    finally:
        cluster.stop()
        if etcd is not None:
            etcd.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per point")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--etcd", action="store_true", help="also measure a 3-member etcd")
    parser.add_argument("--mode", choices=("agents", "static"), default="agents",
                        help="agents: real `proconsul agent` processes joined by -retry-join (gossip); "
                             "static: serve_agent per process, founders named by the raft.servers extra")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs directory")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON too")
    args = parser.parse_args()
    if args.serve:
        serve_one(args.serve, args.spec)
        return
    trio.run(bench, args)


if __name__ == "__main__":
    main()
