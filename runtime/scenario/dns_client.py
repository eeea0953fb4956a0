"""A minimal DNS client over UDP for checks: one question, count the answers.

What lives here: `build_query` / `parse_answer_count` (RFC 1035 header and question, enough to read
ANCOUNT and RCODE) and `query(host, port, name, qtype, timeout)`, on trio's UDP sockets.

What must never live here: record parsing beyond counts, recursion, or anything the agent's DNS server
itself needs.
"""

from __future__ import annotations

import random
import struct

import trio

QTYPES = {"A": 1, "SRV": 33}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def build_query(name: str, qtype: str, ident: int) -> bytes:
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)  # recursion desired, one question
    labels = b"".join(bytes([len(p)]) + p.encode("idna") for p in name.strip(".").split(".") if p)
    return header + labels + b"\x00" + struct.pack("!HH", QTYPES[qtype], 1)


def parse_answer_count(packet: bytes, ident: int) -> tuple[str, int]:
    if len(packet) < 12:
        raise ValueError("short DNS answer")
    got, flags, _, ancount, _, _ = struct.unpack("!HHHHHH", packet[:12])
    if got != ident:
        raise ValueError("DNS answer for another query")
    return RCODES.get(flags & 0xF, str(flags & 0xF)), ancount


async def query(host: str, port: int, name: str, qtype: str, timeout: float, rng: random.Random) -> tuple[str, int]:
    """(rcode name, answer count); raises `TimeoutError` when nothing comes back in time."""
    ident = rng.randrange(1 << 16)
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    with sock:
        await sock.connect((host, port))
        await sock.send(build_query(name, qtype, ident))
        with trio.move_on_after(timeout):
            while True:
                try:
                    return parse_answer_count(await sock.recv(4096), ident)
                except ValueError:
                    continue
                except ConnectionRefusedError:
                    raise TimeoutError(f"nothing listens for DNS on {host}:{port}") from None
    raise TimeoutError(f"no DNS answer from {host}:{port} within {timeout:g}s")
