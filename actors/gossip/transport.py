"""A pool's sockets: the runtime's listener and datagram endpoint, bound to the pool's shared port.

What lives here: `GossipListener` (a `StreamListener` serving the pool's protocols; with port 0 it binds an
ephemeral port and records it in the pool state, so the UDP side and the advertised address use the same
number, as memberlist does) and `GossipDatagrams` (a `DatagramEndpoint` feeding the pool's input channel,
which registers itself in the pool state while it runs so the shell can send through it).

Both read the pool state when *built*, so a restart rebinds the port first chosen.

`is_ip_address` guards every send: gossip only ever talks to IP literals, so an address a peer made up
can never make this agent resolve names.

What must never live here: decoding, encryption or protocol logic.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING

import trio

from actors.gossip.wire import MAX_DATAGRAM
from runtime.transport.listener import StreamListener
from runtime.transport.udp import DatagramEndpoint

if TYPE_CHECKING:
    from actors.gossip.pool import PoolState


@lru_cache(maxsize=4096)
def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GossipListener(StreamListener):
    def __init__(self, state: "PoolState") -> None:
        super().__init__(state.settings.bind_host, state.port, state.protocols, node=state.settings.member_name,
                         faults=state.faults, on_bound=state.on_tcp_bound)


class GossipDatagrams(DatagramEndpoint):
    def __init__(self, state: "PoolState") -> None:
        super().__init__(state.settings.bind_host, state.port, node=state.settings.member_name,
                         inbox=state.inputs_send, faults=state.faults, addresses=state.addresses,
                         max_size=MAX_DATAGRAM)
        self.state = state

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.state.udp = self
        try:
            await super().run(task_status)
        finally:
            if self.state.udp is self:
                self.state.udp = None
