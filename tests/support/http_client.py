"""A minimal HTTP/1.1 client on Trio for tests (h11 does the framing; one request per call)."""

from __future__ import annotations

import json
from typing import Any

import h11
import trio


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:200]!r})"


async def call(addr: tuple[str, int], method: str, target: str, body: bytes = b"",
               headers: dict[str, str] | None = None, timeout: float = 10.0) -> Reply:
    with trio.fail_after(timeout):
        stream = await trio.open_tcp_stream(*addr)
        async with stream:
            conn = h11.Connection(h11.CLIENT)
            hdrs = [("Host", f"{addr[0]}:{addr[1]}"), ("Content-Length", str(len(body))), ("Connection", "close")]
            hdrs += list((headers or {}).items())
            await stream.send_all(conn.send(h11.Request(method=method, target=target, headers=hdrs)))
            if body:
                await stream.send_all(conn.send(h11.Data(data=body)))
            await stream.send_all(conn.send(h11.EndOfMessage()))
            status, resp_headers, chunks = 0, {}, []
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                    resp_headers = {k.decode().lower(): v.decode() for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
            return Reply(status, resp_headers, b"".join(chunks))
