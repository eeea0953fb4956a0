"""The Trio shell of one gossip pool: feeds a `SerfCore` from the network and performs its effects.

The loop, as the core's contract asks::

    with trio.move_on_at(core.next_deadline()): item = receive from the pool's input channel
    feed it (datagram, stream request or answer, command), then drain what else is queued (bounded)
    core.on_deadline(now); perform every effect of core.poll(); publish the member list if it changed

Effects: ``SendPacket``/``SendDirect`` are encoded (sealed with the pool's key), checked against the 1400-byte
budget and sent through the pool's UDP endpoint; ``SendStream`` starts a short TCP exchange in this actor's
nursery whose answers (or failure, with its reason) come back through the input channel. Undecodable,
unencrypted-when-it-must-be or undecryptable datagrams are counted by reason and dropped with a rate-limited
warning; nothing a peer sends can crash the loop.

Commands from the facade are answered when the core says so: a join on `JoinResult` (joins run one at a
time; the errors name each address as the user wrote it, with the reason its exchange failed), a leave
on ``LeaveCompleted``, a query on `QueryDone`.

A fresh shell (first start or restart) builds a fresh core from the pool state's settings and a seeded
stream; after a restart it rejoins the peers it last knew, as Serf's snapshot does.

What must never live here: protocol decisions (``serf_core``), encoding details (``wire``) or HTTP.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar

import trio

from actors.gossip.inputs import (Command, FireCmd, ForceLeaveCmd, JoinCmd, JoinOutcome, LeaveCmd, Pending,
                                  QueryCmd, StreamAnswered, StreamFailed, StreamRequest)
from actors.gossip.serf_core import SerfCore
from actors.gossip.serf_effects import (JoinResult, KeyringChanged, NameClash, QueryDone, SendDirect,
                                        UserEventDelivered)
from actors.gossip.streams import ExchangeFailed, exchange
from actors.gossip.transport import is_ip_address
from actors.gossip.wire import MAX_DATAGRAM, WireError
from actors.swim.effects import LeaveCompleted, SendPacket, SendStream
from actors.swim.messages import Addr, PushPull
from runtime.actor import Actor
from runtime.log import get_logger

if TYPE_CHECKING:
    from actors.gossip.pool import PoolState

log = get_logger("gossip")

DRAIN_BATCH = 64  # inputs handled per wake-up before timers get their turn


class UnknownMember(KeyError):
    pass


class SwimShell(Actor):
    kind: ClassVar[str] = "swim"
    inbox_size: ClassVar[int | None] = 1  # inputs arrive on the pool's channel, not the inbox

    def __init__(self, state: "PoolState") -> None:
        self.state = state
        self.serf: SerfCore | None = None
        self._nursery: trio.Nursery | None = None
        self._join: JoinCmd | None = None
        self._join_queue: deque[JoinCmd] = deque()
        self._rejoining = False
        self._stream_errors: dict[Addr, str] = {}
        self._leave_waiters: list[Pending] = []
        self._left = False
        self._queries: dict[int, Pending] = {}

    # -- lifecycle -------------------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        state = self.state
        settings = state.settings
        self.serf = SerfCore(settings.member_name, state.address, settings.swim, state.next_rng(),
                             tags=settings.tags, keyring=state.keyring)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            now = trio.current_time()
            self.serf.on_deadline(now)
            if state.known_peers:
                self._rejoining = True
                log.info("gossip restarted, rejoining known peers", pool=settings.pool, peers=len(state.known_peers))
                self.serf.join(now, list(state.known_peers))
            await self._flush()
            state.shell = self
            task_status.started()
            try:
                await self._loop()
            finally:
                if state.shell is self:
                    state.shell = None
                for pending in [*self._leave_waiters, *self._queries.values()]:
                    pending.fail(RuntimeError("gossip stopped"))

    async def _loop(self) -> None:
        serf = self.serf
        assert serf is not None
        receive = self.state.inputs_recv
        while True:
            deadline = serf.next_deadline()
            with trio.move_on_at(math.inf if deadline is None else deadline):
                self._handle(trio.current_time(), await receive.receive())
            now = trio.current_time()
            for _ in range(DRAIN_BATCH):
                try:
                    item = receive.receive_nowait()
                except trio.WouldBlock:
                    break
                self._handle(now, item)
            serf.on_deadline(now)
            await self._flush()

    # -- inputs ----------------------------------------------------------------------------------------

    def _handle(self, now: float, item: Any) -> None:
        serf = self.serf
        assert serf is not None
        if isinstance(item, Command) and item.reply.done:
            return  # its caller gave up waiting
        if type(item) is tuple:
            self._datagram(now, item[0], item[1])
        elif type(item) is StreamRequest:
            item.reply.set(serf.on_stream(now, item.src, item.msg))
        elif type(item) is StreamAnswered:
            for reply in item.replies:
                serf.on_stream(now, item.addr, reply)
        elif type(item) is StreamFailed:
            if type(item.msg) is PushPull and item.msg.join:
                self._stream_errors[item.addr] = item.reason
            serf.on_stream_failed(now, item.addr, item.msg)
        elif type(item) is JoinCmd:
            self._start_join(now, item)
        elif type(item) is LeaveCmd:
            if self._left:
                item.reply.set(None)
            else:
                self._leave_waiters.append(item.reply)
                serf.leave(now)
        elif type(item) is ForceLeaveCmd:
            try:
                serf.force_leave(now, item.node, item.prune)
                item.reply.set(None)
            except KeyError:
                item.reply.fail(UnknownMember(item.node))
        elif type(item) is FireCmd:
            try:
                item.reply.set(serf.fire(now, item.name, item.payload, item.coalesce))
            except ValueError as err:
                item.reply.fail(err)
        elif type(item) is QueryCmd:
            self._queries[serf.query(now, item.name, item.payload)] = item.reply

    def _datagram(self, now: float, source: Addr, data: bytes) -> None:
        state = self.state
        try:
            msg = state.codec.decode_packet(data)
        except WireError as err:
            state.drop(err.reason, source, err.detail)
            return
        state.counters["packets_in"] += 1
        assert self.serf is not None
        self.serf.on_packet(now, source, msg)

    def _start_join(self, now: float, cmd: JoinCmd) -> None:
        if self._join is not None or self._rejoining:
            self._join_queue.append(cmd)
            return
        self._join = cmd
        for addr in cmd.addrs:
            self._stream_errors.pop(addr, None)
        assert self.serf is not None
        self.serf.join(now, cmd.addrs)

    # -- effects ---------------------------------------------------------------------------------------

    async def _flush(self) -> None:
        serf = self.serf
        assert serf is not None and self._nursery is not None
        while effects := serf.poll():
            for eff in effects:
                kind = type(eff)
                if kind is SendPacket or kind is SendDirect:
                    await self._send(eff.addr, eff.msg)
                elif kind is SendStream:
                    self.state.counters["streams_out"] += 1
                    self._nursery.start_soon(self._exchange, eff.addr, eff.msg)
                elif kind is JoinResult:
                    self._joined(eff)
                elif kind is UserEventDelivered:
                    sink = self.state.on_user_event
                    if sink is not None:
                        sink(eff.ltime, eff.name, eff.payload)
                elif kind is QueryDone:
                    pending = self._queries.pop(eff.result.id, None)
                    if pending is not None:
                        pending.set(eff.result)
                elif kind is LeaveCompleted:
                    self._left = True
                    for pending in self._leave_waiters:
                        pending.set(None)
                    self._leave_waiters.clear()
                elif kind is NameClash:
                    self._clash(eff)
                elif kind is KeyringChanged:
                    if self.state.on_keyring_changed is not None:
                        self.state.on_keyring_changed()
        if serf.take_dirty():
            self.state.publish(serf.members())

    async def _send(self, addr: Addr, msg: Any) -> None:
        state = self.state
        if not is_ip_address(addr[0]):
            state.counters["bad_address"] += 1
            return
        data = state.codec.encode(msg)
        if len(data) > MAX_DATAGRAM:
            state.counters["oversized_out"] += 1
            log.warning("gossip packet over budget not sent", size=len(data), limit=MAX_DATAGRAM)
            return
        udp = state.udp
        if udp is None or not await udp.send(addr, data):
            state.counters["send_failed"] += 1
            return
        state.counters["packets_out"] += 1

    async def _exchange(self, addr: Addr, msg: object) -> None:
        try:
            if not is_ip_address(addr[0]):
                raise ExchangeFailed(f"not an IP address: {addr[0]!r}")
            replies = await exchange(self.state, addr, msg)
        except ExchangeFailed as err:
            self.state.counters["streams_failed"] += 1
            await self.state.inputs_send.send(StreamFailed(addr, msg, err.reason))
            return
        await self.state.inputs_send.send(StreamAnswered(addr, replies))

    def _joined(self, result: JoinResult) -> None:
        state = self.state
        pool = state.settings.pool
        errors = []
        cmd, self._join = self._join, None
        labels = cmd.labels if cmd is not None else {}
        for addr in result.failed:
            reason = self._stream_errors.pop(addr, "no answer")
            label = labels.get(addr, f"{addr[0]}:{addr[1]}")
            errors.append(f"Failed to join {label}: {reason}")
        if result.conflict:
            errors.append(result.conflict)
            log.error("join refused: node name conflict", pool=pool, error=result.conflict)
        for error in errors:
            log.warning("join failed", pool=pool, error=error)
        if result.contacted:
            state.joined = True
            log.info("joined", pool=pool, number_of_nodes=result.contacted)
        outcome = JoinOutcome(contacted=result.contacted, errors=errors)
        if cmd is not None:
            cmd.reply.set(outcome)
        self._rejoining = False
        if self._join_queue:
            self._start_join(trio.current_time(), self._join_queue.popleft())

    def _clash(self, clash: NameClash) -> None:
        kept = f"{clash.kept[0]}:{clash.kept[1]}"
        claimant = f"{clash.claimant[0]}:{clash.claimant[1]}"
        if clash.about_us:
            log.error("node name conflict: another agent claims this node's name", pool=self.state.settings.pool,
                      name=clash.name, ours=kept, other=claimant)
        else:
            log.warning("node name conflict: ignoring a second address for a live member",
                        pool=self.state.settings.pool, name=clash.name, member=kept, claimant=claimant)

    # -- inspector -------------------------------------------------------------------------------------

    def statistics(self) -> dict[str, Any]:
        state = self.state
        out: dict[str, Any] = {"address": f"{state.address[0]}:{state.address[1]}"}
        if self.serf is not None:
            stats = self.serf.statistics()
            for key in ("members", "alive", "suspect", "leaving", "left", "failed", "health_score", "incarnation",
                        "member_time", "event_time", "broadcast_queue", "encrypted"):
                out[key] = stats[key]
        out.update({k: state.counters[k] for k in ("packets_in", "packets_out", "streams_in", "streams_out",
                                                     "streams_failed", "send_failed")})
        out["dropped"] = sum(state.drops.values())
        if state.drops:
            out["dropped_by"] = dict(state.drops)
        return out
