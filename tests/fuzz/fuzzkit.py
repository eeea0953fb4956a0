"""Shared pieces of the fuzz tests: example budgets, an agent running in a thread, a raw HTTP client.

Budgets. Every fuzz target runs ``examples(weight)`` Hypothesis examples: ``PROCONSUL_FUZZ_EXAMPLES``
(default `DEFAULT_EXAMPLES`) times the target's weight (cheap pure decoders get more, targets that cross
a socket fewer). Runs are derandomized and use no example database, so CI is deterministic; set
``PROCONSUL_FUZZ_RANDOM=1`` for fresh random examples on long runs (``tests/fuzz/long_run.sh``).

`AgentThread` runs a full ``-dev`` agent (HTTP, optionally DNS, on ephemeral loopback ports) in its own
thread and Trio loop, so synchronous Hypothesis tests can hit it over real sockets for hundreds of
examples without paying an agent start per example. `call_in_agent` runs a coroutine inside the agent's
loop (to feed a decoder directly, or read counters). `raw_exchange` sends raw bytes and parses every
response that comes back, by hand, so malformed input and malformed output are both visible.

What must never live here: assertions about a particular decoder; those are the tests'.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from typing import Any, Awaitable, Callable

import msgspec
import trio
from hypothesis import HealthCheck, settings

from actors.agent import serve_agent
from actors.api.self_register import register_self
from actors.context import AgentContext
from actors.flags import parse_agent_flags

DEFAULT_EXAMPLES = 200
IO_TIMEOUT = 10.0  # seconds for any one socket operation in a test; a hang fails instead of blocking


def examples(weight: float = 1.0) -> int:
    base = int(os.environ.get("PROCONSUL_FUZZ_EXAMPLES", str(DEFAULT_EXAMPLES)))
    return max(1, int(base * weight))


def fuzz_settings(weight: float = 1.0, **extra: Any) -> settings:
    """Hypothesis settings for one fuzz target: bounded, deterministic unless asked otherwise."""
    randomized = os.environ.get("PROCONSUL_FUZZ_RANDOM") == "1"
    return settings(
        max_examples=examples(weight),
        deadline=None,
        derandomize=not randomized,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        **extra,
    )


class CrashWatch(logging.Handler):
    """Collects the log records that mean "something crashed": a handler turned into a 500 by the
    router, a connection task that failed, an actor the supervisor had to restart."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if (record.levelno >= logging.ERROR and record.exc_info) or message == "actor failed":
            self.records.append(record)

    def take(self) -> list[str]:
        out = [f"{r.name}: {r.getMessage()} {getattr(r, 'fields', '')} {r.exc_info[1]!r}" if r.exc_info
               else f"{r.name}: {r.getMessage()} {getattr(r, 'fields', '')}" for r in self.records]
        self.records.clear()
        return out


# -- an agent in a thread ----------------------------------------------------------------------------


def dev_config(*flags: str, dns: bool = False) -> Any:
    cfg = parse_agent_flags(["-dev", "-node", "fuzz1", *flags], hostname="fuzzhost")
    ports = msgspec.structs.replace(cfg.ports, http=0, dns=0 if dns else -1, server=0, serf_lan=0, serf_wan=0)
    return msgspec.structs.replace(cfg, ports=ports)


class AgentThread:
    """A ``-dev`` agent serving on loopback from a background thread until `stop`."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.ctx: AgentContext | None = None
        self.token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._cancel: trio.CancelScope | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="fuzz-agent", daemon=True)
        self.crashes = CrashWatch()
        self.baseline_restarts = 0

    def start(self) -> "AgentThread":
        logging.getLogger("proconsul").addHandler(self.crashes)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("agent did not start within 30 s")
        if self._error is not None:
            raise RuntimeError("agent failed to start") from self._error
        self.baseline_restarts = self.restarts()
        self.crashes.take()
        return self

    def _main(self) -> None:
        async def run() -> None:
            self.token = trio.lowlevel.current_trio_token()
            with trio.CancelScope() as scope:
                self._cancel = scope
                async with trio.open_nursery() as nursery:
                    ctx = await nursery.start(lambda task_status: serve_agent(self.cfg, task_status=task_status))
                    await _until_serving(ctx)
                    self.ctx = ctx
                    self._ready.set()

        try:
            trio.run(run)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._error = exc
        finally:
            self._ready.set()

    def stop(self) -> None:
        if self.token is not None and self._cancel is not None and self._thread.is_alive():
            try:
                trio.from_thread.run_sync(self._cancel.cancel, trio_token=self.token)
            except trio.RunFinishedError:
                pass
        self._thread.join(30)
        logging.getLogger("proconsul").removeHandler(self.crashes)

    @property
    def http_addr(self) -> tuple[str, int]:
        assert self.ctx is not None and self.ctx.http_addr is not None
        return self.ctx.http_addr

    @property
    def dns_addr(self) -> tuple[str, int]:
        assert self.ctx is not None
        return self.ctx.extras["dns_addr"]

    def call_in_agent(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Run ``await fn(*args)`` in the agent's Trio loop (bounded) and return its result."""

        async def bounded() -> Any:
            with trio.fail_after(IO_TIMEOUT):
                return await fn(*args)

        return trio.from_thread.run(bounded, trio_token=self.token)

    def run_sync_in_agent(self, fn: Callable[..., Any], *args: Any) -> Any:
        return trio.from_thread.run_sync(fn, *args, trio_token=self.token)

    def restarts(self) -> int:
        """Restarts summed over the whole actor tree (read in the agent's loop)."""
        assert self.ctx is not None
        snapshot = self.run_sync_in_agent(self.ctx.tree.snapshot)
        total, stack = 0, [snapshot]
        while stack:
            node = stack.pop()
            total += node.restarts
            stack.extend(node.children)
        return total

    def request(self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None,
                source: str = "127.0.0.1") -> "RawReply":
        head = f"{method} {target} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        replies = raw_exchange(self.http_addr, head.encode("utf-8", "surrogateescape") + b"\r\n" + body,
                               source=source)
        assert len(replies) == 1, replies
        return replies[0]

    def json(self, method: str, target: str, body: bytes = b"") -> Any:
        reply = self.request(method, target, body)
        assert reply.status == 200, reply
        return json.loads(reply.body) if reply.body else None

    def assert_no_crash(self) -> None:
        """Nothing crashed since the last check, and no actor was ever restarted."""
        crashes = self.crashes.take()
        assert not crashes, crashes
        assert self.restarts() == self.baseline_restarts

    def assert_healthy(self) -> None:
        """The agent still answers a normal request, and nothing crashed."""
        reply = self.request("GET", "/v1/status/leader")
        assert reply.status == 200 and reply.body.startswith(b'"'), reply
        self.assert_no_crash()


async def _until_serving(ctx: AgentContext) -> None:
    """HTTP bound and the agent's own catalog entry committed (so a leader exists for writes)."""
    with trio.fail_after(30):
        while ctx.http_addr is None or ctx.backend is None:
            await trio.sleep(0.01)  # polling a start-up flag, bounded; no ordering depends on it
        await register_self(ctx)


# -- a raw HTTP/1.1 exchange ---------------------------------------------------------------------------


class RawReply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"RawReply({self.status}, {self.headers}, {self.body[:200]!r})"


class MalformedResponse(AssertionError):
    pass


def raw_exchange(addr: tuple[str, int], data: bytes, *, source: str = "127.0.0.1",
                 timeout: float = IO_TIMEOUT) -> list[RawReply]:
    """Send ``data``, half-close, read to EOF, and parse every response. Raises on malformed output."""
    with socket.create_connection(addr, timeout=timeout, source_address=(source, 0)) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse and close before reading it all; its answer is still there
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return parse_responses(b"".join(chunks), first_is_head=data.startswith(b"HEAD "))


def parse_responses(buf: bytes, *, first_is_head: bool = False) -> list[RawReply]:
    """Every response in ``buf``; the first carries no body when it answers a HEAD request."""
    out: list[RawReply] = []
    while buf:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            raise MalformedResponse(f"incomplete response head: {buf[:200]!r}")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[0] != "HTTP/1.1" or not parts[1].isdigit():
            raise MalformedResponse(f"bad status line {lines[0]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise MalformedResponse(f"bad header line {line!r}")
            headers[name.lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if first_is_head and not out and (not rest or rest.startswith(b"HTTP/1.1 ")):
            length = 0  # a HEAD answer; a canned error for a HEAD the parser refused does carry its body
        if len(rest) < length:
            raise MalformedResponse(f"body shorter than Content-Length {length}: {rest[:200]!r}")
        status = int(parts[1])
        if status != 100:
            out.append(RawReply(status, headers, rest[:length]))
        buf = rest[length:]
    return out
