"""`RaftBackend`: the `StoreBackend` of a server, writing through Raft and reading its local replica.

What lives here: how an endpoint's write reaches the leader and how a read becomes fit for its
consistency mode (see ``actors/backend.py`` for the contract):

- ``write``: on the leader, stamp ``now_ns`` and propose; elsewhere forward the encoded command to the
  leader over the server RPC (`ForwardWrite`), learn the index it was applied at, wait until the local
  replica applied it and return the local result (the state machine is deterministic). While there is
  no leader, retry until ``rpc_hold_timeout`` (Consul's 7 s) and then fail with `NoLeader`. A forward
  whose outcome is unknown (connection lost, no reply) is never sent again: it fails with a 500; to
  keep riding out a dead leader, a new leader address is first probed with an idempotent call.
- ``read_barrier``: ``stale`` answers at once; ``default`` on the leader answers from its state while its
  lease holds (a majority heard from within 0.8 election timeouts, in Trio time) and falls back to
  ReadIndex otherwise, so a leader that was paused or cut off never serves stale data; ``default``
  on a follower asks the leader for its commit index (`LeaderCommit`) and waits to apply it;
  ``consistent`` runs ReadIndex (leadership confirmed by a quorum) and waits to apply that index.

Also the RPC handler the leader runs for those requests (`handle_rpc`).

What must never live here: Raft protocol logic, or HTTP.
"""

from __future__ import annotations

from typing import Any, Callable

import msgspec
import trio

from actors.backend import BackendError, Consistency, NoLeader, NotReady, ReadMeta
from actors.raft.errors import NotLeader, ProposalDropped, RaftError
from actors.raft.messages import ConfChange
from actors.raft.node import Pending, Propose, ProposeConf, ReadIndex, TransferLeader
from actors.raft.rpc import (
    Done,
    ForwardResult,
    ForwardWrite,
    LeaderCommit,
    LeaderCommitResult,
    MembershipChange,
    TransferLeadership,
)
from actors.raft.shared import RaftShared
from actors.state.commands import Command, decode_command, encode_command
from actors.state.store import Applied, StateStore
from actors.state.watch import WatchRegistry, WatchSet
from runtime import clock
from runtime.actor import ActorError, ActorNotRunning, ActorRef
from runtime.transport.errors import RpcError, RpcRemoteError
from runtime.transport.rpc_client import RpcClient


class RaftBackend:
    def __init__(self, shared: RaftShared, node_ref: Callable[[], ActorRef], rpc: RpcClient, *,
                 hold_timeout: float = 7.0, wall_ns: Callable[[], int] | None = None) -> None:
        self.shared = shared
        self._node_ref = node_ref
        self.rpc = rpc
        self.hold_timeout = hold_timeout
        self._reachable: tuple[str, int] | None = None  # the leader address a call last reached
        self._wall_ns = wall_ns or (lambda: int(clock.wall_time() * 1e9))

    @property
    def store(self) -> StateStore:  # type: ignore[override]
        return self.shared.store

    @property
    def registry(self) -> WatchRegistry:
        return self.shared.registry

    # -- writes -------------------------------------------------------------------------------------

    async def write(self, command: Command) -> Applied:
        data = encode_command(command)
        with trio.move_on_after(self.hold_timeout):
            while True:
                shared = self.shared
                if shared.role == "leader":
                    try:
                        index_or_applied = await self._propose_local(data)
                    except (NotLeader, ProposalDropped):
                        await self._pause()  # refused before it was appended: safe to try again
                        continue
                    except ActorNotRunning:
                        await self._pause()
                        continue
                    except ActorError as exc:
                        # The node may still append it: its outcome is unknown, so it is never re-sent.
                        raise BackendError(f"timed out handing the write to the leader: {exc}") from None
                    return index_or_applied
                leader = shared.address_of(shared.leader)
                if leader is None:
                    await self._wait_leader()
                    continue
                if self._reachable != leader:
                    # A forward that fails in flight is never resent (below), so first make sure the
                    # leader answers, with an idempotent call that can be retried freely.
                    try:
                        await self.rpc.call(leader, LeaderCommit(), timeout=self.hold_timeout)
                    except RpcError:
                        await self._pause()
                        continue
                    self._reachable = leader
                try:
                    result = await self.rpc.call(leader, ForwardWrite(command=data), timeout=self.hold_timeout)
                except RpcRemoteError as exc:
                    if exc.error.kind in ("NotLeader", "ProposalDropped", "NoLeader", "ActorTimeout"):
                        await self._pause()
                        continue
                    raise BackendError(exc.error.message) from None
                except RpcError as exc:
                    # Lost connection or no reply: the leader may have committed the command, so sending
                    # it again could apply it twice (a CAS would then answer false for its own write).
                    # Like Consul, which retries forwarded writes only on "no leader", give up: 500.
                    self._reachable = None
                    raise BackendError(f"rpc error making call: {exc}") from None
                assert isinstance(result, ForwardResult)
                await self.shared.wait_applied(result.index)
                applied = self.shared.result(result.index)
                if applied is None:
                    raise BackendError(f"result of index {result.index} no longer available")
                return applied
        raise NoLeader()

    async def _propose_local(self, data: bytes) -> Applied:
        stamped = self.stamp(data)
        pending: Pending = await self._node_ref().request(Propose(data=stamped), timeout=self.hold_timeout)
        result = await pending.wait()
        if not isinstance(result, Applied):
            raise BackendError("proposal applied without a state-machine result")
        return result

    def stamp(self, data: bytes) -> bytes:
        """The leader decides ``now_ns`` (so every replica applies the same time)."""
        command = decode_command(data)
        return encode_command(msgspec.structs.replace(command, now_ns=self._wall_ns()))

    async def _pause(self) -> None:
        with trio.move_on_after(0.05):
            await self.shared.wait_leader_change()

    async def _wait_leader(self) -> None:
        with trio.move_on_after(0.5):
            await self.shared.wait_leader_change()

    # -- reads --------------------------------------------------------------------------------------

    def meta(self, consistency: str) -> ReadMeta:
        shared = self.shared
        if shared.role == "leader":
            contact = 0
        elif shared.last_contact is None:
            contact = 0
        else:
            contact = int((clock.now() - shared.last_contact) * 1000)
        return ReadMeta(known_leader=shared.leader is not None, last_contact_ms=contact,
                        consistency=consistency)  # type: ignore[arg-type]

    async def read_barrier(self, mode: Consistency, max_stale: float | None = None) -> ReadMeta:
        if mode == "stale":
            meta = self.meta("stale")
            if max_stale is None or meta.last_contact_ms <= max_stale * 1000 or self.shared.role == "leader":
                await trio.lowlevel.checkpoint()
                return meta
            mode = "default"  # too stale: retry once in default mode, as Consul's agent does
        with trio.move_on_after(self.hold_timeout):
            while True:
                try:
                    if mode == "consistent":
                        await self._read_index()
                        return self.meta("consistent")
                    await self._leader_read()
                    return self.meta("leader")
                except (NotLeader, RaftError, RpcError, ActorError):
                    if self.shared.leader is None:
                        await self._wait_leader()
                    else:
                        await self._pause()
        if self.shared.leader is None:
            raise NoLeader()
        raise NotReady("timed out waiting for the replica to catch up with the leader")

    async def _read_index(self) -> None:
        pending: Pending = await self._node_ref().request(ReadIndex())
        index = await pending.wait()
        await self.shared.wait_applied(index)

    async def _leader_read(self) -> None:
        shared = self.shared
        if shared.role == "leader":
            if clock.now() < shared.lease_until:
                await self._wait_own_term_applied()
            else:
                await self._read_index()  # lease lapsed (paused, partitioned?): confirm with a quorum
            return
        leader = shared.address_of(shared.leader)
        if leader is None:
            raise NotLeader(None)
        reply = await self.rpc.call(leader, LeaderCommit(), timeout=self.hold_timeout)
        assert isinstance(reply, LeaderCommitResult)
        await shared.wait_applied(reply.index)

    async def _wait_own_term_applied(self) -> None:
        shared = self.shared
        while shared.role == "leader" and shared.leader_ready_term != shared.term:
            with trio.move_on_after(0.05):
                await shared.wait_applied(shared.applied_index + 1)
        if shared.role != "leader":
            raise NotLeader(shared.leader)

    async def wait_changed(self, ws: WatchSet, deadline: float) -> bool:
        return await self.shared.waiters.wait(ws, deadline)

    # -- operator requests (membership, leadership transfer) ------------------------------------------

    async def change_membership(self, op: str, node: str) -> int:
        """Propose one membership change at the leader (forwarding if needed); returns its index once applied."""
        if op not in ("add_voter", "add_learner", "remove"):
            raise BackendError(f"unknown membership operation {op!r}")
        if self.shared.role == "leader":
            pending: Pending = await self._node_ref().request(ProposeConf(change=ConfChange(op=op, node=node)))  # type: ignore[arg-type]
            result = await pending.wait()
            return result if isinstance(result, int) else self.shared.applied_index
        leader = self.shared.address_of(self.shared.leader)
        if leader is None:
            raise NoLeader()
        try:
            done = await self.rpc.call(leader, MembershipChange(op=op, node=node), timeout=self.hold_timeout)
        except RpcRemoteError as exc:
            raise BackendError(exc.error.message) from None
        except RpcError as exc:
            raise BackendError(str(exc)) from None
        return done.index

    async def transfer_leadership(self, to: str = "") -> str:
        """Hand leadership to ``to`` (or the best other voter); returns the chosen server."""
        shared = self.shared
        if shared.role != "leader":
            leader = shared.address_of(shared.leader)
            if leader is None:
                raise NoLeader()
            try:
                await self.rpc.call(leader, TransferLeadership(to=to), timeout=self.hold_timeout)
            except RpcRemoteError as exc:
                raise BackendError(exc.error.message) from None
            except RpcError as exc:
                raise BackendError(str(exc)) from None
            return to
        others = [v for v in shared.conf.voters if v != shared.node_id]
        if to and to not in others:
            raise BackendError(f"cannot transfer leadership to {to!r}: not another voter")
        if not to:
            if not others:
                raise BackendError("cannot transfer leadership: no other voter")
            to = max(others, key=lambda peer: (shared.peer_match.get(peer, 0), peer))
        await self._node_ref().request(TransferLeader(to=to))
        return to

    async def leave(self, timeout: float = 10.0) -> bool:
        """Graceful leave of this server: hand leadership over if we hold it, then have the leader
        remove us from the configuration. Bounded by ``timeout``; returns whether we were removed."""
        shared = self.shared
        me = shared.node_id
        with trio.move_on_after(timeout):
            if not [v for v in shared.conf.voters if v != me]:
                return False  # the last server: nobody to hand the data to
            while shared.role == "leader":
                try:
                    await self.transfer_leadership("")
                except BackendError:
                    pass
                with trio.move_on_after(1.0):
                    while shared.role == "leader":
                        await shared.wait_leader_change()
            while True:
                try:
                    await self.change_membership("remove", me)
                    return True
                except (BackendError, NoLeader):
                    await self._wait_leader()
        return False

    # -- the leader's side of forwarded requests ----------------------------------------------------

    async def handle_rpc(self, request: Any) -> Any:
        if isinstance(request, ForwardWrite):
            if self.shared.role != "leader":
                raise NotLeader(self.shared.leader)
            try:
                decode_command(request.command)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise BackendError(f"invalid command: {exc}") from None
            applied = await self._propose_local(request.command)
            return ForwardResult(index=applied.index)
        if isinstance(request, LeaderCommit):
            if self.shared.role != "leader":
                raise NotLeader(self.shared.leader)
            if clock.now() < self.shared.lease_until:
                await self._wait_own_term_applied()
                return LeaderCommitResult(index=self.shared.commit_index)
            pending: Pending = await self._node_ref().request(ReadIndex())
            return LeaderCommitResult(index=await pending.wait())
        if isinstance(request, MembershipChange):
            if self.shared.role != "leader":
                raise NotLeader(self.shared.leader)
            return Done(index=await self.change_membership(request.op, request.node))
        if isinstance(request, TransferLeadership):
            if self.shared.role != "leader":
                raise NotLeader(self.shared.leader)
            await self.transfer_leadership(request.to)
            return Done()
        raise BackendError(f"unknown request {type(request).__name__}")
