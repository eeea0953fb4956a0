"""A small HTTP/1.1 client on trio and h11, with keep-alive, for talking to many agents at once.

What lives here: `HttpClient.request(host, port, method, target, body, timeout)` -> `HttpResponse`, a pool
of idle keep-alive connections per address, and the errors a workload needs to classify outcomes:

- `ConnectFailed`: no connection could be made; the request was certainly not sent (``definite``);
- `RequestTimeout` / `ConnectionLost`: the request may have been sent and acted on (indeterminate).

An idle pooled connection the server has closed is detected before reuse (a non-blocking peek), so
keep-alive does not turn into spurious "connection lost" outcomes. ``retry_stale=True`` (for idempotent
control calls) additionally retries once on a fresh connection when a reused one fails before any response
byte. Workload requests never retry: a retried write could take effect twice.

What must never live here: Consul paths or JSON shapes (``agent_api.py``), or retries beyond that one.
"""

from __future__ import annotations

import select
from dataclasses import dataclass, field

import h11
import trio

MAX_IDLE_PER_ADDRESS = 64
READ_CHUNK = 65536


class HttpClientError(Exception):
    definite = False  # True: the server certainly did not act on the request


class ConnectFailed(HttpClientError):
    definite = True


class RequestTimeout(HttpClientError):
    pass


class ConnectionLost(HttpClientError):
    pass


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class _Conn:
    stream: trio.SocketStream
    h11: h11.Connection = field(default_factory=lambda: h11.Connection(our_role=h11.CLIENT))
    reused: bool = False

    def alive(self) -> bool:
        """An idle connection is usable if nothing is readable on it: readable means the peer closed it
        (EOF) or sent something unasked (such as a 408), and either way it cannot carry a new request."""
        try:
            readable, _, _ = select.select([self.stream.socket.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable


class HttpClient:
    def __init__(self, user_agent: str = "proconsul-scenario") -> None:
        self.user_agent = user_agent
        self._idle: dict[tuple[str, int], list[_Conn]] = {}
        self._closed = False

    async def request(self, host: str, port: int, method: str, target: str, body: bytes | None = None,
                      timeout: float = 10.0, retry_stale: bool = False,
                      headers: dict[str, str] | None = None) -> HttpResponse:
        conn = self._take(host, port)
        try:
            return await self._once(conn, host, port, method, target, body, timeout, headers)
        except _Stale:
            if not retry_stale:
                raise ConnectionLost(f"{host}:{port} closed the connection") from None
            return await self._once(None, host, port, method, target, body, timeout, headers)

    async def _once(self, conn: _Conn | None, host: str, port: int, method: str, target: str,
                    body: bytes | None, timeout: float, headers: dict[str, str] | None) -> HttpResponse:
        got_bytes = False
        with trio.move_on_after(timeout) as scope:
            if conn is None:
                try:
                    stream = await trio.open_tcp_stream(host, port)
                except OSError as exc:
                    raise ConnectFailed(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
                conn = _Conn(stream)
            hdrs = [("Host", f"{host}:{port}"), ("User-Agent", self.user_agent),
                    ("Content-Length", str(len(body or b"")))]
            hdrs += list((headers or {}).items())
            try:
                data = conn.h11.send(h11.Request(method=method, target=target, headers=hdrs))
                if body:
                    data += conn.h11.send(h11.Data(data=body))
                data += conn.h11.send(h11.EndOfMessage())
                await conn.stream.send_all(data)
                response: h11.Response | None = None
                chunks: list[bytes] = []
                while True:
                    event = conn.h11.next_event()
                    if event is h11.NEED_DATA:
                        chunk = await conn.stream.receive_some(READ_CHUNK)
                        got_bytes = got_bytes or bool(chunk)
                        conn.h11.receive_data(chunk)
                        continue
                    if isinstance(event, h11.Response):
                        response = event
                    elif isinstance(event, h11.Data):
                        chunks.append(bytes(event.data))
                    elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                        break
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError, h11.ProtocolError) as exc:
                await _close(conn)
                if conn.reused and not got_bytes:
                    raise _Stale() from None
                raise ConnectionLost(f"connection to {host}:{port} lost: {exc}") from None
            if response is None:
                await _close(conn)
                raise ConnectionLost(f"{host}:{port} closed the connection without answering")
            result = HttpResponse(response.status_code,
                                  {k.decode().lower(): v.decode("latin-1") for k, v in response.headers},
                                  b"".join(chunks))
            self._release(host, port, conn)
            return result
        if scope.cancelled_caught:
            if conn is not None:
                await _close(conn)
        raise RequestTimeout(f"no answer from {host}:{port} within {timeout:g}s ({method} {target})")

    def _take(self, host: str, port: int) -> _Conn | None:
        idle = self._idle.get((host, port), [])
        while idle:
            conn = idle.pop()
            if conn.alive():
                conn.reused = True
                return conn
            conn.stream.socket.close()
        return None

    def _release(self, host: str, port: int, conn: _Conn) -> None:
        if self._closed or conn.h11.our_state is not h11.DONE or conn.h11.their_state is not h11.DONE:
            conn.stream.socket.close()
            return
        conn.h11.start_next_cycle()
        idle = self._idle.setdefault((host, port), [])
        if len(idle) < MAX_IDLE_PER_ADDRESS:
            idle.append(conn)
        else:
            conn.stream.socket.close()

    def drop(self, host: str, port: int) -> None:
        """Forget idle connections to an address (its process was stopped or restarted)."""
        for conn in self._idle.pop((host, port), []):
            conn.stream.socket.close()

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                await _close(conn)
        self._idle.clear()


class _Stale(Exception):
    """A reused connection failed before any response byte: the server had closed it while idle."""


async def _close(conn: _Conn) -> None:
    with trio.CancelScope(shield=True):
        try:
            await conn.stream.aclose()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
