"""The Raft node actor: the thin Trio shell that drives one `RaftCore`.

What lives here: `RaftNode` and its local messages. The loop is etcd's ``node.run`` in our words:

1. take one input from the inbox (a tick from the ticker task, a peer message from the listener, a
   local proposal or read, an unreachable report), then everything else already queued (up to a
   batch limit), feeding each to the core;
2. if the core has a `Ready`: PERSIST it (entries, hard state, snapshot; one fsync for the whole
   batch: group commit under load), THEN hand its messages to the per-peer links, THEN restore a
   received snapshot and APPLY committed entries to the state store (waking blocked queries and the
   proposals waiting for their index), answer read states and snapshot requests, and `advance`;
3. snapshot the state store and compact the log when the core says it is due.

Proposals return at once with a `Pending` that resolves when the entry at that index is applied:
with the `Applied` result if the entry is ours (same term), or with `LeadershipLost` if another
leader's entry took that index. A proposal whose entry never applies here (partition) is left to the
caller's timeout.

Peer links (`runtime.transport.PeerLink`) live under the sibling ``peers`` supervisor; the node adds a
link for every member of the configuration whose address it knows, and removes links of members that
left. A lost peer is information for the core (``report_unreachable``), never a crash.

What must never live here: protocol decisions (the core's), HTTP (the backend and endpoints), or
storage formats (the storage object's).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
import trio

from actors.raft.config import RaftConfig
from actors.raft.core import RaftCore
from actors.raft.errors import NotLeader, ProposalDropped, RaftError
from actors.raft.messages import ConfChange, Entry, RaftWire, decode_conf
from actors.raft.ready import Ready
from actors.raft.shared import RaftShared
from actors.state.commands import decode_command
from actors.state.store import StateStore
from runtime import clock
from runtime.actor import Actor, ActorRef, OneShot
from runtime.log import get_logger
from runtime.messages import Message
from runtime.supervisor import ChildSpec, Supervisor
from runtime.transport.peer_link import PeerLink

if TYPE_CHECKING:
    from random import Random

log = get_logger("raft")

MAX_BATCH = 512  # inputs folded into one Ready (and so one fsync) at most
LEASE_FRACTION = 0.8  # of the election timeout: the leader lease, with room for clock drift


class Tick(Message, tag="raft.local.tick"):
    pass


class Propose(Message, tag="raft.local.propose"):
    data: bytes


class ProposeConf(Message, tag="raft.local.propose_conf"):
    change: ConfChange


class ReadIndex(Message, tag="raft.local.read_index"):
    pass


class TransferLeader(Message, tag="raft.local.transfer"):
    to: str


class Unreachable(Message, tag="raft.local.unreachable"):
    peer: str


class Campaign(Message, tag="raft.local.campaign"):
    pass


NodeInbox = Tick | Propose | ProposeConf | ReadIndex | TransferLeader | Unreachable | Campaign | RaftWire


class LeadershipLost(RaftError):
    """Another leader's entry took the index of our proposal: it was not committed."""

    def __init__(self) -> None:
        super().__init__("leadership lost while committing log")


# A proposal or read accepted by the node, resolved when its entry is applied (or its read is safe).
Pending = OneShot


class RaftPeerLink(PeerLink):
    inbox_size: ClassVar[int | None] = 4096


class RaftNode(Actor):
    kind: ClassVar[str] = "raft"
    Inbox: ClassVar[Any] = NodeInbox
    inbox_size: ClassVar[int | None] = 8192
    overflow: ClassVar[Any] = "drop"

    def __init__(self, shared: RaftShared, config: RaftConfig, *, rng: "Random", peers_path: str,
                 dc: str, faults: Any = None, blocking_storage: bool = False) -> None:
        self.shared = shared
        self.config = config
        self.rng = rng
        self.peers_path = peers_path
        self.dc = dc
        self.faults = faults
        self.blocking_storage = blocking_storage  # disk storage: run its calls in a worker thread
        self.core: RaftCore | None = None
        self.links: dict[str, ActorRef] = {}
        self._proposals: dict[int, tuple[int, Pending]] = {}
        self._reads: dict[bytes, Pending] = {}
        self._read_ids = itertools.count(1)
        self._ticks_since_contact = 0
        self._readies = 0
        self._persist_seconds = 0.0
        self._tick_times: list[float] = []  # trio time of ticks _tick_base+1, _tick_base+2, ...
        self._tick_base = 0
        self._links_wanted: set[str] = set()  # peers we must reach though not (yet) in our configuration
        self._links_dirty = trio.Event()

    # -- lifecycle ----------------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        shared = self.shared
        storage = shared.storage
        meta = storage.snapshot_meta()
        store = StateStore.restore(storage.snapshot_data()) if meta.index > 0 else StateStore()
        shared.replace_store(store)
        self.core = RaftCore(shared.node_id, self.config, self.rng, storage_view=storage)
        shared.set_applied(meta.index)
        self._publish()
        if self.core.conf.voters == (shared.node_id,) and not self.core.conf.learners:
            self.core.campaign()  # the only voter (-dev, -bootstrap): no one to wait for
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ticker)
            nursery.start_soon(self._maintain_links)
            nursery.start_soon(self.background)
            task_status.started()
            await self._loop()

    async def background(self) -> None:
        """Extra work a subclass runs beside the loop (e.g. refreshing the server directory)."""

    async def _ticker(self) -> None:
        me = self.ref
        deadline = trio.current_time()
        while True:
            deadline += self.config.tick_seconds
            await trio.sleep_until(deadline)
            me.send_nowait(Tick())

    async def _loop(self) -> None:
        receive = self.cell.inbox_recv
        core = self.core
        assert core is not None
        while True:
            item = await receive.receive()
            await self.dispatch(item)
            for _ in range(MAX_BATCH):
                try:
                    item = receive.receive_nowait()
                except trio.WouldBlock:
                    break
                await self.dispatch(item)
            while core.has_ready():
                await self._handle_ready(core.ready())

    # -- inputs -------------------------------------------------------------------------------------

    async def handle(self, message: Any) -> Any:
        core = self.core
        assert core is not None
        if isinstance(message, Tick):
            core.tick()
            self._tick_times.append(clock.now())  # when tick number len(...) happened, for the lease
            if len(self._tick_times) > 4 * self.config.election_ticks:
                drop = len(self._tick_times) - 2 * self.config.election_ticks
                del self._tick_times[:drop]
                self._tick_base += drop
            return None
        if isinstance(message, Propose):
            return self._propose(message.data)
        if isinstance(message, ReadIndex):
            ctx = next(self._read_ids).to_bytes(8, "big")
            pending = Pending()
            self._reads[ctx] = pending
            core.read_index(ctx)
            return pending
        if isinstance(message, ProposeConf):
            pending = Pending()
            try:
                index = core.propose_conf_change(message.change)
            except RaftError as exc:
                pending.fail(exc)
            else:
                self._proposals[index] = (core.term, pending)
            return pending
        if isinstance(message, TransferLeader):
            core.transfer_leadership(message.to)
            return None
        if isinstance(message, Unreachable):
            core.report_unreachable(message.peer)
            return None
        if isinstance(message, Campaign):
            core.campaign()
            return None
        # a peer's Raft message
        if getattr(message, "dst", None) == self.shared.node_id:
            core.step(message)
        return None

    def _propose(self, data: bytes) -> Pending:
        core = self.core
        assert core is not None
        pending = Pending()
        try:
            index = core.propose(data)
        except (NotLeader, ProposalDropped) as exc:
            pending.fail(exc)
        else:
            self._proposals[index] = (core.term, pending)
        return pending

    # -- the Ready contract ---------------------------------------------------------------------------

    async def _handle_ready(self, rd: Ready) -> None:
        core = self.core
        shared = self.shared
        assert core is not None
        self._readies += 1
        # 1. PERSIST (snapshot, entries, hard state) before anything is sent.
        if rd.snapshot is not None or rd.entries or rd.hard_state is not None:
            started = trio.current_time()
            if self.blocking_storage:
                await trio.to_thread.run_sync(shared.storage.save_ready, rd)
            else:
                shared.storage.save_ready(rd)
            self._persist_seconds += trio.current_time() - started
        # 2. SEND.
        for message in rd.messages:
            link = self.links.get(message.dst)
            if link is None:
                self._want_link(message.dst)
                core.report_unreachable(message.dst)
            elif not link.send_nowait(message):
                core.report_unreachable(message.dst)
        # 3. RESTORE a received snapshot, then APPLY.
        if rd.snapshot is not None:
            shared.replace_store(StateStore.restore(rd.snapshot.data))
            shared.set_applied(rd.snapshot.meta.index)
            self._fail_proposals_upto(rd.snapshot.meta.index)
        for entry in rd.committed_entries:
            self._apply(entry)
        # 4. Reads and snapshot requests.
        for state in rd.read_states:
            pending = self._reads.pop(state.ctx, None)
            if pending is not None:
                if state.error:
                    pending.fail(NotLeader(shared.leader) if "leader" in state.error else RaftError(state.error))
                else:
                    pending.resolve(state.index)
        for request in rd.snapshot_requests:
            chunk = shared.storage.snapshot_chunk(request.index, request.offset, request.max_bytes)
            if chunk is None:
                core.report_snapshot(request.peer, False)
            else:
                data, done = chunk
                core.snapshot_chunk(request.peer, request.index, request.offset, data, done)
        # 5. ADVANCE.
        core.advance(rd)
        if rd.soft_state is not None:
            self._on_soft_state(rd.soft_state.leader, rd.soft_state.role)
        self._publish()
        if core.snapshot_due():
            await self._snapshot()

    def _apply(self, entry: Entry) -> None:
        shared = self.shared
        if entry.kind == "normal":
            try:
                command = decode_command(entry.data)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                # Every replica sees the same bytes and skips them the same way; leaders validate
                # commands before proposing, so this means a bug or a hostile peer. Never crash on it.
                log.error("undecodable log entry skipped", index=entry.index, error=str(exc))
                applied = None
            else:
                applied = shared.store.apply(entry.index, command)
                shared.record_applied(applied)
                shared.waiters.fire(applied)
        else:
            applied = None
            if entry.kind == "config":
                self._set_conf(decode_conf(entry.data))
                shared.stats["conf_index"] = entry.index
                self._links_dirty.set()
        core = self.core
        assert core is not None
        if entry.term == core.term and core.role == "leader":
            shared.leader_ready_term = entry.term
        waiting = self._proposals.pop(entry.index, None)
        if waiting is not None:
            term, pending = waiting
            if term != entry.term:
                pending.fail(LeadershipLost())
            elif applied is not None and applied.error is None:
                pending.resolve(applied)
            elif applied is not None:
                pending.resolve(applied)  # a refused command is still a result: the caller maps the error
            else:
                pending.resolve(entry.index)
        shared.set_applied(entry.index)

    def _fail_proposals_upto(self, index: int) -> None:
        for proposal_index in [i for i in self._proposals if i <= index]:
            _, pending = self._proposals.pop(proposal_index)
            pending.fail(LeadershipLost())

    def _on_soft_state(self, leader: str | None, role: str) -> None:
        previous = self.shared.leader
        if leader != previous:
            log.info("leader changed", leader=leader or "", role=role, term=self.core.term if self.core else 0)

    def _publish(self) -> None:
        core = self.core
        shared = self.shared
        assert core is not None
        stats = core.statistics()
        if core.leader is not None and core.leader != shared.node_id:
            if stats.last_leader_contact_tick == stats.ticks or shared.last_contact is None:
                shared.last_contact = clock.now()
        elif core.role == "leader":
            shared.last_contact = clock.now()
        shared.commit_index = core.commit_index
        shared.peer_match = {p.peer: p.match for p in stats.peers}
        shared.lease_until = self._lease_until(stats) if core.role == "leader" else 0.0
        shared.set_leader(core.leader, core.role, core.term)
        if shared.conf != core.conf:
            self._set_conf(core.conf)

    def _lease_until(self, stats: Any) -> float:
        """Until when this leader may serve default-mode reads from its own state.

        The lease starts when a majority of voters (this one included) were last heard from, and lasts
        a fraction of the election timeout: no follower that answered then can vote for anyone else
        before a full election timeout has passed since it heard from us. Measured in Trio time, so a
        leader that was paused (SIGSTOP) or starved finds its lease expired when it wakes, however few
        ticks it has counted meanwhile.
        """
        voters = self.shared.conf.voters
        contacts = sorted((p.last_contact_tick for p in stats.peers if p.peer in voters), reverse=True)
        contacts.insert(0, stats.ticks)  # ourselves, now
        quorum = len(voters) // 2 + 1
        if len(contacts) < quorum:
            return 0.0
        tick = contacts[quorum - 1]
        position = tick - self._tick_base - 1
        if position < 0 or position >= len(self._tick_times):
            return 0.0
        return self._tick_times[position] + LEASE_FRACTION * self.config.election_ticks * self.config.tick_seconds

    def _set_conf(self, conf: Any) -> None:
        """Publish a new configuration; remember who left it (the leader will not re-add them at once)."""
        shared = self.shared
        if conf == shared.conf:
            return
        gone = {*shared.conf.voters, *shared.conf.learners} - {*conf.voters, *conf.learners}
        for name in gone:
            shared.removed_at[name] = clock.now()
        shared.conf = conf
        self._links_dirty.set()

    async def _snapshot(self) -> None:
        core = self.core
        shared = self.shared
        assert core is not None
        data = shared.store.snapshot()
        result = core.compact(shared.applied_index)
        if self.blocking_storage:
            await trio.to_thread.run_sync(shared.storage.save_snapshot, result.meta, data)
            await trio.to_thread.run_sync(shared.storage.compact, result.first_index)
        else:
            shared.storage.save_snapshot(result.meta, data)
            shared.storage.compact(result.first_index)
        log.info("snapshot taken", index=result.meta.index, bytes=len(data), first_index=result.first_index)

    # -- peer links -----------------------------------------------------------------------------------

    def _want_link(self, peer: str) -> None:
        """A message is addressed to a peer we have no link to (e.g. a new server answering the leader
        before it learned the configuration): open one if its address is known."""
        if peer not in self._links_wanted and peer in self.shared.directory:
            self._links_wanted.add(peer)
            self._links_dirty.set()

    async def _maintain_links(self) -> None:
        """Keep one link per configuration member (and per peer we had to answer) whose address is known."""
        shared = self.shared
        while True:
            members = {m for m in (*shared.conf.voters, *shared.conf.learners) if m != shared.node_id}
            if shared.conf.voters:
                self._links_wanted -= {p for p in self._links_wanted if p not in members and p != shared.leader}
            wanted = members | self._links_wanted
            supervisor = self.cell.tree.get(self.peers_path).actor
            if isinstance(supervisor, Supervisor):
                for peer in sorted(wanted):
                    address = shared.directory.get(peer)
                    if peer not in self.links and address is not None:
                        self.links[peer] = await supervisor.add_child(self._link_spec(peer, address))
                for peer in sorted(set(self.links) - wanted):
                    self.links.pop(peer)
                    await supervisor.remove_child(f"peer:{peer}")
            self._links_dirty = trio.Event()
            with trio.move_on_after(1.0):
                dirty, directory = self._links_dirty, shared.directory_changed
                async with trio.open_nursery() as nursery:
                    async def wait(event: trio.Event) -> None:
                        await event.wait()
                        nursery.cancel_scope.cancel()
                    nursery.start_soon(wait, dirty)
                    nursery.start_soon(wait, directory)

    def _link_spec(self, peer: str, address: tuple[str, int]) -> ChildSpec:
        me = self.ref

        def unreachable(name: str) -> None:
            me.send_nowait(Unreachable(peer=name))

        return ChildSpec(f"peer:{peer}", RaftPeerLink, peer, address, node=self.shared.node_id, dc=self.dc,
                         protocol="raft", faults=self.faults, rng=self.rng, on_unreachable=unreachable)

    # -- inspector ----------------------------------------------------------------------------------

    def statistics(self) -> dict[str, Any]:
        core = self.core
        if core is None:
            return {}
        stats = core.statistics()
        return {
            "role": stats.role,
            "term": stats.term,
            "leader": stats.leader or "",
            "commit": stats.commit,
            "applied": stats.applied,
            "last_index": stats.last_index,
            "snapshot_index": stats.snapshot_index,
            "voters": list(stats.conf.voters),
            "proposals_waiting": len(self._proposals),
            "reads_waiting": len(self._reads),
            "readies": self._readies,
            "persist_seconds": round(self._persist_seconds, 3),
            "peers": {p.peer: {"match": p.match, "next": p.next, "state": p.state} for p in stats.peers},
        }
