"""A hand-cranked bench for transcript tests: a few `SwimCore`s, a clock we set, and deliveries we choose.

What lives here: `Bench`, which owns named cores, advances time explicitly, collects each core's effects
into an outbox, and delivers (or drops) them one by one; `parts`, to look inside `Compound` packets.

What must never live here: randomness that is not seeded, or assertions.
"""

from __future__ import annotations

import random

import msgspec

from actors.swim.config import SwimConfig, lan
from actors.swim.core import SwimCore
from actors.swim.effects import MemberEvent, SendPacket, SendStream
from actors.swim.messages import Compound, PushPull

QUIET = msgspec.structs.replace(lan(), push_pull_interval=0.0, reconnect_interval=0.0)
"""LAN settings without periodic push-pull or reconnects, so transcripts hold only what they test."""


def parts(msg) -> list:
    """The messages inside a packet, in order."""
    return list(msg.parts) if type(msg) is Compound else [msg]


def _has(msg, kind: str) -> bool:
    """True if a part of `msg` is a `kind`. Meant for probe traffic (Ping, Ack, Nack, IndirectPingReq),
    which is never piggybacked, so a match is the packet's own message."""
    return any(type(p).__name__ == kind for p in parts(msg))


class Bench:
    def __init__(self, names: list[str], config: SwimConfig = QUIET, seed: int = 1) -> None:
        self.now = 0.0
        self.cores: dict[str, SwimCore] = {}
        self.by_addr: dict[tuple[str, int], str] = {}
        self.outbox: dict[str, list] = {}
        self.events: list[tuple[str, str, str]] = []  # (observer, kind, subject)
        self.notices: dict[str, list] = {}  # effects other than sends and member events
        for i, name in enumerate(names, 1):
            addr = (f"10.0.0.{i}", 8301)
            self.cores[name] = SwimCore(name, addr, config, random.Random(f"{seed}:{name}"))
            self.by_addr[addr] = name
            self.outbox[name] = []
            self.notices[name] = []

    def __getitem__(self, name: str) -> SwimCore:
        return self.cores[name]

    def introduce(self) -> None:
        """Make every core know every other one as alive, by direct full-state merges at time 0."""
        for core in self.cores.values():
            core.on_deadline(self.now)
        for a in self.cores.values():
            for b in self.cores.values():
                if a is not b:
                    a.on_stream(self.now, b.addr, PushPull(join=True, reply=True, states=b._local_state()))
        self.collect()
        for box in self.outbox.values():
            box.clear()
        self.events.clear()

    def collect(self) -> None:
        for name, core in self.cores.items():
            for effect in core.poll():
                if type(effect) is MemberEvent:
                    self.events.append((name, effect.kind, effect.member.name))
                elif type(effect) in (SendPacket, SendStream):
                    self.outbox[name].append(effect)
                else:
                    self.notices[name].append(effect)

    def advance(self, name: str, until: float | None = None) -> None:
        """Fire `name`'s next timer (or every timer up to `until`), moving the clock forward."""
        core = self.cores[name]
        while True:
            deadline = core.next_deadline()
            if deadline is None or (until is not None and deadline > until):
                break
            self.now = max(self.now, deadline)
            core.on_deadline(self.now)
            if until is None:
                break
        if until is not None:
            self.now = max(self.now, until)
        self.collect()

    def advance_until_probe(self, name: str) -> SendPacket:
        """Run `name`'s timers until it sends a probe ping; return that packet (left in the outbox)."""
        core = self.cores[name]
        sent = core.statistics().probes_sent
        for _ in range(1000):
            self.advance(name)
            if core.statistics().probes_sent > sent:
                box = self.outbox[name]
                for i in range(len(box) - 1, -1, -1):
                    if type(box[i]) is SendPacket and _has(box[i].msg, "Ping"):
                        return box.pop(i)
        raise AssertionError(f"{name} never probed")

    def take(self, name: str, kind: str, *, stream: bool = False) -> SendPacket | SendStream:
        """Remove and return the first packet (or stream, if `stream`) of `name` carrying a `kind`."""
        box = self.outbox[name]
        want = SendStream if stream else SendPacket
        for i, effect in enumerate(box):
            if type(effect) is want and _has(effect.msg, kind):
                return box.pop(i)
        raise AssertionError(f"{name} sent no {kind}: {box}")

    def take_all(self, name: str, kind: str) -> list:
        box = self.outbox[name]
        taken = [e for e in box if _has(e.msg, kind)]
        self.outbox[name] = [e for e in box if e not in taken]
        return taken

    def deliver(self, src: str, effect, *, at: float | None = None) -> list:
        """Hand `effect` (sent by `src`) to its destination; returns stream replies, if any."""
        if at is not None:
            self.now = max(self.now, at)
        dst = self.by_addr[effect.addr]
        replies: list = []
        if type(effect) is SendPacket:
            self.cores[dst].on_packet(self.now, self.cores[src].addr, effect.msg)
        else:
            replies = self.cores[dst].on_stream(self.now, self.cores[src].addr, effect.msg)
        self.collect()
        return replies

    def dest(self, effect) -> str:
        return self.by_addr[effect.addr]

    def drop_outbox(self, name: str) -> None:
        self.outbox[name].clear()
