"""Loopback ports for a run's agents: free for TCP and UDP when probed, never handed out twice.

What lives here: `PortRegistry.allocate(count)`. It binds a TCP socket to port 0, checks the same port
also binds for UDP (gossip and DNS use both), keeps every probe socket open until the whole batch is
chosen (so one batch never repeats a port) and remembers every port it gave out for the life of the run
(so a node restarted later, or a second batch, never collides with an earlier one).

What must never live here: which agent uses which port (``agent_args.py``) or starting processes.
"""

from __future__ import annotations

import socket

MAX_PROBES = 1000


class PortRegistry:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.taken: set[int] = set()

    def allocate(self, count: int) -> list[int]:
        """`count` distinct ports, free a moment ago on TCP and UDP, not given out before by this registry."""
        held: list[socket.socket] = []
        ports: list[int] = []
        try:
            probes = 0
            while len(ports) < count:
                probes += 1
                if probes > MAX_PROBES:
                    raise OSError(f"could not find {count} free loopback ports in {MAX_PROBES} probes")
                tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(tcp)
                tcp.bind((self.host, 0))
                port = tcp.getsockname()[1]
                if port in self.taken or port in ports:
                    continue
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(udp)
                try:
                    udp.bind((self.host, port))
                except OSError:
                    continue
                ports.append(port)
        finally:
            for sock in held:
                sock.close()
        self.taken.update(ports)
        return ports
