"""Shared helpers for the cluster tests and benchmarks: clusters in one process, agents as processes,
and a small keep-alive HTTP client on Trio.

What lives here:

* `Server` / `make_cluster`: N Raft servers in the current Trio run, each a full agent tree started
  with ``serve_agent`` over real loopback sockets, founding servers named through the static
  ``raft.servers`` extra. Every server gets *fixed* HTTP and RPC ports, so a crashed server restarted
  from its data dir answers at the same address, as a real one would. ``crash()`` cancels the
  agent's whole tree; ``start()`` again restarts it.
* `AgentProcess`: a real ``proconsul agent`` process (``-dev`` by default) on free ports, with an
  optional JSON config file; stopped by its own PID only.
* `HttpConn`: one keep-alive HTTP/1.1 connection (httptools parses the replies). It tells apart a
  request that was never sent (`ConnectFailed`: the outcome is known, nothing happened) from one
  whose reply was lost (`ReplyLost`: the outcome is unknown), which the linearizability workload
  needs to classify operations.
* `wait_for`, `leader_of`, `percentile`: deadline-bounded polling and small statistics.

What must never live here: assertions about behaviour (tests own those) or sleeps used as
synchronisation (every wait here polls a condition under a deadline).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import httptools
import msgspec
import trio

from actors.agent import serve_agent
from actors.context import AgentContext
from actors.flags import parse_agent_flags
from tests.support.ports import free_ports

PROCONSUL = [sys.executable, "-m", "actors.cli"]
REPO = Path(__file__).resolve().parents[2]


# -- waiting and statistics -------------------------------------------------------------------------


async def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition",
                   interval: float = 0.02) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds saying ``what`` never happened."""
    deadline = trio.current_time() + timeout
    while not condition():
        if trio.current_time() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        await trio.sleep(interval)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


# -- in-process servers -----------------------------------------------------------------------------


class Server:
    """One server agent of an in-process cluster (see the module docstring)."""

    def __init__(self, name: str, cfg: Any, servers: dict[str, tuple[str, int]]) -> None:
        self.name = name
        self.cfg = cfg
        self.servers = servers
        self.ctx: AgentContext | None = None
        self.scope: trio.CancelScope | None = None
        self.starts = 0

    @property
    def http(self) -> tuple[str, int]:
        """The fixed HTTP address (valid whether or not the server is running)."""
        return ("127.0.0.1", self.cfg.ports.http)

    @property
    def running(self) -> bool:
        return self.ctx is not None

    async def start(self, nursery: trio.Nursery) -> None:
        ready = trio.Event()

        async def run() -> None:
            with trio.CancelScope() as scope:
                self.scope = scope

                async def boot(task_status: trio.TaskStatus[AgentContext] = trio.TASK_STATUS_IGNORED) -> None:
                    await serve_agent(self.cfg, extras={"raft.servers": self.servers}, task_status=task_status)

                async with trio.open_nursery() as inner:
                    self.ctx = await inner.start(boot)
                    ready.set()

        nursery.start_soon(run)
        await ready.wait()
        self.starts += 1

    def crash(self) -> None:
        """Cancel the whole agent tree at once: nothing unacknowledged survives, fsynced data does."""
        assert self.scope is not None
        self.scope.cancel()
        self.ctx = None

    @property
    def raft(self) -> Any:
        assert self.ctx is not None
        return self.ctx.extras["raft"]


def make_cluster(data_dir: Path, count: int = 3, *, hold_timeout: float | None = None,
                 extra_flags: tuple[str, ...] = ()) -> list[Server]:
    """``count`` servers (``s1``..) with fixed ports and data dirs under ``data_dir``; not started.

    ``hold_timeout`` replaces ``performance.rpc_hold_timeout`` (Consul's 7 s) on the parsed config.
    """
    ports = free_ports(count * 4)
    names = [f"s{i + 1}" for i in range(count)]
    servers = {name: ("127.0.0.1", ports[i * 4]) for i, name in enumerate(names)}
    out = []
    for i, name in enumerate(names):
        server_port, lan, wan, http = ports[i * 4: i * 4 + 4]
        cfg = parse_agent_flags(
            ["-server", "-bootstrap-expect", str(count), "-node", name, "-bind", "127.0.0.1",
             "-data-dir", str(data_dir / name), "-server-port", str(server_port),
             "-serf-lan-port", str(lan), "-serf-wan-port", str(wan), "-seed", str(i + 1), *extra_flags],
            hostname="h")
        cfg = msgspec.structs.replace(cfg, ports=msgspec.structs.replace(cfg.ports, http=http, dns=-1))
        if hold_timeout is not None:
            cfg = msgspec.structs.replace(
                cfg, performance=msgspec.structs.replace(cfg.performance, rpc_hold_timeout=hold_timeout))
        out.append(Server(name, cfg, servers))
    return out


def leader_of(servers: list[Server]) -> Server | None:
    """The leader every running server agrees on, or None."""
    live = [s for s in servers if s.running]
    leaders = {s.raft.leader for s in live}
    if len(leaders) == 1 and None not in leaders:
        name = leaders.pop()
        return next((s for s in live if s.name == name), None)
    return None


async def wait_leader(servers: list[Server], timeout: float = 15.0) -> Server:
    await wait_for(lambda: leader_of(servers) is not None, timeout, "an agreed leader")
    leader = leader_of(servers)
    assert leader is not None
    return leader


# -- agents as processes ----------------------------------------------------------------------------


class AgentProcess:
    """A real ``proconsul agent`` process on free loopback ports (``-dev`` unless ``args`` say otherwise)."""

    def __init__(self, node: str = "dev1", *, config: dict[str, Any] | None = None, args: tuple[str, ...] = ("-dev",),
                 env: dict[str, str] | None = None) -> None:
        self.node = node
        self.http_port, self.dns_port, self.server_port, self.lan_port, self.wan_port = free_ports(5)
        self.config = config
        self.args = args
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self._config_path: str | None = None
        self.log_path = os.path.join(tempfile.gettempdir(), f"proconsul-{node}-{os.getpid()}-{self.http_port}.log")

    @property
    def http_addr(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 30.0) -> "AgentProcess":
        argv = [*PROCONSUL, "agent", *self.args, "-node", self.node, "-http-port", str(self.http_port),
                "-dns-port", str(self.dns_port), "-server-port", str(self.server_port),
                "-serf-lan-port", str(self.lan_port), "-serf-wan-port", str(self.wan_port)]
        if self.config is not None:
            fd, self._config_path = tempfile.mkstemp(suffix=".json", prefix="proconsul-cfg-")
            with os.fdopen(fd, "w") as fh:
                json.dump(self.config, fh)
            argv += ["-config-file", self._config_path]
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, **(self.env or {})})
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://{self.http_addr}/v1/status/leader", timeout=2) as resp:
                    if json.loads(resp.read()):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"agent on {self.http_addr} did not elect itself in {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                return b"\n".join(fh.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for path in (self._config_path, self.log_path):
            if path and os.path.exists(path):
                os.unlink(path)
        self._config_path = None


# -- keep-alive HTTP client -------------------------------------------------------------------------


class ConnectFailed(Exception):
    """The connection could not be opened: the request was never sent."""


class ReplyLost(Exception):
    """The request may have been sent but no complete reply came back: its outcome is unknown."""


class Reply:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:120]!r})"


class _Collector:
    __slots__ = ("headers", "chunks", "done", "keep_alive", "parser")

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.done = False
        self.keep_alive = False
        self.parser: Any = None

    def on_headers_complete(self) -> None:
        # Only meaningful while the message is being parsed (httptools resets it afterwards).
        self.keep_alive = self.parser.should_keep_alive()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class HttpConn:
    """One keep-alive connection to ``addr``, reopened on demand; one request at a time.

    ``source`` binds the client side to a given loopback address (127.0.0.x), which is how a single
    client process can stay under a per-client-IP connection limit.
    """

    def __init__(self, addr: tuple[str, int], *, source: str | None = None) -> None:
        self.addr = addr
        self.source = source
        self.stream: trio.SocketStream | None = None
        self._head = f"Host: {addr[0]}:{addr[1]}\r\n"

    async def connect(self) -> None:
        if self.stream is not None:
            return
        try:
            if self.source is None:
                self.stream = await trio.open_tcp_stream(*self.addr)
            else:
                sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
                try:
                    await sock.bind((self.source, 0))
                    await sock.connect(self.addr)
                except BaseException:
                    sock.close()
                    raise
                self.stream = trio.SocketStream(sock)
        except OSError as exc:
            raise ConnectFailed(str(exc)) from None

    async def request(self, method: str, target: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> Reply:
        """Send one request and read its reply. `ConnectFailed`: never sent; `ReplyLost`: unknown outcome.

        Cancellation (a caller's timeout) leaves the connection closed, the outcome unknown.
        """
        await self.connect()
        stream = self.stream
        assert stream is not None
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        data = f"{method} {target} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n{extra}\r\n".encode() + body
        collector = _Collector()
        parser = collector.parser = httptools.HttpResponseParser(collector)
        ok = False
        try:
            await stream.send_all(data)
            while not collector.done:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    raise ReplyLost("connection closed before the reply")
                parser.feed_data(chunk)
            ok = True
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError, httptools.HttpParserError) as exc:
            raise ReplyLost(str(exc) or type(exc).__name__) from None
        finally:
            if not ok:
                await self.aclose()
        reply = Reply(parser.get_status_code(), collector.headers, b"".join(collector.chunks))
        if not collector.keep_alive:
            await self.aclose()
        return reply

    async def aclose(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)
