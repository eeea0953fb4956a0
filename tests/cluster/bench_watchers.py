"""Benchmark: one ``-dev`` agent holding 10,000 concurrent blocking queries (not collected by pytest).

Run from the repository root::

    .venv/bin/python tests/cluster/bench_watchers.py                  # 10,000 watchers, both scenarios
    .venv/bin/python tests/cluster/bench_watchers.py --tracemalloc    # same, Python heap traced
    .venv/bin/python tests/cluster/bench_watchers.py --watchers 2000 --limit-mode config

Two processes. The *server* is this script with ``--serve``: a ``-dev`` agent (``serve_agent``, in-memory
Raft, pretty JSON as in ``-dev``) plus a control channel on stdin/stdout that reports its RSS, its
parked-waiter count, its open HTTP connections and (``--tracemalloc``) its traced Python heap. The
*client* is this script without ``--serve``: plain non-blocking sockets on one ``epoll`` (so the client's
own overhead stays small) and httptools for the replies; the writer's connection is on the same epoll,
so replies that arrive before the write's own acknowledgement are timestamped when they arrive.

Connection limits. Consul's ``limits.http_max_conns_per_client`` (200 per client IP) applies. By
default (``--limit-mode ips``) the watchers come from 50 loopback source addresses, 127.0.0.2 ..
127.0.0.51, 200 each, and the writer from 127.0.0.1, so the per-client limit stays Consul's. With
``--limit-mode config`` they all come from 127.0.0.1 and the server raises
``limits.http_max_conns_per_client`` in its config instead. Either way the server must also lift the
HTTP server's overall cap (``HttpLimits.max_connections``, 4096, which has no config key) and apply the
configured per-client limit itself, because the agent does not pass ``limits`` to its HTTP listener yet:
the server script does both on the running listener and says so in its banner.

Scenarios:

* **one key**: every watcher blocks on ``bench/hot``; three unrelated writes (``bench/cold``,
  ``bench/hot2``, ``bench/hot/x``) must wake nobody (the server's waiter count stays N and no socket
  turns readable); then a write to ``bench/hot`` must wake all N. Repeated ``--rounds`` times.
* **many keys**: watcher i blocks on ``bench/k/<i>``; ``--writes`` writes to random keys each wake
  exactly their own watcher (checked with the server's waiter count and the readable sockets).

Reported: RSS per connection and per parked watcher (RSS delta / N), traced heap per watcher with
``--tracemalloc``, and the wake latency distribution measured from the moment the write was sent (and
from its acknowledgement) to the moment the client has the whole reply. Read the "from send" figure:
the server answers the write after most of the watchers it woke (they are scheduled in the same
batch), so "from ack" goes negative. For each one-key wake burst the server's CPU time and its
collector's work (gen0/1/2 runs and time; a full collection costs ~0.4 s with 10,000 connections)
and the client's CPU time are reported too; ``--profile-wakes PATH`` profiles just those bursts.
The server mirrors ``run_agent``: ``gc.collect(); gc.freeze()`` once it is up.

What must never live here: assertions a test suite relies on (the correctness checks at 2,000 watchers
are ``tests/api/test_api_watchers.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httptools

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PER_IP = 200  # Consul's default limits.http_max_conns_per_client


# =====================================================================================================
# server side
# =====================================================================================================


def rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class GcWatch:
    """Python's cyclic collector as seen from `gc.callbacks`: per generation, how many collections ran,
    their total time and the longest one (seconds)."""

    def __init__(self) -> None:
        import gc

        self.count = {0: 0, 1: 0, 2: 0}
        self.total = {0: 0.0, 1: 0.0, 2: 0.0}
        self.longest = {0: 0.0, 1: 0.0, 2: 0.0}
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            gen = info["generation"]
            took = time.perf_counter() - self._started
            self.count[gen] += 1
            self.total[gen] += took
            self.longest[gen] = max(self.longest[gen], took)


async def serve(args: argparse.Namespace) -> None:
    import gc
    import tracemalloc

    import msgspec
    import trio

    from actors.agent import serve_agent
    from actors.flags import parse_agent_flags
    from runtime.http import HttpLimits
    from tests.support.ports import free_ports

    if args.tracemalloc:
        tracemalloc.start()
    gc_watch = GcWatch()
    if args.profile_wakes:
        import cProfile

        profiler = cProfile.Profile()
    http, dns, server, lan, wan = free_ports(5)
    cfg = parse_agent_flags(["-dev", "-node", "bench", "-http-port", str(http), "-dns-port", str(dns),
                             "-server-port", str(server), "-serf-lan-port", str(lan), "-serf-wan-port", str(wan),
                             "-seed", "1"], hostname="bench")
    per_client = 0 if args.limit_mode == "config" else PER_IP  # 0: no per-client cap
    cfg = msgspec.structs.replace(cfg, limits=msgspec.structs.replace(cfg.limits, http_max_conns_per_client=per_client))
    async with trio.open_nursery() as nursery:
        ctx = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
        listener = ctx.tree.get(f"{ctx.root_path}/http").actor
        # The agent does not hand `limits` to its HTTP listener yet: apply the configured per-client
        # limit here, and lift the overall cap (4096, no config key) above the benchmark's needs.
        listener.server.limits = msgspec.structs.replace(
            listener.server.limits, max_connections=args.watchers + 1000,
            max_conns_per_client=cfg.limits.http_max_conns_per_client)
        raft = ctx.extras["raft"]
        # As `run_agent` does once the agent is up: boot-time objects leave the collector's generations.
        gc.collect()
        gc.freeze()
        if args.gc_threshold:
            gc.set_threshold(*args.gc_threshold)
        print(json.dumps({"ready": True, "port": ctx.http_addr[1], "pid": os.getpid(),
                          "limits": msgspec.structs.asdict(listener.server.limits)}), flush=True)
        stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
        buffer = b""
        while True:
            chunk = await stdin.receive_some(4096)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                command = line.strip().decode()
                if command == "quit":
                    nursery.cancel_scope.cancel()
                    return
                if command == "profile-on" and args.profile_wakes:
                    profiler.enable()
                elif command == "profile-off" and args.profile_wakes:
                    profiler.disable()
                    profiler.dump_stats(args.profile_wakes)
                cpu = os.times()
                stats = {"cpu_s": cpu.user + cpu.system, "rss_kb": rss_kb(), "waiters": len(raft.waiters), "applied": raft.applied_index,
                         "open_connections": listener.server.open_connections}
                if args.tracemalloc:
                    stats["traced_kb"] = tracemalloc.get_traced_memory()[0] // 1024
                stats["gc_max_pause_ms"] = {gen: round(p * 1000, 1) for gen, p in gc_watch.longest.items()}
                stats["gc_count"] = dict(gc_watch.count)
                stats["gc_total_ms"] = {gen: round(p * 1000, 1) for gen, p in gc_watch.total.items()}
                print(json.dumps(stats), flush=True)
        nursery.cancel_scope.cancel()


# =====================================================================================================
# client side
# =====================================================================================================


class Server:
    """The server process and its control channel."""

    def __init__(self, args: argparse.Namespace) -> None:
        argv = [sys.executable, __file__, "--serve", "--watchers", str(args.watchers), "--limit-mode", args.limit_mode]
        if args.tracemalloc:
            argv.append("--tracemalloc")
        if args.profile:
            argv += ["--profile", args.profile]
        if args.profile_wakes:
            argv += ["--profile-wakes", args.profile_wakes]
        if args.gc_threshold:
            argv += ["--gc-threshold", *map(str, args.gc_threshold)]
        self.log = open(os.path.join("/tmp", f"bench-watchers-{os.getpid()}.log"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=REPO)
        banner = self._line(60)
        if not banner.get("ready"):
            raise SystemExit(f"server did not start: {banner}")
        self.port = banner["port"]
        self.limits = banner["limits"]

    def _line(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise SystemExit("server did not answer on its control channel")
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"server exited ({self.proc.poll()}); see {self.log.name}")
        return json.loads(line)

    def stats(self, command: str = "stats") -> dict[str, Any]:
        """Send ``command`` (``stats``, ``profile-on``, ``profile-off``); every command answers with stats."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        return self._line(30)

    def wait_waiters(self, n: int, timeout: float = 60.0) -> dict[str, Any]:
        """Poll the server until exactly ``n`` blocking queries are parked (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if stats["waiters"] == n:
                return stats
            if time.monotonic() > deadline:
                raise SystemExit(f"expected {n} parked watchers, server has {stats['waiters']}")
            time.sleep(0.02)  # polling the server's count under a deadline

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


class Watcher:
    """One keep-alive connection carrying one request at a time (a blocking query, or the writer's PUT)."""

    __slots__ = ("sock", "key", "index", "parser", "status", "reply_index", "done", "done_at", "source", "body")

    def __init__(self, sock: socket.socket, key: str, source: str) -> None:
        self.sock = sock
        self.key = key
        self.source = source
        self.index = 0
        self.parser: Any = None
        self.status = 0
        self.reply_index = 0
        self.done = False
        self.done_at = 0.0
        self.body = b""

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"x-consul-index":
            self.reply_index = int(value)

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True

    def send(self, target: str, port: int, method: str = "GET", body: bytes = b"") -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.done = False
        self.status = 0
        self.body = b""
        length = f"Content-Length: {len(body)}\r\n" if method != "GET" else ""
        self.sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{length}\r\n".encode() + body)

    def block(self, port: int) -> None:
        self.send(f"/v1/kv/{self.key}?index={self.index}&wait=600s", port)


class Client:
    """Every watcher connection and the writer's, on one epoll: a reply is timestamped as soon as its
    last byte is read, also while a write is still waiting for its own acknowledgement."""

    def __init__(self, port: int, n: int, sources: list[str]) -> None:
        self.port = port
        self.epoll = select.epoll()
        self.by_fd: dict[int, Watcher] = {}
        self.watchers: list[Watcher] = []
        self.n = n
        self.sources = sources
        self.completed: list[Watcher] = []  # watchers whose reply completed, in order (callers clear it)
        sock = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=("127.0.0.1", 0))
        sock.setblocking(False)
        self.writer = Watcher(sock, "", "127.0.0.1")
        self.epoll.register(sock.fileno(), select.EPOLLIN)
        self.by_fd[sock.fileno()] = self.writer

    # -- connections ----------------------------------------------------------------------------------

    def connect_all(self, keys: list[str], batch: int = 256) -> float:
        started = time.perf_counter()
        pending: dict[int, Watcher] = {}
        i = 0
        while i < len(keys) or pending:
            while i < len(keys) and len(pending) < batch:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                source = self.sources[i]
                sock.bind((source, 0))
                err = sock.connect_ex(("127.0.0.1", self.port))
                if err not in (0, 115):  # EINPROGRESS
                    raise SystemExit(f"connect failed: {os.strerror(err)}")
                w = Watcher(sock, keys[i], source)
                pending[sock.fileno()] = w
                self.epoll.register(sock.fileno(), select.EPOLLOUT)
                i += 1
            for fd, _ in self.epoll.poll(5):
                w = pending.pop(fd)
                err = w.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise SystemExit(f"connect failed: {os.strerror(err)}")
                self.epoll.modify(fd, select.EPOLLIN)
                self.by_fd[fd] = w
                self.watchers.append(w)
        return time.perf_counter() - started

    def pump(self, timeout: float) -> list[Watcher]:
        """Read what is readable (waiting up to ``timeout``); return the watchers whose reply completed
        (also appended to ``completed``). The writer's reply only sets its ``done``/``done_at``."""
        finished = []
        now = time.perf_counter
        for fd, _ in self.epoll.poll(timeout):
            w = self.by_fd[fd]
            data = w.sock.recv(65536)
            at = now()  # the reply is here; parsing it is the client's time, not the server's
            if not data:
                raise SystemExit(f"server closed a connection ({w.source})")
            w.parser.feed_data(data)
            if w.done:
                w.done_at = at
                if w is not self.writer:
                    finished.append(w)
        self.completed += finished
        return finished

    def collect(self, watchers: list[Watcher], timeout: float = 120.0) -> None:
        waiting = {id(w) for w in watchers if not w.done}
        deadline = time.monotonic() + timeout
        while waiting:
            if time.monotonic() > deadline:
                raise SystemExit(f"{len(waiting)} replies missing")
            for w in self.pump(1.0):
                waiting.discard(id(w))
        for w in watchers:
            if w.status != 200:
                raise SystemExit(f"watcher from {w.source} got status {w.status}")

    def warm_up(self) -> None:
        """One ordinary GET on every connection (proves each is accepted and served)."""
        for w in self.watchers:
            w.send(f"/v1/kv/{w.key}", self.port)
        self.collect(self.watchers)
        for w in self.watchers:
            w.index = w.reply_index
        self.completed.clear()

    # -- writes ---------------------------------------------------------------------------------------

    def request(self, method: str, target: str, body: bytes) -> tuple[float, float]:
        """One request on the writer's connection, pumping every watcher meanwhile; returns (sent,
        acknowledged) perf_counter times."""
        writer = self.writer
        sent = time.perf_counter()
        writer.send(target, self.port, method, body)
        deadline = time.monotonic() + 60
        while not writer.done:
            if time.monotonic() > deadline:
                raise SystemExit(f"{method} {target}: no reply")
            self.pump(1.0)
        if writer.status != 200:
            raise SystemExit(f"{method} {target}: {writer.status} {writer.body[:200]!r}")
        return sent, writer.done_at

    def put(self, key: str, value: bytes) -> tuple[float, float]:
        return self.request("PUT", f"/v1/kv/{key}", value)

    def txn_create(self, keys: list[str]) -> None:
        import base64

        for start in range(0, len(keys), 64):
            ops = [{"KV": {"Verb": "set", "Key": k, "Value": base64.b64encode(b"v0").decode()}}
                   for k in keys[start:start + 64]]
            self.request("PUT", "/v1/txn", json.dumps(ops).encode())

    def close(self) -> None:
        for w in [*self.watchers, self.writer]:
            self.epoll.unregister(w.sock.fileno())
            w.sock.close()
        self.epoll.close()


def gc_delta(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The server's CPU time and collections (count, total time per generation) between two stats
    replies (the second one's own cost included)."""
    parts = [f"cpu {1000 * (after['cpu_s'] - before['cpu_s']):.0f} ms"]
    for gen in ("0", "1", "2"):
        n = after["gc_count"][gen] - before["gc_count"][gen]
        ms = after["gc_total_ms"][gen] - before["gc_total_ms"][gen]
        parts.append(f"gen{gen} {n}x {ms:.1f} ms")
    return ", ".join(parts)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def fmt(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return f"p50 {pct(ms, 50):7.2f} ms  p99 {pct(ms, 99):7.2f} ms  max {max(ms):7.2f} ms  (n={len(ms)})"


def sources_for(args: argparse.Namespace) -> list[str]:
    if args.limit_mode == "config":
        return ["127.0.0.1"] * args.watchers
    return [f"127.0.0.{2 + i // PER_IP}" for i in range(args.watchers)]


def scenario_one_key(args: argparse.Namespace) -> dict[str, Any]:
    server = Server(args)
    client = Client(server.port, args.watchers, sources_for(args))
    out: dict[str, Any] = {"scenario": "one key"}
    try:
        idle = server.stats()
        client.put("bench/hot", b"v0")
        took = client.connect_all(["bench/hot"] * args.watchers)
        client.warm_up()
        connected = server.stats()
        out["connect_s"] = round(took, 2)
        for w in client.watchers:
            w.block(server.port)
        parked = server.wait_waiters(args.watchers)
        out["rss_idle_mb"] = round(idle["rss_kb"] / 1024, 1)
        out["rss_per_connection_kb"] = round((connected["rss_kb"] - idle["rss_kb"]) / args.watchers, 2)
        out["rss_per_watcher_kb"] = round((parked["rss_kb"] - idle["rss_kb"]) / args.watchers, 2)
        out["rss_per_parked_query_kb"] = round((parked["rss_kb"] - connected["rss_kb"]) / args.watchers, 2)
        if "traced_kb" in parked:
            out["traced_per_watcher_kb"] = round((parked["traced_kb"] - idle["traced_kb"]) / args.watchers, 2)
            out["traced_per_parked_query_kb"] = round((parked["traced_kb"] - connected["traced_kb"]) / args.watchers, 2)
        out["open_connections"] = parked["open_connections"]
        sent_lat: list[float] = []
        ack_lat: list[float] = []
        fanout: list[float] = []
        burst_gc: list[str] = []
        client_cpu_ms: list[int] = []
        spurious = 0
        for round_ in range(args.rounds):
            client.completed.clear()
            for key in ("bench/cold", "bench/hot2", "bench/hot/x"):
                client.put(key, f"noise{round_}".encode())
            after_noise = server.stats()
            client.pump(0)  # anything readable right now?
            spurious += len(client.completed) + (args.watchers - after_noise["waiters"])
            if args.profile_wakes:
                server.stats("profile-on")
            client_cpu = os.times()
            sent, acked = client.put("bench/hot", f"v{round_ + 1}".encode())
            client.collect(client.watchers)
            client_cpu_ms.append(round(1000 * (sum(os.times()[:2]) - sum(client_cpu[:2]))))
            burst_gc.append(gc_delta(after_noise, server.stats("profile-off" if args.profile_wakes else "stats")))
            times = [w.done_at for w in client.watchers]
            sent_lat += [t - sent for t in times]
            ack_lat += [t - acked for t in times]
            fanout.append(max(times) - sent)
            for w in client.watchers:
                if w.reply_index <= w.index:
                    raise SystemExit("a watcher answered without a newer index")
                w.index = w.reply_index
                w.block(server.port)
            server.wait_waiters(args.watchers)
        out["spurious_wakeups"] = spurious
        out["wake_from_send"] = fmt(sent_lat)
        out["wake_from_ack"] = fmt(ack_lat)
        out["full_fanout_ms"] = [round(f * 1000, 1) for f in fanout]
        out["server_cpu_and_gc_during_each_fanout"] = burst_gc
        out["client_cpu_ms_during_each_fanout"] = client_cpu_ms
        out["server_gc_max_pause_ms"] = server.stats()["gc_max_pause_ms"]
    finally:
        client.close()
        server.stop()
    return out


def scenario_many_keys(args: argparse.Namespace) -> dict[str, Any]:
    server = Server(args)
    client = Client(server.port, args.watchers, sources_for(args))
    out: dict[str, Any] = {"scenario": "many keys"}
    rng = random.Random(7)
    try:
        keys = [f"bench/k/{i}" for i in range(args.watchers)]
        client.txn_create(keys)
        idle = server.stats()
        client.connect_all(keys)
        client.warm_up()
        for w in client.watchers:
            w.block(server.port)
        parked = server.wait_waiters(args.watchers)
        out["rss_per_watcher_kb"] = round((parked["rss_kb"] - idle["rss_kb"]) / args.watchers, 2)
        if "traced_kb" in parked:
            out["traced_per_watcher_kb"] = round((parked["traced_kb"] - idle["traced_kb"]) / args.watchers, 2)
        sent_lat: list[float] = []
        ack_lat: list[float] = []
        wrong = 0
        for step in range(args.writes):
            target = client.watchers[rng.randrange(args.watchers)]
            client.completed.clear()
            sent, acked = client.put(target.key, f"w{step}".encode())
            deadline = time.monotonic() + 30
            while not target.done:
                if time.monotonic() > deadline:
                    raise SystemExit(f"watcher of {target.key} did not wake")
                client.pump(1.0)
            wrong += sum(1 for w in client.completed if w is not target)
            stats = server.stats()
            wrong += (args.watchers - 1) - stats["waiters"]
            sent_lat.append(target.done_at - sent)
            ack_lat.append(target.done_at - acked)
            target.index = target.reply_index
            target.block(server.port)
            server.wait_waiters(args.watchers)
        out["woken_by_others_writes"] = wrong
        out["server_gc_max_pause_ms"] = server.stats()["gc_max_pause_ms"]
        out["wake_from_send"] = fmt(sent_lat)
        out["wake_from_ack"] = fmt(ack_lat)
    finally:
        client.close()
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--watchers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="one-key rounds")
    parser.add_argument("--writes", type=int, default=300, help="many-keys writes")
    parser.add_argument("--limit-mode", choices=("ips", "config"), default="ips")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--scenario", choices=("one", "many", "both"), default="both")
    parser.add_argument("--profile", metavar="PATH", help="run the server under cProfile, stats to PATH")
    parser.add_argument("--profile-wakes", metavar="PATH",
                        help="one key: profile the server (cProfile) only around each waking write, stats to PATH")
    parser.add_argument("--gc-threshold", type=int, nargs=3, metavar=("G0", "G1", "G2"),
                        help="server: gc.set_threshold(G0, G1, G2) after the boot-time freeze (experiments)")
    args = parser.parse_args()
    if args.serve:
        import trio

        if args.profile:
            import cProfile

            cProfile.runctx("trio.run(serve, args)", globals(), {"trio": trio, "serve": serve, "args": args},
                            args.profile)
        else:
            trio.run(serve, args)
        return
    if args.limit_mode == "ips" and args.watchers > PER_IP * 250:
        raise SystemExit("too many watchers for the 127.0.0.x source addresses")
    print(f"# {args.watchers} watchers, limit mode {args.limit_mode}, tracemalloc {args.tracemalloc}, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)
    if args.scenario in ("one", "both"):
        print(json.dumps(scenario_one_key(args), indent=2), flush=True)
    if args.scenario in ("many", "both"):
        print(json.dumps(scenario_many_keys(args), indent=2), flush=True)


if __name__ == "__main__":
    main()
