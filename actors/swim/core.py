"""The SWIM failure detector and membership protocol with Lifeguard, as a sans-IO state machine.

Theory of operation
-------------------
Every node keeps a table of members (itself included), each alive, suspect, dead or left at some
*incarnation*. Only a node raises its own incarnation, and a message about a node wins over what we hold
when it carries a higher incarnation (or, for suspicion and death, an equal one). That one rule lets
gossip arrive late, twice, or out of order.

*Probing.* Each round the core pings the next member of a shuffled round-robin list (members that join
are inserted at random positions, the list is reshuffled when exhausted, so every member is probed within
2N-1 rounds). No ack within ``probe_timeout`` sends ``indirect_checks`` `IndirectPingReq` to random alive
helpers, plus a `Ping` over the stream path as a TCP fallback. No ack by the end of the round makes the
target *suspect*. Acks relayed by helpers, late direct acks and stream acks all count until then.

*Lifeguard.* (1) The local health score (`awareness`) rises when a probe fails without the nacks its
helpers promised (or fails with no helpers at all) and when this node must refute a suspicion about
itself, and falls by one on every successful probe; the probe interval and probe timeout are multiplied by
``score + 1``. A node that cannot hear its helpers' nacks is probably the slow one, so it slows down
rather than accusing. (2) A suspicion's timeout starts at ``max`` and shrinks toward ``min`` as other
nodes independently suspect the same member (`suspicion`). (3) A ping to a suspect carries the suspicion
(buddy system), so the suspect can refute at once.

*Refutation.* Hearing a suspect or dead message about ourselves (or an alive one with a newer incarnation
or different metadata, e.g. after a restart) makes us broadcast `Alive` with an incarnation above the
accusation. A graceful `leave` is a `Dead` about ourselves from ourselves: everyone records *left*, not
*failed*.

*Dissemination.* Alive, suspect, dead and user messages enter a transmit-limited queue and ride on every
outgoing packet within ``udp_buffer_size`` (a `Compound`). Every ``gossip_interval`` the queue is also
pushed to ``gossip_nodes`` random members, recently dead ones included so they can refute. Every
``push_pull_interval`` (scaled with N) and on join, the full table is exchanged with one member over the
stream path; remote dead is merged as suspect, so one node's opinion never kills a member at once.

*Repairing missed refutations* (not in memberlist; ``correct_stale_gossip``). With lossy links a node
can miss a refutation's whole epidemic and later declare a live member dead. So a node that receives a
suspicion or death older than the alive incarnation it holds answers the sender with that `Alive`, and a
node still holding a suspicion halfway to the minimum timeout gossips it once more to draw such answers.

*Reaping.* Dead members are kept ``reconnect_timeout`` (and retried with push-pull every
``reconnect_interval``), left members ``tombstone_timeout``; then they are forgotten.

*Where this departs from memberlist*, each on purpose: the direct-ack timeout is scaled by the health
score as the Lifeguard paper has it (memberlist scales only the round); helpers nack after
``nack_timeout_ratio`` of the probe timeout (memberlist's full timeout makes nacks miss the round at
score 0); a buddy suspicion precedes the ping so the refutation rides the ack; the stale-gossip repair
above; and dead members stay in the table (unprobed, not gossiped to after ``gossip_to_the_dead_time``)
until reaped, where memberlist forgets them, so N counts them until then.

Contract with the shell
-----------------------
Inputs are method calls that carry ``now`` (seconds, monotonic, any origin): `join`, `leave`,
`update_meta`, `broadcast_user`, `on_packet`, `on_stream`, `on_stream_failed` and `on_deadline`. After
any of them the shell drains `poll` and performs the effects in order, then sleeps until `next_deadline`
or the next input. Calling `on_deadline` early or late is harmless: late timers fire once, periodic ones
skip the missed periods (as a Go ticker does).

What must never live here: clocks, sockets, trio, the global ``random`` generator, or encoding beyond
measuring sizes. All randomness (probe order, helpers, gossip targets, timer phases) comes from the
injected ``rng``; all dict iteration is insertion ordered, so a seeded run is exactly repeatable.
"""

from __future__ import annotations

import math
from random import Random  # the type of the seeded streams handed down; never the global generator

from actors.swim.awareness import Awareness
from actors.swim.broadcast import TransmitLimitedQueue
from actors.swim.config import SwimConfig
from actors.swim.effects import (
    Effect,
    JoinCompleted,
    LeaveCompleted,
    Member,
    MemberEvent,
    MemberEventKind,
    MemberState,
    NameConflict,
    SendPacket,
    SendStream,
    SwimStats,
    UserMessage,
)
from actors.swim.messages import (
    COMPOUND_OVERHEAD,
    META_MAX_SIZE,
    Ack,
    Addr,
    Alive,
    Compound,
    Dead,
    IndirectPingReq,
    Nack,
    Ping,
    PushNodeState,
    PushPull,
    Suspect,
    User,
    encoded_size,
)
from actors.swim.suspicion import Suspicion, expected_confirmations, suspicion_timeout

ALIVE = MemberState.ALIVE
SUSPECT = MemberState.SUSPECT
DEAD = MemberState.DEAD
LEFT = MemberState.LEFT

PUSH_PULL_SCALE_THRESHOLD = 32
"""Cluster size above which push-pull slows down (memberlist's pushPullScaleThreshold)."""


def push_pull_scale(interval: float, n: int) -> float:
    """Push-pull period for a cluster of `n`: unchanged up to 32 nodes, then one more `interval` for
    every doubling, ``interval * (ceil(log2(n) - log2(32)) + 1)``, so total push-pull load stays flat."""
    if n <= PUSH_PULL_SCALE_THRESHOLD:
        return interval
    return interval * (math.ceil(math.log2(n) - math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1)


def _check_meta(meta: bytes) -> None:
    if len(meta) > META_MAX_SIZE:
        raise ValueError(f"member metadata is {len(meta)} bytes; at most {META_MAX_SIZE} are allowed")


class _Node:
    """Mutable record of one member; `Member` is its frozen public view."""

    __slots__ = ("name", "addr", "meta", "incarnation", "state", "state_change")

    def __init__(self, name: str, addr: Addr, meta: bytes, incarnation: int, state: MemberState,
                 state_change: float) -> None:
        self.name = name
        self.addr = addr
        self.meta = meta
        self.incarnation = incarnation
        self.state = state
        self.state_change = state_change

    def view(self) -> Member:
        return Member(name=self.name, addr=self.addr, state=self.state, incarnation=self.incarnation,
                      meta=self.meta, state_change=self.state_change)


class _Probe:
    """The probe in flight: at most one at a time."""

    __slots__ = ("target", "addr", "incarnation", "seq", "ack_deadline", "end", "indirect_sent",
                 "expected_nacks", "nacks")

    def __init__(self, target: _Node, seq: int, ack_deadline: float, end: float) -> None:
        self.target = target.name
        self.addr = target.addr
        self.incarnation = target.incarnation
        self.seq = seq
        self.ack_deadline = ack_deadline
        self.end = end
        self.indirect_sent = False
        self.expected_nacks = 0
        self.nacks = 0


class _Relay:
    """An indirect probe we run for someone else: relay the target's ack, or nack at the deadline."""

    __slots__ = ("source_addr", "source_seq", "nack", "deadline")

    def __init__(self, source_addr: Addr, source_seq: int, nack: bool, deadline: float) -> None:
        self.source_addr = source_addr
        self.source_seq = source_seq
        self.nack = nack
        self.deadline = deadline


class SwimCore:
    """One node's view of the cluster. See the module docstring for the theory and the shell contract."""

    def __init__(self, name: str, addr: Addr, config: SwimConfig, rng: Random, *,
                 meta: bytes = b"", incarnation: int = 0) -> None:
        problems = config.validate()
        if problems:
            raise ValueError("invalid SwimConfig: " + "; ".join(problems))
        _check_meta(meta)
        self.name = name
        self.addr = addr
        self.config = config
        self._rng = rng
        self._me = _Node(name, addr, meta, incarnation, ALIVE, 0.0)
        self._members: dict[str, _Node] = {name: self._me}
        self._probe_order: list[str] = []
        self._probe_index = 0
        self._probe: _Probe | None = None
        self._relays: dict[int, _Relay] = {}
        self._suspicions: dict[str, Suspicion] = {}
        self._recheck: dict[str, float] = {}  # suspect name -> when to re-gossip the suspicion once
        self._awareness = Awareness(config.awareness_max_multiplier)
        self._queue = TransmitLimitedQueue(config.retransmit_mult)
        self._effects: list[Effect] = []
        self._seq = 0
        self._started = False
        self._leaving = False
        self._leave_broadcast: int | None = None
        self._pending_joins: list[Addr] = []
        self._join_contacted = 0
        self._join_failed: list[Addr] = []
        self._conflicts: dict[str, Addr] = {}
        self._corrected: dict[tuple[Addr, str], float] = {}
        self._next_probe = self._next_gossip = self._next_push_pull = math.inf
        self._next_reap = self._next_reconnect = math.inf
        self._counters = dict.fromkeys(
            ("probes_sent", "probes_failed", "acks_received", "nacks_received", "indirect_probes_sent",
             "suspicions_raised", "refutes", "corrections", "packets_sent", "packets_received", "streams_sent",
             "streams_received"), 0)

    # ------------------------------------------------------------------------------------------------
    # inputs

    def join(self, now: float, seeds: list[Addr]) -> None:
        """Exchange full state with each seed over the stream path. `JoinCompleted` follows once every
        seed has answered or failed (at once if there is none to ask)."""
        self._ensure_started(now)
        self._pending_joins = []
        self._join_contacted = 0
        self._join_failed = []
        for seed in seeds:
            if seed != self.addr and seed not in self._pending_joins:
                self._pending_joins.append(seed)
        if not self._pending_joins:
            self._effects.append(JoinCompleted(contacted=0, failed=()))
            return
        state = self._local_state()
        for seed in self._pending_joins:
            self._send_stream(seed, PushPull(join=True, reply=False, states=state))

    def leave(self, now: float) -> None:
        """Broadcast that we are leaving (a `Dead` about ourselves, from ourselves) and stop probing.
        `LeaveCompleted` follows once the broadcast has been gossiped its full quota of times."""
        self._ensure_started(now)
        if self._leaving:
            return
        self._leaving = True
        self._dead_node(now, Dead(incarnation=self._me.incarnation, node=self.name, from_=self.name))
        self._probe = None
        queued = self._queue.id_of(("node", self.name))
        if queued is not None and self._gossip_candidates(now):
            self._leave_broadcast = queued
        else:
            self._effects.append(LeaveCompleted())

    def update_meta(self, now: float, meta: bytes) -> None:
        """Publish new metadata under a new incarnation. Raises ValueError above 512 bytes."""
        _check_meta(meta)
        self._ensure_started(now)
        me = self._me
        me.incarnation += 1
        me.meta = meta
        self._queue_broadcast(self.name, Alive(incarnation=me.incarnation, node=self.name, addr=self.addr,
                                               meta=meta))
        self._emit("update", me)

    def broadcast_user(self, key: str, payload: bytes) -> None:
        """Gossip an opaque payload for the layer above; a newer payload under the same key replaces an
        older one still queued."""
        self._queue_broadcast(("user", key), User(payload=payload))

    def on_packet(self, now: float, src: Addr, msg: object) -> None:
        """A datagram arrived from `src` (already decoded with ``messages.packet_decoder``)."""
        self._ensure_started(now)
        self._counters["packets_received"] += 1
        if type(msg) is Compound:
            for part in msg.parts:
                self._handle_packet(now, src, part)
        else:
            self._handle_packet(now, src, msg)

    def on_stream(self, now: float, src: Addr, msg: object) -> list[object]:
        """A message arrived on a stream from `src`: a request (answer with the returned replies) or the
        reply to one of our `SendStream` effects (returns nothing)."""
        self._ensure_started(now)
        self._counters["streams_received"] += 1
        if type(msg) is PushPull:
            if msg.reply:
                self._merge(now, msg.states)
                self._join_answered(src, ok=True)
                return []
            reply = PushPull(join=msg.join, reply=True, states=self._local_state())
            self._merge(now, msg.states)
            return [reply]
        if type(msg) is Ping:
            if msg.node and msg.node != self.name:
                return []
            return [Ack(seq=msg.seq)]
        if type(msg) is Ack:
            self._handle_ack(now, src, msg)
        return []

    def on_stream_failed(self, now: float, addr: Addr, msg: object) -> None:
        """A `SendStream` to `addr` failed or timed out. A failed fallback ping needs nothing (the probe
        round decides); a failed join exchange counts toward `JoinCompleted`."""
        self._ensure_started(now)
        if type(msg) is PushPull and msg.join:
            self._join_answered(addr, ok=False)

    def on_deadline(self, now: float) -> None:
        """Fire every timer due at `now`."""
        self._ensure_started(now)
        probe = self._probe
        if probe is not None and not probe.indirect_sent and now >= probe.ack_deadline:
            self._probe_indirect(now, probe)
        if probe is not None and now >= probe.end:
            self._probe_failed(now, probe)
        if self._relays:
            for seq in [s for s, r in self._relays.items() if r.deadline <= now]:
                self._relay_expired(seq)
        if self._recheck:
            for name in [n for n, t in self._recheck.items() if t <= now]:
                self._recheck_suspicion(name)
        if self._suspicions:
            for name in [n for n, s in self._suspicions.items() if s.deadline <= now]:
                self._suspicion_expired(now, name)
        if now >= self._next_probe:
            self._probe_tick(now)
        if now >= self._next_gossip:
            self._next_gossip = self._after(self._next_gossip, self.config.gossip_interval, now)
            self._gossip(now)
        if now >= self._next_push_pull:
            self._next_push_pull = now + push_pull_scale(self.config.push_pull_interval, len(self._members))
            self._push_pull_tick()
        if now >= self._next_reap:
            self._next_reap = self._after(self._next_reap, self.config.reap_interval, now)
            self._reap(now)
        if now >= self._next_reconnect:
            self._next_reconnect = self._after(self._next_reconnect, self.config.reconnect_interval, now)
            self._reconnect_tick()

    # ------------------------------------------------------------------------------------------------
    # outputs and views

    def next_deadline(self) -> float | None:
        """When `on_deadline` next has work; -inf before the first input (call it at once to start the
        timers)."""
        if not self._started:
            return -math.inf
        deadline = min(self._next_probe, self._next_gossip, self._next_push_pull, self._next_reap,
                       self._next_reconnect)
        probe = self._probe
        if probe is not None:
            deadline = min(deadline, probe.end if probe.indirect_sent else probe.ack_deadline)
        for relay in self._relays.values():
            deadline = min(deadline, relay.deadline)
        for suspicion in self._suspicions.values():
            deadline = min(deadline, suspicion.deadline)
        for recheck in self._recheck.values():
            deadline = min(deadline, recheck)
        return None if deadline == math.inf else deadline

    def poll(self) -> list[Effect]:
        """Drain the effects produced since the last call, in the order they must be performed."""
        effects, self._effects = self._effects, []
        return effects

    def members(self) -> list[Member]:
        """Every member not yet reaped, ourselves included, in the order we learned of them."""
        return [node.view() for node in self._members.values()]

    def member(self, name: str) -> Member | None:
        node = self._members.get(name)
        return None if node is None else node.view()

    @property
    def health_score(self) -> int:
        return self._awareness.score

    @property
    def incarnation(self) -> int:
        return self._me.incarnation

    def statistics(self) -> SwimStats:
        counts = dict.fromkeys(MemberState, 0)
        for node in self._members.values():
            counts[node.state] += 1
        return SwimStats(alive=counts[ALIVE], suspect=counts[SUSPECT], dead=counts[DEAD], left=counts[LEFT],
                         health_score=self._awareness.score, incarnation=self._me.incarnation,
                         broadcast_queue=len(self._queue), **self._counters)

    # ------------------------------------------------------------------------------------------------
    # timers

    def _ensure_started(self, now: float) -> None:
        if self._started:
            return
        self._started = True
        cfg, rng = self.config, self._rng
        self._me.state_change = now
        # Random phases, as memberlist staggers its tickers, so that nodes started together do not
        # probe and gossip in lockstep.
        self._next_probe = now + rng.random() * cfg.probe_interval
        self._next_gossip = now + rng.random() * cfg.gossip_interval
        if cfg.push_pull_interval > 0:
            self._next_push_pull = now + rng.random() * cfg.push_pull_interval
        self._next_reap = now + cfg.reap_interval
        if cfg.reconnect_interval > 0:
            self._next_reconnect = now + cfg.reconnect_interval
        self._emit("join", self._me)

    @staticmethod
    def _after(previous: float, interval: float, now: float) -> float:
        """The next tick of a fixed-period timer, skipping periods missed while we were not called."""
        following = previous + interval
        if following <= now:
            following = previous + interval * (math.floor((now - previous) / interval) + 1)
        return following

    # ------------------------------------------------------------------------------------------------
    # probing

    def _probe_tick(self, now: float) -> None:
        cfg = self.config
        target = None if self._leaving else self._next_probe_target()
        if target is None:
            self._next_probe = now + cfg.probe_interval
            return
        scale = self._awareness.score + 1 if cfg.lha_probe else 1
        self._seq += 1
        probe = _Probe(target, self._seq, now + cfg.probe_timeout * scale, now + cfg.probe_interval * scale)
        self._probe = probe
        self._next_probe = probe.end
        self._counters["probes_sent"] += 1
        ping = Ping(seq=probe.seq, node=target.name, source_node=self.name, source_addr=self.addr)
        if target.state is SUSPECT and cfg.buddy_system:
            # The suspicion goes first, so the target has refuted by the time it reads the ping, and
            # its refutation rides back on the ack.
            buddy = Suspect(incarnation=target.incarnation, node=target.name, from_=self.name)
            self._send_packet(target.addr, [buddy, ping])
        else:
            self._send_packet(target.addr, [ping])

    def _next_probe_target(self) -> _Node | None:
        order = self._probe_order
        for _ in range(len(self._members) + 1):
            if self._probe_index >= len(order):
                order = self._reset_probe_order()
                if not order:
                    return None
            name = order[self._probe_index]
            self._probe_index += 1
            node = self._members.get(name)
            if node is not None and (node.state is ALIVE or node.state is SUSPECT):
                return node
        return None

    def _reset_probe_order(self) -> list[str]:
        order = [name for name in self._members if name != self.name]
        self._rng.shuffle(order)
        self._probe_order = order
        self._probe_index = 0
        return order

    def _probe_indirect(self, now: float, probe: _Probe) -> None:
        cfg = self.config
        probe.indirect_sent = True
        helpers = self._random_members(
            cfg.indirect_checks,
            lambda n: n.state is ALIVE and n.name != probe.target and n.name != self.name,
        )
        for helper in helpers:
            if cfg.lha_probe:
                probe.expected_nacks += 1
            self._counters["indirect_probes_sent"] += 1
            self._send_packet(helper.addr, [IndirectPingReq(
                seq=probe.seq, target=probe.addr, node=probe.target, nack=cfg.lha_probe,
                source_node=self.name, source_addr=self.addr)])
        if cfg.tcp_fallback_ping:
            self._send_stream(probe.addr, Ping(seq=probe.seq, node=probe.target, source_node=self.name,
                                               source_addr=self.addr))

    def _probe_failed(self, now: float, probe: _Probe) -> None:
        self._probe = None
        self._counters["probes_failed"] += 1
        if self.config.lha_probe:
            # Missing nacks mean our helpers could not hear us or we could not hear them: likely our
            # fault. With no helpers to vouch for us, any failed probe counts against us.
            if probe.expected_nacks > 0:
                self._awareness.apply_delta(max(0, probe.expected_nacks - probe.nacks))
            else:
                self._awareness.apply_delta(1)
        self._suspect_node(now, Suspect(incarnation=probe.incarnation, node=probe.target, from_=self.name))

    def _probe_succeeded(self) -> None:
        self._probe = None
        self._counters["acks_received"] += 1
        if self.config.lha_probe:
            self._awareness.apply_delta(-1)

    def _relay_expired(self, seq: int) -> None:
        relay = self._relays.pop(seq)
        if relay.nack:
            self._send_packet(relay.source_addr, [Nack(seq=relay.source_seq)])

    # ------------------------------------------------------------------------------------------------
    # packet handlers

    def _handle_packet(self, now: float, src: Addr, msg: object) -> None:
        kind = type(msg)
        if kind is Ping:
            self._handle_ping(src, msg)
        elif kind is Ack:
            self._handle_ack(now, src, msg)
        elif kind is Alive:
            self._alive_node(now, msg)
        elif kind is Suspect:
            self._suspect_node(now, msg, src)
        elif kind is Dead:
            self._dead_node(now, msg, src)
        elif kind is IndirectPingReq:
            self._handle_indirect_ping(now, src, msg)
        elif kind is Nack:
            probe = self._probe
            if probe is not None and msg.seq == probe.seq:
                probe.nacks += 1
                self._counters["nacks_received"] += 1
        elif kind is User:
            self._effects.append(UserMessage(payload=msg.payload))
        # Anything else (a nested Compound, a stream-only message) is ignored.

    def _handle_ping(self, src: Addr, ping: Ping) -> None:
        if ping.node and ping.node != self.name:
            return  # meant for whoever had this address before us
        self._send_packet(src, [Ack(seq=ping.seq)])

    def _handle_ack(self, now: float, src: Addr, ack: Ack) -> None:
        probe = self._probe
        if probe is not None and ack.seq == probe.seq:
            self._probe_succeeded()
            return
        relay = self._relays.pop(ack.seq, None)
        if relay is not None:
            self._send_packet(relay.source_addr, [Ack(seq=relay.source_seq)])

    def _handle_indirect_ping(self, now: float, src: Addr, req: IndirectPingReq) -> None:
        self._seq += 1
        deadline = now + self.config.probe_timeout * self.config.nack_timeout_ratio
        self._relays[self._seq] = _Relay(src, req.seq, req.nack, deadline)
        self._send_packet(req.target, [Ping(seq=self._seq, node=req.node, source_node=self.name,
                                            source_addr=self.addr)])

    # ------------------------------------------------------------------------------------------------
    # state transitions (memberlist's aliveNode / suspectNode / deadNode / refute)

    def _alive_node(self, now: float, a: Alive, *, bootstrap: bool = False) -> None:
        if self._leaving and a.node == self.name:
            return
        node = self._members.get(a.node)
        if node is None:
            node = _Node(a.node, a.addr, a.meta, a.incarnation, ALIVE, now)
            self._members[a.node] = node
            self._insert_probe_target(a.node)
            self._queue_broadcast(a.node, a)
            self._emit("join", node)
            return
        is_self = node is self._me
        updates_addr = False
        if node.addr != a.addr:
            reclaimable = (self.config.dead_node_reclaim_time > 0
                           and now - node.state_change > self.config.dead_node_reclaim_time)
            if node.state is LEFT or (node.state is DEAD and reclaimable):
                updates_addr = True
            else:
                if self._conflicts.get(a.node) != a.addr:
                    self._conflicts[a.node] = a.addr
                    self._effects.append(NameConflict(existing=node.view(), claimant_addr=a.addr,
                                                      claimant_incarnation=a.incarnation))
                return
        if is_self:
            if a.incarnation < node.incarnation:
                return
            if not bootstrap:
                if a.incarnation == node.incarnation and a.meta == node.meta:
                    return
                self._refute(a.incarnation)
                return
        elif a.incarnation <= node.incarnation and not updates_addr:
            return
        self._suspicions.pop(a.node, None)
        self._recheck.pop(a.node, None)
        self._queue_broadcast(a.node, a)
        old_state, old_meta, old_addr = node.state, node.meta, node.addr
        node.incarnation, node.meta, node.addr = a.incarnation, a.meta, a.addr
        if updates_addr:
            self._conflicts.pop(a.node, None)
        if old_state is not ALIVE:
            node.state = ALIVE
            node.state_change = now
        if old_state is DEAD or old_state is LEFT:
            self._emit("join", node)
        elif old_state is SUSPECT:
            self._emit("alive", node)
            if old_meta != a.meta:
                self._emit("update", node)
        elif old_meta != a.meta or old_addr != a.addr:
            self._emit("update", node)

    def _suspect_node(self, now: float, s: Suspect, src: Addr | None = None) -> None:
        node = self._members.get(s.node)
        if node is None:
            return
        if s.incarnation < node.incarnation:
            if src is not None and node.state is ALIVE and self.config.correct_stale_gossip:
                self._correct_stale(now, src, node)
            return
        suspicion = self._suspicions.get(s.node)
        if suspicion is not None:
            if self.config.lha_suspicion and suspicion.confirm(s.from_):
                self._queue_broadcast(s.node, s)  # pass the confirmation on
            return
        if node.state is not ALIVE:
            return
        if node is self._me:
            self._refute(s.incarnation)
            return
        self._queue_broadcast(s.node, s)
        node.incarnation = s.incarnation
        node.state = SUSPECT
        node.state_change = now
        cfg = self.config
        n = len(self._members)
        min_timeout = suspicion_timeout(cfg.suspicion_mult, n, cfg.probe_interval)
        if cfg.lha_suspicion:
            k = expected_confirmations(cfg.suspicion_mult, n)
            max_timeout = cfg.suspicion_max_timeout_mult * min_timeout
        else:
            k, max_timeout = 0, min_timeout
        self._suspicions[s.node] = Suspicion(now, s.from_, k, min_timeout, max_timeout)
        if cfg.correct_stale_gossip:
            self._recheck[s.node] = now + min_timeout / 2
        if s.from_ == self.name:
            self._counters["suspicions_raised"] += 1
        self._emit("suspect", node)

    def _recheck_suspicion(self, name: str) -> None:
        """Halfway to the minimum timeout, gossip a suspicion we still hold once more, under its original
        accuser so that it counts as no new confirmation. Anyone who has since seen the suspect refute
        answers with the newer `Alive` (`_correct_stale`): a node that missed the refutation's whole
        epidemic learns of it before declaring a live member dead. Part of ``correct_stale_gossip``."""
        del self._recheck[name]
        suspicion = self._suspicions.get(name)
        node = self._members.get(name)
        if suspicion is None or node is None or node.state is not SUSPECT:
            return
        self._queue_broadcast(name, Suspect(incarnation=node.incarnation, node=name,
                                            from_=suspicion.confirmers[0]))

    def _suspicion_expired(self, now: float, name: str) -> None:
        self._suspicions.pop(name)
        self._recheck.pop(name, None)
        node = self._members[name]
        self._dead_node(now, Dead(incarnation=node.incarnation, node=name, from_=self.name))

    def _dead_node(self, now: float, d: Dead, src: Addr | None = None) -> None:
        node = self._members.get(d.node)
        if node is None:
            return
        if d.incarnation < node.incarnation:
            if src is not None and node.state is ALIVE and self.config.correct_stale_gossip:
                self._correct_stale(now, src, node)
            return
        self._suspicions.pop(d.node, None)
        self._recheck.pop(d.node, None)
        if node.state is DEAD or node.state is LEFT:
            return
        if node is self._me and not self._leaving:
            self._refute(d.incarnation)
            return
        self._queue_broadcast(d.node, d)
        node.incarnation = d.incarnation
        node.state = LEFT if d.node == d.from_ else DEAD
        node.state_change = now
        self._emit("left" if node.state is LEFT else "failed", node)

    def _refute(self, accused_incarnation: int) -> None:
        me = self._me
        me.incarnation = max(me.incarnation, accused_incarnation) + 1
        self._counters["refutes"] += 1
        if self.config.lha_probe:
            self._awareness.apply_delta(1)
        self._queue_broadcast(self.name, Alive(incarnation=me.incarnation, node=self.name, addr=self.addr,
                                               meta=me.meta))

    def _correct_stale(self, now: float, src: Addr, node: _Node) -> None:
        """`src` just gossiped a suspicion or death of `node` older than the alive incarnation we hold.
        A sender's queue drops such a message the moment it accepts the newer alive, so the sender has
        missed a refutation, and may declare a healthy member dead when its suspicion runs out. Send it
        our `Alive` straight away, at most once per probe interval per (sender, member).

        Not in memberlist, which leaves this to the next push-pull; in a 50-node simulation with 10 %
        loss on every link it removes the rare node that misses a refutation's whole epidemic."""
        key = (src, node.name)
        if now - self._corrected.get(key, -math.inf) < self.config.probe_interval:
            return
        self._corrected[key] = now
        self._counters["corrections"] += 1
        self._send_packet(src, [Alive(incarnation=node.incarnation, node=node.name, addr=node.addr,
                                      meta=node.meta)])

    def _insert_probe_target(self, name: str) -> None:
        # Insert at a random position (append, then swap with a random slot), as memberlist does; always
        # appending would let a new member wait a whole round to be probed.
        order = self._probe_order
        order.append(name)
        i = self._rng.randrange(len(order))
        order[i], order[-1] = order[-1], order[i]

    # ------------------------------------------------------------------------------------------------
    # push-pull

    def _local_state(self) -> tuple[PushNodeState, ...]:
        return tuple(
            PushNodeState(name=n.name, addr=n.addr, incarnation=n.incarnation, state=n.state.value, meta=n.meta)
            for n in self._members.values()
        )

    def _merge(self, now: float, states: tuple[PushNodeState, ...]) -> None:
        for r in states:
            if r.state == "alive":
                self._alive_node(now, Alive(incarnation=r.incarnation, node=r.name, addr=r.addr, meta=r.meta))
            elif r.state == "left":
                self._dead_node(now, Dead(incarnation=r.incarnation, node=r.name, from_=r.name))
            else:
                # A remote "dead" only makes us suspect: one node's opinion never kills a member here.
                self._suspect_node(now, Suspect(incarnation=r.incarnation, node=r.name, from_=self.name))

    def _push_pull_tick(self) -> None:
        if self._leaving:
            return
        peers = self._random_members(1, lambda n: n.state is ALIVE and n is not self._me)
        if peers:
            self._send_stream(peers[0].addr, PushPull(join=False, reply=False, states=self._local_state()))

    def _join_answered(self, addr: Addr, *, ok: bool) -> None:
        if addr not in self._pending_joins:
            return
        self._pending_joins.remove(addr)
        if ok:
            self._join_contacted += 1
        else:
            self._join_failed.append(addr)
        if not self._pending_joins:
            self._effects.append(JoinCompleted(contacted=self._join_contacted, failed=tuple(self._join_failed)))

    # ------------------------------------------------------------------------------------------------
    # gossip, reaping, reconnecting

    def _gossip_candidates(self, now: float) -> list[_Node]:
        horizon = self.config.gossip_to_the_dead_time
        return [n for n in self._members.values()
                if n is not self._me and (n.state is ALIVE or n.state is SUSPECT
                                          or (n.state is DEAD and now - n.state_change <= horizon))]

    def _gossip(self, now: float) -> None:
        if self._queue:
            candidates = self._gossip_candidates(now)
            targets = self._rng.sample(candidates, min(self.config.gossip_nodes, len(candidates)))
            budget = self.config.udp_buffer_size - COMPOUND_OVERHEAD
            for target in targets:
                parts = self._queue.get_broadcasts(0, budget, len(self._members))
                if not parts:
                    break
                msg = parts[0] if len(parts) == 1 else Compound(parts=tuple(parts))
                self._counters["packets_sent"] += 1
                self._effects.append(SendPacket(addr=target.addr, msg=msg))
        if self._leave_broadcast is not None and not self._queue.is_pending(self._leave_broadcast):
            self._leave_broadcast = None
            self._effects.append(LeaveCompleted())

    def _reap(self, now: float) -> None:
        cfg = self.config
        if self._corrected:
            horizon = now - cfg.probe_interval
            self._corrected = {k: t for k, t in self._corrected.items() if t > horizon}
        expired = [n for n in self._members.values()
                   if (n.state is DEAD and now - n.state_change > cfg.reconnect_timeout)
                   or (n.state is LEFT and now - n.state_change > cfg.tombstone_timeout and n is not self._me)]
        for node in expired:
            del self._members[node.name]
            self._conflicts.pop(node.name, None)
            self._emit("reaped", node)

    def _reconnect_tick(self) -> None:
        """Serf's reconnect: with probability failed/alive, push-pull with one random failed member, so a
        member declared dead across a healed partition hears of it and refutes."""
        if self._leaving:
            return
        failed = [n for n in self._members.values() if n.state is DEAD]
        if not failed:
            return
        alive = sum(1 for n in self._members.values() if n.state is ALIVE)
        if self._rng.random() > len(failed) / max(1, alive):
            return
        target = self._rng.choice(failed)
        self._send_stream(target.addr, PushPull(join=False, reply=False, states=self._local_state()))

    # ------------------------------------------------------------------------------------------------
    # plumbing

    def _random_members(self, k: int, keep) -> list[_Node]:
        candidates = [n for n in self._members.values() if keep(n)]
        if len(candidates) <= k:
            self._rng.shuffle(candidates)
            return candidates
        return self._rng.sample(candidates, k)

    def _queue_broadcast(self, key, msg) -> int:
        return self._queue.queue(("node", key) if isinstance(key, str) else key, msg, encoded_size(msg))

    def _send_packet(self, addr: Addr, parts: list) -> None:
        """Send `parts` to `addr` as one datagram, filling what is left of the budget with broadcasts."""
        if self._queue:
            used = sum(encoded_size(p) for p in parts)
            budget = self.config.udp_buffer_size - COMPOUND_OVERHEAD - used
            parts = parts + self._queue.get_broadcasts(0, budget, len(self._members))
        msg = parts[0] if len(parts) == 1 else Compound(parts=tuple(parts))
        self._counters["packets_sent"] += 1
        self._effects.append(SendPacket(addr=addr, msg=msg))

    def _send_stream(self, addr: Addr, msg) -> None:
        self._counters["streams_sent"] += 1
        self._effects.append(SendStream(addr=addr, msg=msg))

    def _emit(self, kind: MemberEventKind, node: _Node) -> None:
        self._effects.append(MemberEvent(kind=kind, member=node.view()))
