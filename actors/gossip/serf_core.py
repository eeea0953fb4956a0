"""Serf over SWIM, sans-IO: member statuses and tags, Lamport-ordered intents, user events, queries.

Theory of operation
-------------------
`SerfCore` wraps one `SwimCore` the way hashicorp/serf wraps memberlist. Every input goes to the SWIM core
first; its effects are then *absorbed*: sends pass through (push-pulls gain Serf's `PushState` in
``user_state``), member events update the `MemberTable`, and ``User`` payloads are decoded as Serf
broadcasts. A broadcast that is news is re-queued for gossip under a key (the member for intents, the
(time, name, payload) for events, the id for queries), so it spreads epidemically and a newer intent about
the same member supersedes an older one still queued.

Three Lamport clocks order three streams, as in Serf, and all start at 1 so time 0 never wins:
membership intents, user events (de-duplicated by the `EventBuffer`; on join, events older than the
cluster's event time are ignored, as Consul joins with ignore-old), and queries.

*Leave.* A graceful leave queues a leave intent, then SWIM's leave (a ``Dead`` about ourselves): others
see *leaving*, then *left*. ``force_leave`` broadcasts a leave intent for someone else: a failed member
becomes *left* everywhere (``prune`` forgets it); an alive one refutes with a newer join intent.

*Name conflicts.* If, while joining, the cluster reports another live address under our name, the join is
undone: the SWIM core and member table are rebuilt with only ourselves, and `JoinResult.conflict` says
why. Conflicts seen at any other time are reported (`NameClash`) and SWIM keeps the existing member.

*Queries.* A query is gossiped like an event; every member answers the origin directly (`SendDirect`).
Only internal queries are answered: the keyring operations (``_serf_*-key``) applied to this node's
keyring. The origin completes a query when every member alive at its start has answered, or at
``gossip_interval * 16 * ceil(log10(N + 1))``.

Contract with the shell: as for `SwimCore` (inputs carry ``now``; drain `poll` after each; sleep until
`next_deadline`), with `SendDirect` sent as a datagram and the other effects documented in
``serf_effects``.

What must never live here: clocks, sockets, trio, encoding beyond the Serf messages, or Consul's
event format (``events``).
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator

import msgspec

from actors.gossip.coalesce import UserEventCoalescer
from actors.gossip.crypto import Keyring, KeyringError, decode_key
from actors.gossip.members import SerfMember
from actors.gossip.membership import MemberTable
from actors.gossip.queries import QUERY_BUFFER, QUERY_TIMEOUT_MULT, QueryTracker, SeenQueries, query_timeout
from actors.gossip.serf_effects import (JoinResult, KeyringChanged, NameClash, QueryDone, SendDirect, SerfEffect,
                                        UserEventDelivered)
from actors.gossip.serf_messages import (JoinIntent, KeyringReply, LeaveIntent, PushState, QueryMsg,
                                         QueryResponse, decode_broadcast, decode_push_state, encode)
from actors.swim.config import SwimConfig
from actors.swim.core import SwimCore
from actors.swim.effects import (JoinCompleted, LeaveCompleted, MemberEvent, NameConflict, SendPacket, SendStream,
                                 UserMessage)
from actors.swim.messages import Addr, PushPull
from actors.swim.serf import EVENT_BUFFER_SIZE, USER_EVENT_SIZE_LIMIT, EventBuffer, LamportClock, UserEventMsg
from actors.swim.serf import check_user_event, encode_tags

KEYRING_QUERIES = {"_serf_list-keys": "list", "_serf_install-key": "install", "_serf_use-key": "use",
                   "_serf_remove-key": "remove"}


class SerfConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Serf settings the core uses; defaults are Serf's ``DefaultConfig``."""

    event_buffer: int = EVENT_BUFFER_SIZE
    query_buffer: int = QUERY_BUFFER
    query_timeout_mult: int = QUERY_TIMEOUT_MULT
    user_event_size_limit: int = USER_EVENT_SIZE_LIMIT
    # Serf UserCoalescePeriod / UserQuiescentPeriod: 0 delivers coalescable events at once.
    user_coalesce_period: float = 0.0
    user_quiescent_period: float = 0.0
    recent_intent_timeout: float = 300.0


class SerfCore:
    """One node's Serf. See the module docstring."""

    def __init__(self, name: str, addr: Addr, swim_config: SwimConfig, rng: Random, *,
                 tags: dict[str, str], keyring: Keyring | None = None, config: SerfConfig | None = None) -> None:
        self.name = name
        self.addr = addr
        self.config = config or SerfConfig()
        self.keyring = keyring
        self._swim_config = swim_config
        self._rng = rng
        self._meta = encode_tags(tags)
        self.swim = SwimCore(name, addr, swim_config, rng, meta=self._meta)
        self.table = MemberTable(name, self.config.recent_intent_timeout)
        self.clock = LamportClock(1)
        self.event_clock = LamportClock(1)
        self.query_clock = LamportClock(1)
        self._events = EventBuffer(self.event_clock, self.config.event_buffer)
        self._seen_queries = SeenQueries(self.config.query_buffer)
        self._tracker = QueryTracker()
        self._coalescer = UserEventCoalescer(self.config.user_coalesce_period, self.config.user_quiescent_period)
        self._effects: list[SerfEffect] = []
        self._leaving = False
        self._left = False
        self._joining = False
        self._join_conflict: Addr | None = None
        self._join_done: JoinCompleted | None = None
        self.counters = dict.fromkeys(("bad_broadcasts", "bad_push_states", "events_received", "events_delivered",
                                       "queries_answered", "intents_refuted", "name_conflicts"), 0)

    # ------------------------------------------------------------------------------------------------
    # inputs

    def join(self, now: float, seeds: list[Addr]) -> None:
        self._joining = True
        self._join_conflict = None
        self.swim.join(now, seeds)
        self._after(now)

    def leave(self, now: float) -> None:
        if self._leaving:
            return
        self._leaving = True
        ltime = self._tick(self.clock)
        self.table.leave_intent(now, ltime, self.name, False, self_leaving=True)
        self.swim.broadcast_user(("intent", self.name), encode(LeaveIntent(ltime=ltime, node=self.name)))
        self.swim.leave(now)
        self._after(now)
        if not self._left:
            self.table.set_own_status("leaving")

    def force_leave(self, now: float, node: str, prune: bool = False) -> None:
        """Broadcast a leave intent for `node`. Raises KeyError if no such member is known."""
        if self.table.get(node) is None:
            raise KeyError(node)
        ltime = self._tick(self.clock)
        outcome = self.table.leave_intent(now, ltime, node, prune, self_leaving=self._leaving)
        if outcome == "refute":
            self._broadcast_join_intent(now)
        else:
            self.swim.broadcast_user(("intent", node), encode(LeaveIntent(ltime=ltime, node=node, prune=prune)))
        self._after(now)

    def fire(self, now: float, name: str, payload: bytes, coalesce: bool = False) -> int:
        """Gossip a user event; returns its Lamport time. Raises ValueError above the size limit."""
        check_user_event(name, payload, self.config.user_event_size_limit)
        ltime = self._tick(self.event_clock)
        raw = encode(UserEventMsg(ltime=ltime, name=name, payload=payload, coalesce=coalesce))
        self._on_user_event(now, ltime, name, payload, coalesce, raw)
        self._after(now)
        return ltime

    def query(self, now: float, name: str, payload: bytes, timeout: float | None = None) -> int:
        """Ask every member; `QueryDone` follows. Returns the query id."""
        ltime = self._tick(self.query_clock)
        qid = self._rng.getrandbits(32)
        members = self.table.members()
        expected = {m.name for m in members if m.status == "alive"} | {self.name}
        if timeout is None:
            timeout = query_timeout(self._swim_config.gossip_interval, len(members), self.config.query_timeout_mult)
        self._tracker.start(qid, name, expected, now + timeout)
        msg = QueryMsg(ltime=ltime, id=qid, origin=self.name, addr=self.addr, name=name, payload=payload)
        self._on_query(now, msg, encode(msg))
        self._after(now)
        return qid

    def on_packet(self, now: float, src: Addr, msg: object) -> None:
        if type(msg) is QueryResponse:
            self._on_response(msg)
        else:
            self.swim.on_packet(now, src, msg)
        self._after(now)

    def on_stream(self, now: float, src: Addr, msg: object) -> list[object]:
        replies = self.swim.on_stream(now, src, msg)
        reset = self._absorb(now)
        if not reset and type(msg) is PushPull and msg.user_state:
            self._merge_push_state(now, msg.user_state, join=msg.join and msg.reply)
        self._after(now)
        return [self._with_state(r) for r in replies]

    def on_stream_failed(self, now: float, addr: Addr, msg: object) -> None:
        self.swim.on_stream_failed(now, addr, msg)
        self._after(now)

    def on_deadline(self, now: float) -> None:
        self.swim.on_deadline(now)
        for result in self._tracker.expire(now):
            self._effects.append(QueryDone(result=result))
        for ltime, name, payload in self._coalescer.due(now):
            self._deliver(ltime, name, payload)
        self._after(now)

    # ------------------------------------------------------------------------------------------------
    # outputs and views

    def next_deadline(self) -> float | None:
        deadline = self.swim.next_deadline()
        for other in (self._tracker.deadline(), self._coalescer.deadline()):
            if other is not None:
                deadline = other if deadline is None else min(deadline, other)
        return deadline

    def poll(self) -> list[SerfEffect]:
        effects, self._effects = self._effects, []
        return effects

    def members(self) -> list[SerfMember]:
        return self.table.members()

    def member(self, name: str) -> SerfMember | None:
        return self.table.get(name)

    @property
    def leaving(self) -> bool:
        return self._leaving

    def take_dirty(self) -> bool:
        """True once after any visible change to the member list."""
        dirty, self.table.dirty = self.table.dirty, False
        return dirty

    def statistics(self) -> dict[str, int | str | bool]:
        swim = self.swim.statistics()
        counts = self.table.counts()
        return {
            "members": sum(counts.values()), **counts,
            "suspect": swim.suspect, "health_score": swim.health_score, "incarnation": swim.incarnation,
            "member_time": self.clock.time(), "event_time": self.event_clock.time(),
            "query_time": self.query_clock.time(), "intent_queue": self.table.intent_queue,
            "broadcast_queue": swim.broadcast_queue, "encrypted": self.keyring is not None,
            "probes_sent": swim.probes_sent, "probes_failed": swim.probes_failed, "refutes": swim.refutes,
            **self.counters,
        }

    # ------------------------------------------------------------------------------------------------
    # absorbing the SWIM core's effects

    def _after(self, now: float) -> None:
        self._absorb(now)
        done, self._join_done = self._join_done, None
        if done is not None:
            self._finish_join(now, done)
            self._absorb(now)

    def _absorb(self, now: float) -> bool:
        """Translate the SWIM core's effects; True if a refused join rebuilt the core meanwhile."""
        reset = False
        while effects := self.swim.poll():
            for eff in effects:
                kind = type(eff)
                if kind is SendPacket:
                    self._effects.append(eff)
                elif kind is SendStream:
                    self._effects.append(SendStream(addr=eff.addr, msg=self._with_state(eff.msg)))
                elif kind is MemberEvent:
                    self.table.on_swim_event(now, eff.kind, eff.member)
                elif kind is UserMessage:
                    self._on_broadcast(now, eff.payload)
                elif kind is NameConflict:
                    self._on_conflict(eff)
                elif kind is JoinCompleted:
                    self._join_done = eff
                    if self._join_conflict is not None:
                        self._finish_join(now, eff)
                        reset = True
                        break
                elif kind is LeaveCompleted:
                    self._left = True
                    self.table.set_own_status("left")
                    self._effects.append(eff)
        return reset

    def _with_state(self, msg: object) -> object:
        if type(msg) is PushPull:
            return msgspec.structs.replace(msg, user_state=encode(self._push_state()))
        return msg

    def _on_conflict(self, eff: NameConflict) -> None:
        about_us = eff.existing.name == self.name
        self.counters["name_conflicts"] += 1
        if about_us and self._joining:
            self._join_conflict = eff.claimant_addr
        self._effects.append(NameClash(name=eff.existing.name, kept=eff.existing.addr, claimant=eff.claimant_addr,
                                       about_us=about_us))

    def _finish_join(self, now: float, done: JoinCompleted) -> None:
        self._joining = False
        self._join_done = None
        other, self._join_conflict = self._join_conflict, None
        if other is not None:
            self._rebuild(now)
            reason = (f"Member '{self.name}' has conflicting node name: another live member at "
                      f"{other[0]}:{other[1]} already uses it (give this agent another -node name)")
            self._effects.append(JoinResult(contacted=0, failed=done.failed, conflict=reason))
            return
        if done.contacted > 0:
            self._broadcast_join_intent(now)
        self._effects.append(JoinResult(contacted=done.contacted, failed=done.failed))

    def _rebuild(self, now: float) -> None:
        """Forget the cluster: a fresh SWIM core and member table with only ourselves."""
        self.swim.poll()
        self.swim = SwimCore(self.name, self.addr, self._swim_config, self._rng, meta=self._meta)
        self.table = MemberTable(self.name, self.config.recent_intent_timeout)
        self.table.dirty = True
        self.swim.on_deadline(now)
        self._absorb(now)

    # ------------------------------------------------------------------------------------------------
    # Serf broadcasts

    def _on_broadcast(self, now: float, payload: bytes) -> None:
        try:
            msg = decode_broadcast(payload)
        except msgspec.DecodeError:
            self.counters["bad_broadcasts"] += 1
            return
        kind = type(msg)
        if kind is UserEventMsg:
            self._on_user_event(now, msg.ltime, msg.name, msg.payload, msg.coalesce, payload)
        elif kind is LeaveIntent:
            self.clock.witness(msg.ltime)
            outcome = self.table.leave_intent(now, msg.ltime, msg.node, msg.prune, self_leaving=self._leaving)
            if outcome == "apply":
                self.swim.broadcast_user(("intent", msg.node), payload)
            elif outcome == "refute":
                self.counters["intents_refuted"] += 1
                self._broadcast_join_intent(now)
        elif kind is JoinIntent:
            self.clock.witness(msg.ltime)
            if self.table.join_intent(now, msg.ltime, msg.node) == "apply":
                self.swim.broadcast_user(("intent", msg.node), payload)
        elif kind is QueryMsg:
            self._on_query(now, msg, payload)

    def _broadcast_join_intent(self, now: float) -> None:
        ltime = self._tick(self.clock)
        self.table.join_intent(now, ltime, self.name)
        self.swim.broadcast_user(("intent", self.name), encode(JoinIntent(ltime=ltime, node=self.name)))

    def _on_user_event(self, now: float, ltime: int, name: str, payload: bytes, coalesce: bool,
                       raw: bytes | None) -> None:
        if not self._events.observe(ltime, name, payload):
            return
        self.counters["events_received"] += 1
        if raw is None:
            raw = encode(UserEventMsg(ltime=ltime, name=name, payload=payload, coalesce=coalesce))
        self.swim.broadcast_user(("event", ltime, name, payload), raw)
        for event in self._coalescer.add(now, (ltime, name, payload), coalesce):
            self._deliver(*event)

    def _deliver(self, ltime: int, name: str, payload: bytes) -> None:
        self.counters["events_delivered"] += 1
        self._effects.append(UserEventDelivered(ltime=ltime, name=name, payload=payload))

    # ------------------------------------------------------------------------------------------------
    # push-pull state

    def _push_state(self) -> PushState:
        return PushState(ltime=self.clock.time(), status_ltimes=self.table.status_ltimes(),
                         left=self.table.left_names(), event_ltime=self.event_clock.time(),
                         events=self._events.recent(), query_ltime=self.query_clock.time())

    def _merge_push_state(self, now: float, raw: bytes, *, join: bool) -> None:
        try:
            state = decode_push_state(raw)
        except msgspec.DecodeError:
            self.counters["bad_push_states"] += 1
            return
        self.clock.witness(max(0, state.ltime - 1))
        left = set(state.left)
        for name, ltime in state.status_ltimes.items():
            if name in left:
                if self.table.leave_intent(now, ltime, name, False, self_leaving=self._leaving) == "refute":
                    self.counters["intents_refuted"] += 1
                    self._broadcast_join_intent(now)
            else:
                self.table.join_intent(now, ltime, name)
        if join:
            self._events.ignore_before(state.event_ltime)
        self.event_clock.witness(max(0, state.event_ltime - 1))
        for ltime, name, payload in state.events:
            self._on_user_event(now, ltime, name, payload, False, None)
        self.query_clock.witness(max(0, state.query_ltime - 1))

    # ------------------------------------------------------------------------------------------------
    # queries

    def _on_query(self, now: float, q: QueryMsg, raw: bytes) -> None:
        self.query_clock.witness(q.ltime)
        if not self._seen_queries.first_time(q.ltime, q.id):
            return
        self.swim.broadcast_user(("query", q.ltime, q.id), raw)
        answer = self._answer(q)
        if answer is None:
            return
        self.counters["queries_answered"] += 1
        response = QueryResponse(ltime=q.ltime, id=q.id, from_=self.name, payload=answer)
        if q.origin == self.name:
            self._on_response(response)
        else:
            self._effects.append(SendDirect(addr=q.addr, msg=response))

    def _on_response(self, response: QueryResponse) -> None:
        result = self._tracker.answer(response.id, response.from_, response.payload)
        if result is not None:
            self._effects.append(QueryDone(result=result))

    def _answer(self, q: QueryMsg) -> bytes | None:
        op = KEYRING_QUERIES.get(q.name)
        if op is None:
            return None
        return encode(self._keyring_op(op, q.payload.decode("utf-8", "replace")))

    def _keyring_op(self, op: str, key_text: str) -> KeyringReply:
        keyring = self.keyring
        if keyring is None:
            return KeyringReply(ok=False, message="No keyring to modify (encryption not enabled)")
        before = keyring.version
        try:
            if op != "list":
                key = decode_key(key_text)
                if op == "install":
                    keyring.install(key)
                elif op == "use":
                    keyring.use(key)
                else:
                    keyring.remove(key)
        except KeyringError as err:
            return KeyringReply(ok=False, message=str(err), keys=keyring.strings(), primary=keyring.strings()[0])
        if keyring.version != before:
            self._effects.append(KeyringChanged())
        keys = keyring.strings()
        return KeyringReply(ok=True, keys=keys, primary=keys[0])

    @staticmethod
    def _tick(clock: LamportClock) -> int:
        """Serf stamps with the current time, then advances the clock."""
        ltime = clock.time()
        clock.increment()
        return ltime
