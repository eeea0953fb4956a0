"""A stand-in upstream DNS server for the recursor tests, on UDP and TCP of one loopback port.

What lives here: `FakeRecursor`, which answers every question with a fixed A record (``mode="answer"``),
with a given rcode (``mode="rcode"``), or not at all (``mode="silent"``: it reads nothing, as a dead
server would), and counts what it was asked.

What must never live here: assertions.
"""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import trio

from actors.dns.framing import frame, receive_message
from actors.dns.server import bind


class FakeRecursor:
    def __init__(self, mode: str = "answer", address: str = "192.0.2.10", rcode: int = dns.rcode.SERVFAIL) -> None:
        self.mode = mode
        self.address = address
        self.rcode = rcode
        self.asked: list[str] = []
        self.port = 0

    @property
    def spec(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reply(self, data: bytes) -> bytes:
        query = dns.message.from_wire(data)
        self.asked.append(query.question[0].name.to_text())
        response = dns.message.make_response(query)
        if self.mode == "rcode":
            response.set_rcode(self.rcode)
        else:
            rrset = dns.rrset.from_text(query.question[0].name, 60, dns.rdataclass.IN, dns.rdatatype.A, self.address)
            response.answer.append(rrset)
        return response.to_wire()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        udp, listeners = await bind("127.0.0.1", 0)
        self.port = udp.getsockname()[1]
        with udp:
            async with trio.open_nursery() as nursery:
                if self.mode != "silent":
                    nursery.start_soon(self._udp, udp)
                    nursery.start_soon(trio.serve_listeners, self._tcp, listeners)
                task_status.started()
                await trio.sleep_forever()

    async def _udp(self, sock: trio.socket.SocketType) -> None:
        while True:
            data, addr = await sock.recvfrom(65535)
            await sock.sendto(self.reply(data), addr)

    async def _tcp(self, stream: trio.SocketStream) -> None:
        async with stream:
            data = await receive_message(stream)
            if data is not None:
                await stream.send_all(frame(self.reply(data)))
