"""A deterministic simulated network that drives many `SwimCore`s with no trio and no real time.

What lives here: `SimNet`, one event heap in virtual seconds keyed by ``(time, sequence)``, so that ties
break in scheduling order and never by object identity; per-link random streams (``runtime.rng.derive``)
for loss and delay; node faults (kill, restart, stall) and arbitrary scheduled actions; a running trace
hash of every send, delivery and member event; and `MemberEventLog`, the record the checkers read.

What must never live here: assertions. Tests ask questions of the log and of the cores afterwards.

Model:

* Packets are lost with the link's loss probability and arrive after a uniform delay in ``delay``.
* Streams are reliable: a request to a live node is answered after one link delay each way; to a dead
  node it fails after ``stream_fail_delay`` (connection refused); across a cut link (loss 1.0 either
  way) it fails after the config's ``tcp_timeout``. Partial loss never touches streams, as TCP retransmits.
* A *slow* node processes every arriving message a fixed delay late, while its timers fire on time.
* A *stalled* node processes nothing: packets and stream requests addressed to it pile up in a backlog
  (its socket buffers), and its timers wait. When the stall ends its timers fire first and only then is
  the backlog processed, which is how a starved process behaves at worst: it wakes, sees its probe
  deadline has passed, and accuses its target before reading the ack sitting in its buffer.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from actors.swim.config import SwimConfig
from actors.swim.core import SwimCore
from actors.swim.effects import MemberEvent, MemberState, SendPacket, SendStream
from actors.swim.messages import encode, packet_decoder, stream_decoder
from runtime.rng import derive

Addr = tuple[str, int]


def addr_of(index: int) -> Addr:
    return (f"10.{index // 250}.{index % 250}.1", 8301)


@dataclass
class SimNode:
    name: str
    addr: Addr
    core: SwimCore
    alive: bool = True
    stalled_until: float = -math.inf
    slow_until: float = -math.inf
    slow_delay: float = 0.0
    backlog: list = field(default_factory=list)
    token: int = 0
    scheduled: float = math.inf
    generation: int = 0


@dataclass(frozen=True)
class Observed:
    """One member event as seen by one observer."""

    time: float
    observer: str
    kind: str
    subject: str
    incarnation: int


class SimNet:
    """A seeded cluster of SWIM cores on a simulated lossy network."""

    def __init__(self, seed: int, config: SwimConfig, *, loss: float = 0.0,
                 delay: tuple[float, float] = (0.0005, 0.002), stream_fail_delay: float | None = None,
                 wire: bool = False) -> None:
        self.seed = seed
        self.config = config
        self.loss = loss
        self.delay = delay
        self.stream_fail_delay = delay[1] if stream_fail_delay is None else stream_fail_delay
        self.wire = wire
        self.now = 0.0
        self.nodes: dict[str, SimNode] = {}
        self._by_addr: dict[Addr, str] = {}
        self._heap: list[tuple] = []
        self._seq = itertools.count()
        self._links: dict[tuple[str, str], object] = {}
        self._link_loss: dict[tuple[str, str], float] = {}
        self._hash = hashlib.blake2b(digest_size=16)
        self.events: list[Observed] = []
        self.packets_sent = 0
        self.packets_lost = 0
        self.deliveries = 0
        self._next_index = 0
        self._index: dict[str, int] = {}

    # ------------------------------------------------------------------------------------------------
    # building the cluster

    def add_node(self, name: str, *, join: list[str] | None = None, at: float | None = None,
                 meta: bytes = b"", incarnation: int = 0, config: SwimConfig | None = None) -> None:
        """Create (or recreate, after a kill) `name` at time `at` and join it through `join`."""
        when = self.now if at is None else at

        def create() -> None:
            if name not in self._index:
                self._index[name] = self._next_index
                self._next_index += 1
            addr = addr_of(self._index[name])
            old = self.nodes.get(name)
            generation = 0 if old is None else old.generation + 1
            rng = derive(self.seed, f"{name}/swim/{generation}")
            core = SwimCore(name, addr, config or self.config, rng, meta=meta, incarnation=incarnation)
            node = SimNode(name, addr, core, generation=generation)
            self.nodes[name] = node
            self._by_addr[addr] = name
            self._trace("start", name, generation)
            if join:
                core.join(self.now, [self.nodes[s].addr for s in join])
            else:
                core.on_deadline(self.now)
            self._after_input(node)

        self.at(when, create)

    def kill(self, name: str, at: float) -> None:
        def do() -> None:
            node = self.nodes[name]
            node.alive = False
            node.token = next(self._seq)
            node.backlog.clear()
            self._trace("kill", name)
        self.at(at, do)

    def stall(self, name: str, at: float, duration: float) -> None:
        """`name` processes nothing in ``[at, at + duration)``."""
        def begin() -> None:
            node = self.nodes[name]
            node.stalled_until = self.now + duration
            node.token = next(self._seq)  # its timers wait for the stall to end
            node.scheduled = math.inf
            self._trace("stall", name, duration)
            self._push(node.stalled_until, "unstall", name)
        self.at(at, begin)

    def slow(self, name: str, at: float, duration: float, delay: float) -> None:
        """During ``[at, at + duration)`` every message reaching `name` is processed `delay` seconds late
        (a long receive queue), while its timers still fire on time: Lifeguard's slow detector."""
        def begin() -> None:
            node = self.nodes[name]
            node.slow_until = self.now + duration
            node.slow_delay = delay
            self._trace("slow", name, duration, delay)
        self.at(at, begin)

    def leave(self, name: str, at: float) -> None:
        def do() -> None:
            node = self.nodes[name]
            node.core.leave(self.now)
            self._after_input(node)
        self.at(at, do)

    def set_link_loss(self, src: str, dst: str, loss: float) -> None:
        """Override the loss probability of the directed link `src` -> `dst`."""
        self._link_loss[(src, dst)] = loss

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._push(when, "action", action)

    # ------------------------------------------------------------------------------------------------
    # running

    def run_until(self, end: float, *, stop: Callable[[], bool] | None = None,
                  check_every: float = 0.1) -> float:
        """Process events up to virtual time `end`, or until `stop()` holds (checked every
        `check_every` virtual seconds). Returns the time reached."""
        next_check = self.now + check_every
        heap = self._heap
        while heap and heap[0][0] <= end:
            when = heap[0][0]
            if stop is not None and when >= next_check:
                self.now = when
                if stop():
                    return when
                next_check = when + check_every
            _, _, kind, a, b, c, d = heapq.heappop(heap)
            self.now = when
            getattr(self, "_on_" + kind)(a, b, c, d)
        self.now = max(self.now, end)
        return self.now

    def trace_hash(self) -> str:
        return self._hash.hexdigest()

    # ------------------------------------------------------------------------------------------------
    # event handlers

    def _on_action(self, action, _b, _c, _d) -> None:
        action()

    def _on_wake(self, name: str, token: int, _c, _d) -> None:
        node = self.nodes[name]
        if not node.alive or token != node.token:
            return
        node.scheduled = math.inf
        node.core.on_deadline(self.now)
        self._after_input(node)

    def _on_unstall(self, name: str, _b, _c, _d) -> None:
        node = self.nodes[name]
        if not node.alive or self.now < node.stalled_until:
            return
        core = node.core
        core.on_deadline(self.now)
        backlog, node.backlog = node.backlog, []
        for kind, a, b, c in backlog:
            self._deliver(node, kind, a, b, c)
        self._after_input(node)

    def _on_packet(self, name: str, src: Addr, msg, generation: int) -> None:
        self._arrive(name, "packet", src, msg, None)

    def _on_stream_req(self, name: str, src: Addr, msg, _d) -> None:
        self._arrive(name, "stream_req", src, msg, None)

    def _on_stream_reply(self, name: str, src: Addr, msg, _d) -> None:
        self._arrive(name, "stream_reply", src, msg, None)

    def _on_stream_fail(self, name: str, dst: Addr, msg, _d) -> None:
        self._arrive(name, "stream_fail", dst, msg, None)

    def _on_late(self, name: str, kind: str, a, b) -> None:
        node = self.nodes.get(name)
        if node is not None and node.alive:
            self._arrive(name, kind, a, b, None, late=True)

    def _arrive(self, name: str, kind: str, a, b, c, *, late: bool = False) -> None:
        node = self.nodes.get(name)
        if node is None or not node.alive:
            if kind == "stream_req":
                self._stream_failed_back(a, name, b)
            return
        if not late and self.now < node.slow_until:
            self._push(self.now + node.slow_delay, "late", name, kind, a, b)
            return
        if self.now < node.stalled_until:
            node.backlog.append((kind, a, b, c))
            return
        self._deliver(node, kind, a, b, c)
        self._after_input(node)

    def _deliver(self, node: SimNode, kind: str, a, b, c) -> None:
        core = node.core
        self.deliveries += 1
        if kind == "packet":
            self._trace("recv", node.name, a, b)
            core.on_packet(self.now, a, b)
        elif kind == "stream_req":
            self._trace("sreq", node.name, a, b)
            for reply in core.on_stream(self.now, a, b):
                src_name = self._by_addr.get(a)
                if src_name is not None:
                    self._push(self.now + self._delay(node.name, src_name), "stream_reply", src_name,
                               node.addr, self._wire(reply, stream=True))
        elif kind == "stream_reply":
            self._trace("srep", node.name, a, b)
            core.on_stream(self.now, a, b)
        elif kind == "stream_fail":
            self._trace("sfail", node.name, a)
            core.on_stream_failed(self.now, a, b)

    def _stream_failed_back(self, src_addr: Addr, dst_name: str, msg) -> None:
        src_name = self._by_addr.get(src_addr)
        if src_name is not None:
            self._push(self.now + self.stream_fail_delay, "stream_fail", src_name,
                       self.nodes[dst_name].addr, msg)

    # ------------------------------------------------------------------------------------------------
    # effects

    def _after_input(self, node: SimNode) -> None:
        core = node.core
        for effect in core.poll():
            kind = type(effect)
            if kind is SendPacket:
                self._send_packet(node, effect.addr, effect.msg)
            elif kind is SendStream:
                self._send_stream(node, effect.addr, effect.msg)
            elif kind is MemberEvent:
                m = effect.member
                self.events.append(Observed(self.now, node.name, effect.kind, m.name, m.incarnation))
                self._trace("event", node.name, effect.kind, m.name, m.incarnation)
        if not node.alive or self.now < node.stalled_until:
            return
        deadline = core.next_deadline()
        if deadline is None:
            deadline = math.inf
        if deadline != node.scheduled:
            node.scheduled = deadline
            node.token = next(self._seq)
            if deadline != math.inf:
                self._push(max(deadline, self.now), "wake", node.name, node.token)

    def _send_packet(self, node: SimNode, addr: Addr, msg) -> None:
        self.packets_sent += 1
        dst = self._by_addr.get(addr)
        if dst is None:
            return
        self._trace("send", node.name, dst, msg)
        rng = self._link(node.name, dst)
        loss = self._link_loss.get((node.name, dst), self.loss)
        if loss and rng.random() < loss:
            self.packets_lost += 1
            return
        lo, hi = self.delay
        self._push(self.now + rng.uniform(lo, hi), "packet", dst, node.addr, self._wire(msg, stream=False), 0)

    def _send_stream(self, node: SimNode, addr: Addr, msg) -> None:
        dst = self._by_addr.get(addr)
        if dst is None:
            self._push(self.now + self.stream_fail_delay, "stream_fail", node.name, addr, msg)
            return
        if self._link_loss.get((node.name, dst), self.loss) >= 1.0 or \
                self._link_loss.get((dst, node.name), self.loss) >= 1.0:
            # A cut link: the connection attempt times out.
            self._push(self.now + self.config.tcp_timeout, "stream_fail", node.name, addr, msg)
            return
        self._push(self.now + self._delay(node.name, dst), "stream_req", dst, node.addr,
                   self._wire(msg, stream=True))

    # ------------------------------------------------------------------------------------------------
    # plumbing

    def _push(self, when: float, kind: str, a=None, b=None, c=None, d=None) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), kind, a, b, c, d))

    def _link(self, src: str, dst: str):
        rng = self._links.get((src, dst))
        if rng is None:
            rng = self._links[(src, dst)] = derive(self.seed, f"link:{src}->{dst}")
        return rng

    def _delay(self, src: str, dst: str) -> float:
        lo, hi = self.delay
        return self._link(src, dst).uniform(lo, hi)

    def _wire(self, msg, *, stream: bool):
        if not self.wire:
            return msg
        data = encode(msg)
        if not stream:
            assert len(data) <= self.config.udp_buffer_size, f"{len(data)}-byte packet: {msg!r}"
        return (stream_decoder if stream else packet_decoder).decode(data)

    def _trace(self, *parts) -> None:
        # Messages are traced by their tag and size only: cheap, and still sensitive to any change.
        rendered = [f"{self.now:.9f}"]
        for p in parts:
            if hasattr(p, "__struct_config__"):
                rendered.append(type(p).__name__)
            else:
                rendered.append(repr(p))
        self._hash.update("|".join(rendered).encode())

    # ------------------------------------------------------------------------------------------------
    # questions for the checkers

    def live(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.alive]

    def state_of(self, observer: str, subject: str) -> MemberState | None:
        m = self.nodes[observer].core.member(subject)
        return None if m is None else m.state

    def all_see_all_alive(self) -> bool:
        live = self.live()
        names = [n.name for n in live]
        for node in live:
            core = node.core
            for name in names:
                m = core.member(name)
                if m is None or m.state is not MemberState.ALIVE:
                    return False
        return True

    def all_see(self, subject: str, states: tuple[MemberState, ...]) -> bool:
        return all(n.core.member(subject) is not None and n.core.member(subject).state in states
                   for n in self.live() if n.name != subject)

    def first(self, kind: str, subject: str, observer: str | None = None, after: float = -math.inf
              ) -> Observed | None:
        for e in self.events:
            if e.kind == kind and e.subject == subject and e.time >= after and (
                    observer is None or e.observer == observer):
                return e
        return None

    def count(self, kind: str, *, subjects: set[str] | None = None, observers: set[str] | None = None,
              after: float = -math.inf) -> int:
        return sum(1 for e in self.events
                   if e.kind == kind and e.time >= after and (subjects is None or e.subject in subjects)
                   and (observers is None or e.observer in observers))
