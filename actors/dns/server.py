"""The ``dns`` actor: Consul's DNS interface on UDP and TCP at the agent's first client address.

What lives here: `DnsServer`, a leaf actor that binds a UDP socket and a TCP listener on the same port
(``ports.dns``; 0 picks a free port for both, retrying while the TCP side of a free UDP port is taken),
signals readiness only once both are bound, publishes the address as ``ctx.extras["dns_addr"]``, and
then serves until cancelled: UDP through a fixed worker pool behind a bounded queue (``udp``), TCP
with a cap on connections (``tcp``), each query answered by one `QueryHandler` (``query``).

A socket error escaping the loops crashes the actor like any other and its supervisor restarts it
with backoff; a bad query never does (it becomes FORMERR/SERVFAIL or is dropped). The agent does not
start this actor when ``ports.dns`` is -1; ``port=`` overrides the configured port (tests).

What must never live here: how a query is answered, or the name grammar.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any, ClassVar

import trio

from actors.dns.query import QueryHandler
from actors.dns.settings import DnsSettings
from actors.dns.stats import DnsStats
from actors.dns.tcp import serve_tcp
from actors.dns.udp import Datagram, serve_udp
from runtime.actor import Actor
from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("dns")

BIND_ATTEMPTS = 20  # ephemeral-port attempts when the TCP side of a free UDP port is taken


class DnsServer(Actor):
    kind: ClassVar[str] = "dns"
    inbox_size: ClassVar[int | None] = 1  # takes no messages; the inbox exists only for uniformity

    def __init__(self, ctx: "AgentContext", *, port: int | None = None, udp_workers: int = 32, udp_queue: int = 256,
                 max_tcp_connections: int = 128) -> None:
        self.ctx = ctx
        self.port = ctx.config.ports.dns if port is None else port
        self.udp_workers = udp_workers
        self.udp_queue = udp_queue
        self.max_tcp_connections = max_tcp_connections
        self.stats = DnsStats()
        self.address: tuple[str, int] | None = None
        self._queue: trio.MemoryReceiveChannel[Datagram] | None = None

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        cfg = self.ctx.config
        settings = DnsSettings.from_config(cfg)
        host = cfg.client_addr.split()[0]
        udp, listeners = await bind(host, self.port)
        handler = QueryHandler(self.ctx, settings, self.stats, self.ctx.rng("dns"))
        self.ctx.extras["dns.handler"] = handler  # a server also answers queries its clients forward
        send, receive = trio.open_memory_channel[Datagram](self.udp_queue)
        self._queue = receive
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(serve_udp, udp, handler, self.stats, (send, receive), self.udp_workers)
                nursery.start_soon(serve_tcp, listeners, handler, self.stats, self.max_tcp_connections)
                self.address = (host, udp.getsockname()[1])
                self.ctx.extras["dns_addr"] = self.address
                log.info("DNS listening", address=f"{host}:{self.address[1]}", domain=str(settings.domain))
                task_status.started()
        finally:
            udp.close()
            for listener in listeners:
                listener.socket.close()

    def statistics(self) -> dict[str, Any]:
        figures = self.stats.as_dict()
        figures["udp_queued"] = self._queue.statistics().current_buffer_used if self._queue is not None else 0
        figures["address"] = f"{self.address[0]}:{self.address[1]}" if self.address else None
        return figures


async def bind(host: str, port: int) -> tuple[trio.socket.SocketType, list[trio.SocketListener]]:
    """A UDP socket and TCP listeners on the same ``port`` of ``host`` (0: any free port for both)."""
    attempt = 1
    while True:
        try:
            return await _bind_once(host, port)
        except OSError as exc:
            if port != 0 or exc.errno != errno.EADDRINUSE or attempt >= BIND_ATTEMPTS:
                raise
            attempt += 1


async def _bind_once(host: str, port: int) -> tuple[trio.socket.SocketType, list[trio.SocketListener]]:
    family = trio.socket.AF_INET6 if ":" in host else trio.socket.AF_INET
    udp = trio.socket.socket(family, trio.socket.SOCK_DGRAM)
    try:
        await udp.bind((host, port))
        listeners = await trio.open_tcp_listeners(udp.getsockname()[1], host=host)
    except BaseException:
        udp.close()
        raise
    return udp, listeners
