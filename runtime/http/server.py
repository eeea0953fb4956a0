"""The HTTP/1.1 server: accepts connections, runs one request loop per connection, counts.

What lives here: `HttpServer` (serve on listeners you opened, or hand it any `trio.abc.Stream`),
`serve_http` (bind with ``trio.open_tcp_listeners`` and serve), and the per-connection loop: keep-alive,
pipelining (all requests found in one read are answered in order, in one write), ``Expect:
100-continue``, timeouts, size and connection limits (a route's own body limit, `Router.body_limit`,
replaces the server's), websocket hand-off, and the rule that nothing escapes a connection task:
malformed input gets a plain-text 4xx and a close, crashes get a 500.

Hang-ups: a client that goes away while its request is being handled (typically a blocking query that
may run for minutes) must not keep its connection slot. Go cancels the request context when the
connection closes; here the server's watchdog, on each tick, watches every connection whose handler is
still running: a plain TCP socket is added to the server's `HangupPoller` (one epoll set, looked at
without reading), any other stream (TLS) gets a watcher task doing one receive. A reset or error cancels the handler
and ends the connection at once; EOF (the client closed, or only half-closed its sending side, which
TCP cannot tell apart) gives the handler ``HttpLimits.hangup_grace`` more seconds to answer, so a
client that half-closes after sending still gets quick answers; bytes (a pipelined next request) are
kept for the parser and watching stops, as in Go. The watcher is always finished before the connection
reads again (one reader at a time: Trio's SSLStream insists), and never runs for a request that asked
to switch protocols (the bytes after its head belong to the websocket). Handlers that answer within a
tick, nearly all of them, never get a watcher: the fast path pays a clock read and two attribute stores.

What must never live here: routing rules, response formatting details (``serialize``), request parsing
details (``parsing``), or anything Consul specific.
"""

from __future__ import annotations

import logging
import math
from functools import partial
from typing import Awaitable, Callable, Sequence

import httptools
import trio

from .limits import HttpLimits, HttpStatistics
from .parsing import LimitExceeded, RequestAssembler
from .request import Request
from .response import Response, text_response
from .hangups import HangupPoller
from .router import Router
from .serialize import CONTINUE_100, canned, encode_response
from .transport import RECEIVE_SIZE, SocketTransport, transport_for
from .watchdog import Deadline, Watchdog
from .websocket import handshake_problem, is_websocket_upgrade, run_websocket

log = logging.getLogger("proconsul.http")

_LINGER_SECONDS = 2.0  # an error reply: how long to send it and drain what the client still sends
_LINGER_BYTES = 8 * 1024 * 1024  # ... and how much of it at most


def _peer(stream: trio.abc.Stream) -> tuple[str, int]:
    sock = getattr(stream, "socket", None)
    if sock is None:  # TLS (HTTPS): the TCP stream is underneath
        sock = getattr(getattr(stream, "transport_stream", None), "socket", None)
    if sock is None:
        return ("", 0)
    try:
        addr = sock.getpeername()
    except OSError:
        return ("", 0)
    if isinstance(addr, tuple):
        return (addr[0], addr[1])
    return (str(addr), 0)


_DISCONNECTS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def _is_disconnect(exc: BaseException) -> bool:
    """The peer went away (possibly reported from inside a nursery, as an exception group)."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(_DISCONNECTS)[1] is None
    return isinstance(exc, _DISCONNECTS)


def _before_body(asm: RequestAssembler) -> str | None:
    """Refuse an announced Content-Length above the request's body limit (its route's or the server's)."""
    length = asm.pending_header(b"content-length")
    try:
        if length is not None and int(length) > asm.body_limit():
            return asm.too_large()
    except ValueError:
        pass
    return None


class _Conn:
    """One connection's state shared between its task, the server's watchdog and a hang-up watcher."""

    __slots__ = ("recv", "timer", "deadline", "busy_since", "watch", "watch_done", "carry", "peer_eof",
                 "hung_up", "sock", "polled")

    def __init__(self, recv: Callable[[], Awaitable[bytes]], timer: trio.CancelScope, deadline: Deadline) -> None:
        self.recv = recv
        self.timer = timer  # cancelling it ends the connection (handler included)
        self.deadline = deadline
        self.busy_since = math.inf  # when the running handler started; inf: none running (or not watchable)
        self.watch: trio.CancelScope | None = None  # the watcher's scope while one exists
        self.watch_done: trio.Event | None = None
        self.carry = b""  # bytes the watcher read: the parser gets them before the next receive
        self.peer_eof = False  # the watcher saw EOF: answer what is being handled, then close
        self.hung_up = False  # the watcher saw a reset: the handler was cancelled
        self.sock = None  # the raw socket of a plain TCP connection: watched by the server's poller
        self.polled = False  # registered in the poller now


class _Watchdog(Watchdog):
    """The server's watchdog: read timeouts, plus a hang-up watcher for each long-running handler."""

    def __init__(self, tick: float, server: "HttpServer") -> None:
        super().__init__(tick)
        self._server = server
        self._nursery: trio.Nursery | None = None

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._server._hangups.run)
            try:
                await super().run()
            finally:
                self._nursery = None

    def expire(self, now: float) -> int:
        expired = super().expire(now)
        if self._nursery is not None:
            self._server._watch_handlers(now, self._nursery)
        return expired


class HttpServer:
    """Serves one `Router` with one set of `HttpLimits`; keeps cheap counters (`statistics`)."""

    def __init__(self, router: Router, limits: HttpLimits = HttpLimits()) -> None:
        self.router = router
        self.limits = limits
        self.listeners: list[trio.abc.Listener[trio.abc.Stream]] = []
        self._per_client: dict[str, int] = {}
        self.open_connections = 0
        self.websockets_open = 0
        self.requests_served = 0
        self.client_errors = 0
        self.server_errors = 0
        self.connections_refused = 0
        self.hangups = 0
        self._conns: set[_Conn] = set()
        self._hangups = HangupPoller()
        tick = max(0.01, min(1.0, limits.header_timeout / 4, limits.idle_timeout / 4))
        self.watchdog: Watchdog = _Watchdog(tick, self)

    # -- public -----------------------------------------------------------------------------------

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every socket listener."""
        out = []
        for listener in self.listeners:
            sock = getattr(listener, "socket", None)
            if sock is not None:
                name = sock.getsockname()
                out.append((name[0], name[1]))
        return out

    @property
    def port(self) -> int:
        """Port of the first socket listener (handy after binding port 0)."""
        return self.addresses[0][1]

    def statistics(self) -> HttpStatistics:
        return HttpStatistics(
            open_connections=self.open_connections,
            websockets_open=self.websockets_open,
            requests_served=self.requests_served,
            client_errors=self.client_errors,
            server_errors=self.server_errors,
            connections_refused=self.connections_refused,
            hangups=self.hangups,
        )

    async def serve(
        self,
        listeners: Sequence[trio.abc.Listener[trio.abc.Stream]],
        *,
        task_status: trio.TaskStatus[HttpServer] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve already-open ``listeners`` until cancelled; ``task_status.started(self)``."""
        self.listeners = list(listeners)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.watchdog.run)
            await nursery.start(
                partial(trio.serve_listeners, self.handle_stream, self.listeners, handler_nursery=nursery)
            )
            task_status.started(self)

    async def handle_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one connection to completion, then close it. Never raises (except Cancelled).

        Read timeouts are enforced by ``self.watchdog``, which `serve` runs; if you feed streams in
        yourself, run ``self.watchdog.run`` in a nursery too.
        """
        client = ("", 0)
        try:
            client = _peer(stream)
            ip = client[0]
            limits = self.limits
            if limits.max_connections and self.open_connections >= limits.max_connections:
                self.connections_refused += 1
                await self._refuse(stream, 503, "Too many open connections")
                return
            count = self._per_client.get(ip, 0)
            if limits.max_conns_per_client and count >= limits.max_conns_per_client:
                self.connections_refused += 1
                await self._refuse(stream, 429, "Your IP is issuing too many concurrent connections")
                return
            self._per_client[ip] = count + 1
            self.open_connections += 1
            try:
                await self._connection(stream, client)
            finally:
                self.open_connections -= 1
                left = self._per_client[ip] - 1
                if left:
                    self._per_client[ip] = left
                else:
                    del self._per_client[ip]
        except Exception as exc:
            if not _is_disconnect(exc):
                log.exception("HTTP connection from %s failed", client)
        finally:
            await trio.aclose_forcefully(stream)

    # -- internals --------------------------------------------------------------------------------

    def _count(self, status: int) -> None:
        self.requests_served += 1
        if status >= 400:
            if status >= 500:
                self.server_errors += 1
            else:
                self.client_errors += 1

    def _encode(self, req: Request, resp: Response, keep_alive: bool) -> bytes:
        try:
            data = encode_response(resp, keep_alive, req.http_version == "1.0", req.method == "HEAD")
        except Exception as exc:
            log.exception("cannot encode response to %s %s", req.method, req.raw_path)
            self._count(500)
            return canned(500, str(exc))
        self._count(resp.status)
        return data

    async def _refuse(self, stream: trio.abc.Stream, status: int, message: str) -> None:
        """Send a closing plain-text error, then drain the client briefly so it can read it."""
        self._count(status)
        with trio.move_on_after(_LINGER_SECONDS):
            await stream.send_all(canned(status, message))
            send_eof = getattr(stream, "send_eof", None)
            if send_eof is not None:
                await send_eof()
            drained = 0
            while drained < _LINGER_BYTES:
                data = await stream.receive_some(RECEIVE_SIZE)
                if not data:
                    break
                drained += len(data)

    def _watch_handlers(self, now: float, nursery: trio.Nursery) -> None:
        """Start a hang-up watcher for each connection whose handler has been running since before now."""
        for conn in self._conns:
            if conn.busy_since < now and conn.watch is None and not conn.polled and not conn.carry \
                    and not conn.peer_eof:
                if conn.sock is not None:
                    conn.polled = self._hangups.watch(conn.sock, partial(self._hangup_seen, conn))
                    continue
                conn.watch = trio.CancelScope()
                conn.watch_done = trio.Event()
                nursery.start_soon(self._watch_hangup, conn)

    async def _watch_hangup(self, conn: _Conn) -> None:
        """One receive while the handler runs (see the module docstring)."""
        assert conn.watch is not None and conn.watch_done is not None
        done = conn.watch_done
        try:
            with conn.watch:
                try:
                    data = await conn.recv()
                except Exception:  # reset, or closed under us: the client is gone
                    conn.hung_up = True
                    conn.timer.cancel()
                    return
                if data:
                    conn.carry = data
                else:
                    conn.peer_eof = True
                    conn.deadline.at = min(conn.deadline.at, trio.current_time() + self.limits.hangup_grace)
        finally:
            done.set()

    def _hangup_seen(self, conn: _Conn, what: str) -> None:
        """The poller's report for a watched plain socket (it has already stopped watching it)."""
        conn.polled = False
        if what == "reset":
            conn.hung_up = True
            conn.timer.cancel()
        elif what == "eof":
            conn.peer_eof = True
            conn.deadline.at = min(conn.deadline.at, trio.current_time() + self.limits.hangup_grace)
        # "data": a pipelined request waits in the socket for the connection's next read

    def _unpoll(self, conn: _Conn) -> None:
        if conn.polled:
            conn.polled = False
            self._hangups.unwatch(conn.sock)  # type: ignore[arg-type]

    @staticmethod
    async def _unwatch(conn: _Conn) -> None:
        """Stop the connection's watcher and wait until it has left ``recv`` (one reader at a time)."""
        assert conn.watch is not None and conn.watch_done is not None
        conn.watch.cancel()
        with trio.CancelScope(shield=True):
            await conn.watch_done.wait()
        conn.watch = conn.watch_done = None

    async def _connection(self, stream: trio.abc.Stream, client: tuple[str, int]) -> None:
        limits = self.limits
        asm = RequestAssembler(client, limits, self.router.body_limit)
        # One cancel scope times every read of this connection: the watchdog cancels it when
        # deadline.at passes. deadline.at is moved before each read and parked at infinity while
        # requests are handled (blocking queries may take minutes), unless the client hangs up.
        timer = trio.CancelScope()
        deadline = self.watchdog.watch(timer, trio.current_time() + limits.header_timeout)
        io = transport_for(stream)
        conn = _Conn(io.recv, timer, deadline)
        if isinstance(io, SocketTransport):
            conn.sock = io.raw_socket
        self._conns.add(conn)
        try:
            with timer:
                await self._requests(stream, client, asm, conn)
        finally:
            self._unpoll(conn)  # before the socket closes: its descriptor number will be reused
            self._conns.discard(conn)
            self.watchdog.forget(deadline)
        if conn.hung_up or (conn.peer_eof and timer.cancel_called):
            self.hangups += 1  # the client went away before its answer: nobody to tell
            log.debug("HTTP client %s hung up while its request was handled", client)
            return
        if timer.cancel_called:
            if asm.in_head:
                await self._refuse(stream, 408, "Timed out reading request headers")
            elif asm.in_body:
                await self._refuse(stream, 408, "Timed out reading request body")

    async def _requests(
        self,
        stream: trio.abc.Stream,
        client: tuple[str, int],
        asm: RequestAssembler,
        conn: _Conn,
    ) -> None:
        # The hot loop: one iteration per read. Locals instead of attribute lookups, no helper
        # calls on the common path (one GET in, one response out).
        limits = self.limits
        dispatch = self.router.dispatch
        deadline = conn.deadline
        io = transport_for(stream)
        recv = io.recv
        send = io.send
        inf = math.inf
        feed = asm.parser.feed_data
        ready = asm.ready
        header_timeout = limits.header_timeout
        idle_timeout = limits.idle_timeout
        max_head = limits.max_header_bytes
        current_time = trio.current_time
        idle_deadline = deadline.at  # the first request's head is due header_timeout after accept
        head_deadline = math.inf
        head_bytes = 0  # bytes read so far for the current, still incomplete, head
        timed_head = 0  # the asm.begun value head_deadline belongs to
        body_checked = 0  # the asm.begun value whose Content-Length/Expect were looked at

        while True:
            if conn.carry:  # read by the hang-up watcher while the previous request was handled
                data = conn.carry
                conn.carry = b""
            else:
                if conn.peer_eof:  # the client closed (at least its side) while we were answering
                    return
                if asm.in_head:
                    deadline.at = head_deadline
                elif asm.in_body:
                    deadline.at = current_time() + idle_timeout
                else:
                    deadline.at = idle_deadline
                data = await recv()
                deadline.at = inf
                if not data or deadline.scope.cancel_called:  # EOF, or timed out as the data came
                    return

            asm.check_head_size = head_bytes + len(data) > max_head
            failure: tuple[int, str] | None = None
            upgrade_at = -1
            try:
                feed(data)
            except httptools.HttpParserUpgrade as exc:
                upgrade_at = exc.args[0]
            except httptools.HttpParserCallbackError as exc:
                cause = exc.__context__
                if isinstance(cause, LimitExceeded):
                    failure = (cause.status, cause.message)
                else:
                    failure = (400, f"Bad request: {cause or exc}")
            except httptools.HttpParserError as exc:
                failure = (400, f"Bad request: {exc}")

            answered = len(ready)
            if answered:
                upgrade_req = ready.pop() if upgrade_at >= 0 else None
                watchable = upgrade_req is None  # else the bytes after its head are the websocket's
                out = []
                close = False
                while ready:
                    req = ready.popleft()
                    if watchable:
                        conn.busy_since = current_time()
                    try:
                        resp = await dispatch(req)
                    finally:
                        conn.busy_since = inf
                        if conn.polled:
                            self._unpoll(conn)
                        elif conn.watch is not None:
                            await self._unwatch(conn)
                    keep_alive = req.keep_alive
                    try:
                        out.append(
                            encode_response(
                                resp, keep_alive, req.http_version == "1.0", req.method == "HEAD"
                            )
                        )
                        status = resp.status
                    except Exception as exc:
                        log.exception("cannot encode response to %s %s", req.method, req.raw_path)
                        out.append(canned(500, str(exc)))
                        status = 500
                        keep_alive = False
                    self.requests_served += 1
                    if status >= 400:
                        if status >= 500:
                            self.server_errors += 1
                        else:
                            self.client_errors += 1
                    if not keep_alive:
                        close = True
                        break
                if out:
                    await send(out[0] if len(out) == 1 else b"".join(out))
                if close:
                    return
                if upgrade_req is not None:
                    await self._upgrade(stream, upgrade_req, data[upgrade_at:])
                    return
                idle_deadline = current_time() + idle_timeout
            elif upgrade_at >= 0:  # cannot happen: llhttp completes the message before pausing
                return

            if failure is not None:
                log.debug("HTTP %d to %s: %s", failure[0], client, failure[1])
                await self._refuse(stream, *failure)
                return
            if asm.in_head:
                if asm.begun != timed_head:
                    timed_head = asm.begun
                    head_deadline = current_time() + header_timeout
                    # The whole read counts unless it also finished earlier requests, whose share
                    # we cannot tell apart (then the limit is enforced to within one read).
                    head_bytes = 0 if answered else len(data)
                else:
                    head_bytes += len(data)
                if head_bytes > max_head:
                    await self._refuse(stream, 431, "Request header fields too large")
                    return
            else:
                head_bytes = 0
                if asm.in_body and asm.begun != body_checked:
                    # First read of a body: refuse an announced oversized one before it is sent,
                    # and say "100 Continue" to a client that waits for it.
                    body_checked = asm.begun
                    refusal = _before_body(asm)
                    if refusal is not None:
                        await self._refuse(stream, 413, refusal)
                        return
                    expect = asm.pending_header(b"expect")
                    if expect is not None and expect.lower() == b"100-continue" and asm.pending_http11():
                        await send(CONTINUE_100)

    async def _upgrade(self, stream: trio.abc.Stream, req: Request, after_head: bytes) -> None:
        """Answer a request that asked to switch protocols; the connection ends afterwards."""
        router = self.router
        found = router.find(req.raw_path, req.path)
        if found is None or found[0].websocket is None or not is_websocket_upgrade(req):
            # Not a websocket endpoint: answer as plain HTTP, ignoring the upgrade.
            resp = await router.dispatch(req)
            await stream.send_all(self._encode(req, resp, False))
            return
        route, req.params = found
        problem = handshake_problem(req)
        refusal = text_response(problem, 400) if problem is not None else await router.admit(req)
        if refusal is not None:
            await stream.send_all(self._encode(req, router.run_after(req, refusal), False))
            return
        switching = router.run_after(req, Response(101))
        if switching.status != 101:
            await stream.send_all(self._encode(req, switching, False))
            return
        extra = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in switching.headers.items()]
        self._count(101)

        def opened() -> None:
            self.websockets_open += 1

        def closed() -> None:
            self.websockets_open -= 1

        await run_websocket(
            stream, req, after_head, route.websocket, extra, self.limits.header_timeout, opened, closed
        )


async def serve_http(
    router: Router,
    host: str | None,
    port: int,
    *,
    limits: HttpLimits = HttpLimits(),
    task_status: trio.TaskStatus[HttpServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Bind ``host:port`` (port 0 picks a free one) and serve ``router`` until cancelled.

    ``task_status.started`` receives the `HttpServer`; its ``port``/``addresses`` give the bound
    address and ``statistics()`` its counters.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    server = HttpServer(router, limits)
    await server.serve(listeners, task_status=task_status)
