"""A tiny deterministic network of `SerfCore`s for the Serf layer's transcript tests: no Trio, no sockets.

What lives here: `SerfNet`. Every datagram and stream message goes through the real `wire.Codec` (so
the tests also cover encoding), is delivered with zero latency in send order, and a stream is answered
synchronously; a node marked down receives nothing and its streams fail. Time only moves in `advance`,
which fires every node's due deadlines in order.

What must never live here: assertions; the tests ask the cores.
"""

from __future__ import annotations

import math
from collections import deque

import msgspec

from actors.gossip.crypto import Keyring
from actors.gossip.serf_core import SerfConfig, SerfCore
from actors.gossip.serf_effects import SendDirect
from actors.gossip.wire import MAX_DATAGRAM, Codec, overhead
from actors.swim.config import sim
from actors.swim.effects import SendPacket, SendStream
from runtime.rng import derive

Addr = tuple[str, int]


class SerfNet:
    def __init__(self, seed: int = 1, *, serf_config: SerfConfig | None = None) -> None:
        self.seed = seed
        self.swim = msgspec.structs.replace(sim(0.1), udp_buffer_size=MAX_DATAGRAM - overhead(True))
        self.serf_config = serf_config
        self.now = 0.0
        self.nodes: dict[str, SerfCore] = {}
        self.by_addr: dict[Addr, str] = {}
        self.down: set[str] = set()
        self.codecs: dict[str, Codec] = {}
        self.effects: dict[str, list] = {}  # every non-send effect, per node, in order
        self._queue: deque = deque()

    def add(self, name: str, *, tags: dict[str, str] | None = None, keyring: Keyring | None = None,
            addr: Addr | None = None) -> SerfCore:
        addr = addr or (f"10.0.0.{len(self.nodes) + 1}", 7946)
        key = name if name not in self.nodes else f"{name}@{addr[0]}"
        core = SerfCore(name, addr, self.swim, derive(self.seed, key), tags=tags or {"role": "node", "dc": "dc1"},
                        keyring=keyring, config=self.serf_config)
        self.nodes[key] = core
        self.by_addr[addr] = key
        self.codecs[key] = Codec(keyring)
        self.effects[key] = []
        core.on_deadline(self.now)
        self.pump()
        return core

    def key_of(self, core: SerfCore) -> str:
        return self.by_addr[core.addr]

    # -- delivery ------------------------------------------------------------------------------------

    def pump(self) -> None:
        for _ in range(100000):
            self._drain()
            if not self._queue:
                return
            src, dst, data, stream = self._queue.popleft()
            self._deliver(src, dst, data, stream)
        raise AssertionError("network never went quiet")

    def _drain(self) -> None:
        for key, core in self.nodes.items():
            for eff in core.poll():
                kind = type(eff)
                if kind is SendPacket or kind is SendDirect:
                    self._queue.append((key, eff.addr, self.codecs[key].encode(eff.msg), None))
                elif kind is SendStream:
                    self._queue.append((key, eff.addr, self.codecs[key].encode(eff.msg), eff.msg))
                else:
                    self.effects[key].append(eff)

    def _deliver(self, src: str, dst_addr: Addr, data: bytes, stream: object) -> None:
        dst = self.by_addr.get(dst_addr)
        source = self.nodes[src]
        if dst is None or dst in self.down or src in self.down:
            if stream is not None and src not in self.down:
                source.on_stream_failed(self.now, dst_addr, stream)
            return
        target, codec = self.nodes[dst], self.codecs[dst]
        if stream is None:
            try:
                msg = codec.decode_packet(data)
            except ValueError:
                return
            target.on_packet(self.now, source.addr, msg)
            return
        try:
            msg = codec.decode_stream(data)
        except ValueError:
            source.on_stream_failed(self.now, dst_addr, stream)
            return
        replies = target.on_stream(self.now, source.addr, msg)
        for reply in replies:
            source.on_stream(self.now, dst_addr, self.codecs[src].decode_stream(codec.encode(reply)))
        if not replies:
            source.on_stream_failed(self.now, dst_addr, stream)

    # -- time ----------------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = [(c.next_deadline() or math.inf, k) for k, c in self.nodes.items() if k not in self.down]
            t, key = min(due, default=(math.inf, ""))
            if t > end:
                break
            self.now = max(self.now, t)
            self.nodes[key].on_deadline(self.now)
            self.pump()
        self.now = end

    # -- views ---------------------------------------------------------------------------------------

    def statuses(self, observer: str) -> dict[str, str]:
        return {m.name: m.status for m in self.nodes[observer].members()}

    def of_kind(self, key: str, kind: type) -> list:
        return [e for e in self.effects[key] if type(e) is kind]
