"""The sans-IO Raft state machine: `RaftCore`.

Theory of operation
===================

A `RaftCore` is one Raft server with every side effect taken out. It never reads a clock, opens a
socket, touches a disk, spawns a task or draws from the global ``random``. Inputs are method calls;
outputs pile up until the shell drains them with `ready()`:

* ``tick()``: one unit of logical time. Elections and heartbeats are counted in ticks.
* ``step(msg)``: one message from a peer. Stale, duplicated, misaddressed or malformed messages are
  dropped silently; ``step`` never raises because of what the network delivered.
* ``propose`` / ``propose_conf_change`` / ``transfer_leadership`` / ``read_index`` / ``compact`` /
  ``report_*`` / ``snapshot_chunk``: local requests from the shell.
* ``ready()`` returns a `Ready`: what to persist, then send, then apply (its docstring states the
  ORDER, which is the whole safety contract with the shell); ``advance(rd)`` confirms it was done.

Roles. Every server starts as a **follower**. A follower that hears no leader for a randomized
election timeout becomes a **pre-candidate** (with ``pre_vote``): it asks "would you vote for me
at term+1?" without changing any term. A majority of yes makes it a **candidate**: term+1, vote for
itself, ask for real votes. A majority of votes makes it **leader**; it appends a no-op entry so it
can commit an entry of its own term, which is also the *barrier* before it serves ReadIndex or
accepts a membership change. Any message with a higher term turns anybody back into a follower,
except vote requests that arrive while the receiver still honours a live leader (the leader lease
of ``check_quorum``): those are ignored, so a partitioned or removed server cannot depose a healthy
leader. A leader that has not heard from a majority for an election timeout steps down.

Replication. The leader tracks a `Progress` per peer (probe / replicate / snapshot, see
progress.py). A follower rejects an append whose (prev_index, prev_term) it lacks and returns a
hint (its term at that index and the first index of that term, or its last index + 1) so the leader
skips a whole term per round trip. The leader commits the highest index a majority of voters hold,
but only if that entry carries the current term (Raft paper Figure 8); earlier entries commit with it.

Snapshots. The shell snapshots its state machine and calls ``compact(index)``; the core records the
snapshot metadata and drops log entries (keeping ``trailing_logs``). A follower whose next index
falls below the first retained entry gets the snapshot in chunks: the core asks the shell for bytes
through ``Ready.snapshot_requests`` and the shell hands them back with ``snapshot_chunk``; the core
wraps them in InstallSnapshot messages, one unacknowledged chunk at a time. The receiver buffers the
chunks and, on the last, hands the whole snapshot to its shell in ``Ready.snapshot``.

Membership. One server at a time (thesis chapter 4): add a voter, add a learner (non-voter), promote
a learner, remove a member. A configuration entry carries the whole new membership and takes effect
on every server as soon as it is appended to its log (reverting if that entry is overwritten). A
leader accepts a new change only when the previous one is committed and it has committed an entry
of its own term. A leader that removed itself keeps leading until the change commits, then hands
over with TimeoutNow and steps down.

Reads. ``read_index(ctx)`` on the leader records the commit index and sends a heartbeat round
carrying a read sequence number; once a majority of voters echoed a sequence at least that new, the
leader was still the leader after the request arrived, and ``Ready.read_states`` releases
(ctx, commit index). A follower forwards the request to its leader; without a leader the read fails
at once with an error read state.

What must never live here: trio, sockets, files, time, the global random module, threads, logging
side channels. Everything random comes from the injected ``rng``; everything slow is the shell's.
"""

from __future__ import annotations

from random import Random  # the type of the seeded streams handed down; never the global generator
from collections import deque
from collections.abc import Sequence

import msgspec

from . import quorum
from .config import RaftConfig
from .errors import InvalidConfChange, NotLeader, ProposalDropped, TransferRefused
from .log import RaftLog
from .messages import (
    AppendEntries,
    AppendResp,
    ConfChange,
    ConfState,
    Entry,
    EntryKind,
    HardState,
    Heartbeat,
    HeartbeatResp,
    InstallSnapshot,
    RaftMessage,
    ReadIndexReq,
    ReadIndexResp,
    RequestVote,
    SnapshotMeta,
    SnapshotResp,
    TimeoutNow,
    VoteResp,
    decode_conf,
    encode_conf,
)
from .progress import Progress
from .ready import (
    CompactResult,
    PeerStats,
    RaftStats,
    ReadState,
    Ready,
    Role,
    SnapshotPayload,
    SnapshotRequest,
    SoftState,
)
from .storage import StorageView

FOLLOWER: Role = "follower"
PRE_CANDIDATE: Role = "pre_candidate"
CANDIDATE: Role = "candidate"
LEADER: Role = "leader"


class _PendingRead:
    """A ReadIndex request waiting for its heartbeat round."""

    __slots__ = ("seq", "index", "origin", "ctx")

    def __init__(self, seq: int, index: int, origin: str, ctx: bytes) -> None:
        self.seq = seq
        self.index = index
        self.origin = origin
        self.ctx = ctx


class RaftCore:
    """One Raft server as a pure state machine. Not thread-safe; drive it from one task.

    The constructor restarts from ``storage_view`` (hard state, snapshot metadata, stored log).
    The state machine is assumed to be at the snapshot: ``applied`` starts at the snapshot index
    and every committed entry after it is handed out again in ``Ready.committed_entries``, so the
    shell must restore its state machine from the stored snapshot before handling the first Ready.
    A brand-new cluster member starts from `bootstrap_state` (founders) or from empty storage
    (servers added later, which learn everything from the leader).
    """

    def __init__(
        self,
        node_id: str,
        config: RaftConfig,
        rng: Random,
        *,
        storage_view: StorageView,
    ) -> None:
        problems = config.validate()
        if problems:
            raise ValueError("invalid RaftConfig: " + "; ".join(problems))
        self.id = node_id
        self._cfg = config
        self._rng = rng
        hard = storage_view.hard_state()
        base_index, base_term = storage_view.log_base()
        self._log = RaftLog(
            snapshot=storage_view.snapshot_meta(),
            base_index=base_index,
            base_term=base_term,
            entries=storage_view.entries(),
            committed=hard.commit,
        )
        self._term = hard.term
        self._vote: str | None = hard.vote
        self._lead: str | None = None
        self._role: Role = FOLLOWER
        self._conf = ConfState()
        self._conf_key: tuple[int, int] = (-1, -1)
        self._progress: dict[str, Progress] = {}
        self._votes: dict[str, bool] = {}
        # outputs waiting for ready()
        self._msgs: list[RaftMessage] = []
        self._read_states: list[ReadState] = []
        self._snapshot_requests: list[SnapshotRequest] = []
        self._pending_snapshot: SnapshotPayload | None = None
        # follower: snapshot chunks received so far
        self._snap_in: tuple[SnapshotMeta, bytearray] | None = None
        # leader: ReadIndex
        self._reads: deque[_PendingRead] = deque()
        self._reads_waiting: list[tuple[str, bytes]] = []
        self._read_seq = 0
        self._read_acks: dict[str, int] = {}
        # leader: transfer and membership
        self._transferee: str | None = None
        self._transfer_elapsed = 0
        self._pending_conf_index = 0
        self._leaving: dict[str, tuple[int, int]] = {}  # removed peer -> (config index, tick removed)
        # timers, in ticks
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._randomized_timeout = config.election_ticks
        self._ticks = 0
        self._last_leader_contact = 0
        self._reload_conf()
        self._reset_randomized_timeout()
        self._prev_hard = (hard.term, hard.vote, hard.commit)
        self._prev_soft = SoftState(leader=None, role=FOLLOWER)

    # ================================================================================ read-only ==

    @property
    def role(self) -> Role:
        return self._role

    @property
    def term(self) -> int:
        return self._term

    @property
    def leader(self) -> str | None:
        return self._lead

    @property
    def conf(self) -> ConfState:
        return self._conf

    @property
    def commit_index(self) -> int:
        return self._log.committed

    @property
    def applied_index(self) -> int:
        return self._log.applied

    @property
    def last_index(self) -> int:
        return self._log.last_index()

    def log_term(self, index: int) -> int | None:
        """Term of the entry at ``index`` in this server's log, None if not retained."""
        return self._log.term(index)

    def log_entries(self) -> tuple[int, int, tuple[Entry, ...]]:
        """(base index, base term, retained entries): for checkers and debugging."""
        return self._log.base_index, self._log.base_term, tuple(self._log.entries)

    def snapshot_due(self) -> bool:
        """True when ``snapshot_threshold`` entries were applied since the last snapshot."""
        return self._log.applied - self._log.snapshot.index >= self._cfg.snapshot_threshold

    # ================================================================================ inputs ==

    def tick(self) -> None:
        """Advance logical time by one tick."""
        self._ticks += 1
        if self._role == LEADER:
            self._tick_heartbeat()
        else:
            self._tick_election()

    def step(self, msg: object) -> None:
        """Feed one message received from a peer. Never raises on bad or stale input."""
        if not isinstance(msg, RaftMessage) or msg.dst != self.id or msg.src == self.id:
            return
        if not _well_formed(msg):
            return
        if isinstance(msg, ReadIndexResp):
            # The leader validated that read against a quorum; its answer holds whatever our term.
            self._read_states.append(ReadState(ctx=msg.ctx, index=msg.index, error=msg.error))
            if msg.term <= self._term:
                return
        if msg.term > self._term:
            if isinstance(msg, RequestVote):
                if not msg.transfer and self._in_lease():
                    return  # leader lease: a live leader exists, ignore the would-be disruptor
                if not msg.pre_vote:
                    self._become_follower(msg.term, None)
            elif isinstance(msg, VoteResp) and msg.pre_vote and msg.granted:
                pass  # a granted pre-vote echoes the term we asked about; not a newer term
            elif isinstance(msg, (AppendEntries, Heartbeat, InstallSnapshot)):
                self._become_follower(msg.term, msg.src)
            else:
                self._become_follower(msg.term, None)
        elif msg.term < self._term:
            if isinstance(msg, (AppendEntries, Heartbeat)) and (self._cfg.check_quorum or self._cfg.pre_vote):
                # A stale leader (maybe one that cannot win against our higher term because of the
                # lease) learns our term from this and steps down.
                self._send(AppendResp(src=self.id, dst=msg.src, term=self._term, index=0))
            elif isinstance(msg, RequestVote) and msg.pre_vote:
                self._send(VoteResp(src=self.id, dst=msg.src, term=self._term, granted=False, pre_vote=True))
            return

        if isinstance(msg, RequestVote):
            self._handle_vote_request(msg)
        elif self._role == LEADER:
            self._step_leader(msg)
        elif self._role == FOLLOWER:
            self._step_follower(msg)
        else:
            self._step_candidate(msg)

    def campaign(self) -> None:
        """Start an election now (PreVote first if configured), as if the election timer fired."""
        self._hup(transfer=False)

    def propose(self, data: bytes) -> int:
        """Append ``data`` as a normal entry; returns the index it will occupy if it commits.

        Raises NotLeader (with a leader hint) on a non-leader, ProposalDropped during a leadership
        transfer or while the leader is removing itself.
        """
        self._check_can_propose()
        return self._append_and_broadcast([("normal", bytes(data))])

    def propose_conf_change(self, change: ConfChange) -> int:
        """Append a single-server membership change; returns its index. Effective once appended."""
        self._check_can_propose()
        if not self._committed_in_term():
            raise ProposalDropped("the leader has not committed an entry of its term yet")
        if self._pending_conf_index > self._log.committed:
            raise ProposalDropped(f"configuration change at index {self._pending_conf_index} is not committed yet")
        new_conf = apply_conf_change(self._conf, change)
        index = self._append_and_broadcast([("config", encode_conf(new_conf))])
        self._pending_conf_index = index
        return index

    def transfer_leadership(self, to: str) -> None:
        """Hand leadership to voter ``to``: catch it up, then send it TimeoutNow. The attempt is
        abandoned after one election timeout; proposals are refused meanwhile."""
        if self._role != LEADER:
            raise NotLeader(self._lead)
        if to == self.id:
            return
        if to not in self._conf.voters:
            raise TransferRefused(f"{to} is not a voter")
        if self._transferee == to:
            return
        self._transferee = to
        self._transfer_elapsed = 0
        pr = self._progress[to]
        if pr.match == self._log.last_index():
            self._send(TimeoutNow(src=self.id, dst=to, term=self._term))
        else:
            self._maybe_send_append(to, send_if_empty=True)

    def read_index(self, ctx: bytes) -> None:
        """Ask for a linearizable read point; the answer appears in ``Ready.read_states``."""
        if self._role == LEADER:
            self._leader_read_index(self.id, ctx)
            self._bcast_read_heartbeat()
        elif self._role == FOLLOWER and self._lead is not None:
            self._send(ReadIndexReq(src=self.id, dst=self._lead, term=self._term, ctx=ctx))
        else:
            self._read_states.append(ReadState(ctx=ctx, index=0, error="no leader"))

    def report_unreachable(self, peer: str) -> None:
        """The shell failed to deliver to ``peer``: stop pipelining to it until it answers."""
        pr = self._progress.get(peer) if self._role == LEADER else None
        if pr is not None and pr.state == "replicate":
            pr.become_probe()

    def report_snapshot(self, peer: str, ok: bool) -> None:
        """The shell's verdict on streaming a snapshot to ``peer``. ``ok=False`` (it could not read
        or send the snapshot) aborts the transfer; the leader retries after the next heartbeat."""
        pr = self._progress.get(peer) if self._role == LEADER else None
        if pr is None or pr.state != "snapshot" or ok:
            return
        pr.snap_meta = None
        pr.become_probe()
        pr.probe_sent = True

    def snapshot_chunk(self, peer: str, index: int, offset: int, data: bytes, done: bool) -> None:
        """Answer a `SnapshotRequest`: ``data`` starts at ``offset`` of snapshot ``index``."""
        pr = self._progress.get(peer) if self._role == LEADER else None
        if pr is None or pr.state != "snapshot" or pr.snap_meta is None:
            return
        if pr.snap_meta.index != index or pr.snap_offset != offset:
            return
        self._send(
            InstallSnapshot(
                src=self.id, dst=peer, term=self._term, meta=pr.snap_meta, offset=offset, data=data, done=done
            )
        )

    def compact(self, index: int) -> CompactResult:
        """The shell snapshotted its state machine at applied ``index``: record the snapshot and
        drop old log entries. Persist ``result.meta`` with the snapshot data BEFORE deleting stored
        entries below ``result.first_index``."""
        log = self._log
        if index <= log.snapshot.index:
            return CompactResult(meta=log.snapshot, first_index=log.first_index())
        if index > log.applied:
            raise ValueError(f"cannot compact at {index}: only {log.applied} is applied")
        entry = log.latest_config(upto=index)
        conf = decode_conf(entry.data) if entry is not None else log.snapshot.conf
        term = log.term(index)
        assert term is not None
        meta = SnapshotMeta(index=index, term=term, conf=conf)
        first = log.compact(meta, self._cfg.trailing_logs)
        return CompactResult(meta=meta, first_index=first)

    # ================================================================================ outputs ==

    def has_ready(self) -> bool:
        log = self._log
        return bool(
            self._msgs
            or self._read_states
            or self._snapshot_requests
            or self._pending_snapshot is not None
            or log.last_index() > log.handed
            or log.committed > log.applying
            or (self._term, self._vote, log.committed) != self._prev_hard
            or self._prev_soft.role != self._role
            or self._prev_soft.leader != self._lead
        )

    def ready(self) -> Ready:
        """Take everything pending as one `Ready`; see its docstring for the handling ORDER."""
        log = self._log
        entries = log.unstable_entries()
        if entries:
            log.accept_unstable(entries[-1].index)
        committed = log.committed_to_apply()
        if committed:
            log.accept_applying(committed[-1].index)
        hard = (self._term, self._vote, log.committed)
        hard_state = None
        if hard != self._prev_hard:
            hard_state = HardState(term=self._term, vote=self._vote, commit=log.committed)
            self._prev_hard = hard
        soft_state = None
        if self._prev_soft.role != self._role or self._prev_soft.leader != self._lead:
            soft_state = SoftState(leader=self._lead, role=self._role)
            self._prev_soft = soft_state
        rd = Ready(
            soft_state=soft_state,
            hard_state=hard_state,
            snapshot=self._pending_snapshot,
            entries=tuple(entries),
            messages=tuple(self._msgs),
            committed_entries=tuple(committed),
            read_states=tuple(self._read_states),
            snapshot_requests=tuple(self._snapshot_requests),
        )
        self._pending_snapshot = None
        self._msgs = []
        self._read_states = []
        self._snapshot_requests = []
        return rd

    def advance(self, rd: Ready) -> None:
        """The shell finished handling ``rd`` (persisted, sent, applied)."""
        if rd.entries:
            last = rd.entries[-1]
            self._log.stable_to(last.index, last.term)
        if rd.committed_entries:
            self._log.applied_to(rd.committed_entries[-1].index)

    def statistics(self) -> RaftStats:
        peers = ()
        if self._role == LEADER:
            peers = tuple(
                PeerStats(
                    peer=peer,
                    match=pr.match,
                    next=pr.next,
                    state=pr.state,
                    learner=pr.learner,
                    inflight=len(pr.inflight),
                    recent_active=pr.recent_active,
                    last_contact_tick=pr.last_contact,
                )
                for peer, pr in self._progress.items()
                if peer != self.id
            )
        return RaftStats(
            node_id=self.id,
            role=self._role,
            term=self._term,
            vote=self._vote,
            leader=self._lead,
            commit=self._log.committed,
            applied=self._log.applied,
            first_index=self._log.first_index(),
            last_index=self._log.last_index(),
            snapshot_index=self._log.snapshot.index,
            conf=self._conf,
            ticks=self._ticks,
            last_leader_contact_tick=self._ticks if self._role == LEADER else self._last_leader_contact,
            pending_reads=len(self._reads) + len(self._reads_waiting),
            transfer_target=self._transferee,
            peers=peers,
        )

    # ================================================================================ roles ==

    def _reset(self, term: int) -> None:
        if term != self._term:
            self._term = term
            self._vote = None
        if self._reads or self._reads_waiting:
            self._fail_reads("leadership lost")
        self._lead = None
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._reset_randomized_timeout()
        self._transferee = None
        self._transfer_elapsed = 0
        self._votes = {}
        self._progress = {}
        self._read_acks = {}
        self._pending_conf_index = 0
        self._leaving = {}

    def _become_follower(self, term: int, lead: str | None) -> None:
        self._reset(term)
        self._role = FOLLOWER
        self._lead = lead
        if lead is not None:
            self._last_leader_contact = self._ticks

    def _become_leader(self) -> None:
        assert self._role == CANDIDATE, f"{self.id}: only a candidate can become leader, not a {self._role}"
        self._reset(self._term)
        self._role = LEADER
        self._lead = self.id
        last = self._log.last_index()
        for peer in sorted({*self._conf.members(), self.id}):
            self._progress[peer] = Progress(
                next_index=last + 1,
                max_inflight=self._cfg.max_inflight_appends,
                learner=peer in self._conf.learners,
            )
        self._progress[self.id].match = last
        self._pending_conf_index = last
        self._append_and_broadcast([("noop", b"")])

    def _hup(self, *, transfer: bool) -> None:
        if self._role == LEADER or not self._promotable():
            return
        if self._cfg.pre_vote and not transfer:
            self._campaign(pre=True, transfer=False)
        else:
            self._campaign(pre=False, transfer=transfer)

    def _campaign(self, *, pre: bool, transfer: bool) -> None:
        if pre:
            if self._reads or self._reads_waiting:
                self._fail_reads("leadership lost")
            self._role = PRE_CANDIDATE
            self._lead = None
            self._votes = {}
            self._election_elapsed = 0
            self._reset_randomized_timeout()
            term = self._term + 1
        else:
            self._reset(self._term + 1)
            self._role = CANDIDATE
            self._vote = self.id
            term = self._term
        self._votes[self.id] = True
        if quorum.vote_result(self._votes, self._conf.voters) == "won":
            if pre:
                self._campaign(pre=False, transfer=transfer)
            else:
                self._become_leader()
            return
        last_index, last_term = self._log.last_index(), self._log.last_term()
        for voter in self._conf.voters:
            if voter != self.id:
                self._send(
                    RequestVote(
                        src=self.id,
                        dst=voter,
                        term=term,
                        last_index=last_index,
                        last_term=last_term,
                        pre_vote=pre,
                        transfer=transfer,
                    )
                )

    def _promotable(self) -> bool:
        return self.id in self._conf.voters

    def _in_lease(self) -> bool:
        return (
            self._cfg.check_quorum
            and self._lead is not None
            and self._election_elapsed < self._cfg.election_ticks
        )

    def _reset_randomized_timeout(self) -> None:
        e = self._cfg.election_ticks
        self._randomized_timeout = self._rng.randrange(e, 2 * e)

    # ================================================================================ ticks ==

    def _tick_election(self) -> None:
        self._election_elapsed += 1
        if self._promotable() and self._election_elapsed >= self._randomized_timeout:
            self._election_elapsed = 0
            self._hup(transfer=False)

    def _tick_heartbeat(self) -> None:
        cfg = self._cfg
        self._heartbeat_elapsed += 1
        self._election_elapsed += 1
        if self._election_elapsed >= cfg.election_ticks:
            self._election_elapsed = 0
            if cfg.check_quorum and not self._quorum_active():
                self._become_follower(self._term, None)
                return
            self._prune_leaving()
        if self._transferee is not None:
            self._transfer_elapsed += 1
            if self._transfer_elapsed >= cfg.election_ticks:
                self._transferee = None
                self._transfer_elapsed = 0
        for peer, pr in self._progress.items():
            if pr.state == "snapshot":
                pr.snap_elapsed += 1
                if pr.snap_elapsed >= cfg.election_ticks:
                    self._request_snapshot_chunk(peer, pr)
        if self._heartbeat_elapsed >= cfg.heartbeat_ticks:
            self._heartbeat_elapsed = 0
            self._bcast_heartbeat()

    def _quorum_active(self) -> bool:
        votes = {}
        for peer, pr in self._progress.items():
            votes[peer] = peer == self.id or pr.recent_active
            if peer != self.id:
                pr.recent_active = False
        return quorum.vote_result(votes, self._conf.voters) == "won"

    # ================================================================================ steps ==

    def _handle_vote_request(self, msg: RequestVote) -> None:
        can_vote = (
            self._vote == msg.src
            or (self._vote is None and self._lead is None)
            or (msg.pre_vote and msg.term > self._term)
        )
        if can_vote and self._log.is_up_to_date(msg.last_index, msg.last_term):
            self._send(VoteResp(src=self.id, dst=msg.src, term=msg.term, granted=True, pre_vote=msg.pre_vote))
            if not msg.pre_vote:
                self._election_elapsed = 0
                self._vote = msg.src
        else:
            self._send(VoteResp(src=self.id, dst=msg.src, term=self._term, granted=False, pre_vote=msg.pre_vote))

    def _step_follower(self, msg: RaftMessage) -> None:
        if isinstance(msg, AppendEntries):
            self._heard_from_leader(msg.src)
            self._handle_append(msg)
        elif isinstance(msg, Heartbeat):
            self._heard_from_leader(msg.src)
            self._log.commit_to(min(msg.commit, self._log.last_index()))
            self._send(HeartbeatResp(src=self.id, dst=msg.src, term=self._term, read_seq=msg.read_seq))
        elif isinstance(msg, InstallSnapshot):
            self._heard_from_leader(msg.src)
            self._handle_snapshot(msg)
        elif isinstance(msg, TimeoutNow):
            self._hup(transfer=True)
        elif isinstance(msg, ReadIndexReq):
            self._send(
                ReadIndexResp(src=self.id, dst=msg.src, term=self._term, ctx=msg.ctx, error="not the leader")
            )

    def _step_candidate(self, msg: RaftMessage) -> None:
        if isinstance(msg, (AppendEntries, Heartbeat, InstallSnapshot)):
            self._become_follower(msg.term, msg.src)
            self._step_follower(msg)
        elif isinstance(msg, VoteResp):
            pre = self._role == PRE_CANDIDATE
            if msg.pre_vote != pre:
                return
            if pre and msg.granted and msg.term != self._term + 1:
                return  # a grant from an earlier pre-vote round
            self._votes[msg.src] = msg.granted
            outcome = quorum.vote_result(self._votes, self._conf.voters)
            if outcome == "won":
                if pre:
                    self._campaign(pre=False, transfer=False)
                else:
                    self._become_leader()
            elif outcome == "lost":
                self._become_follower(self._term, None)
        elif isinstance(msg, ReadIndexReq):
            self._send(ReadIndexResp(src=self.id, dst=msg.src, term=self._term, ctx=msg.ctx, error="no leader"))

    def _step_leader(self, msg: RaftMessage) -> None:
        if isinstance(msg, ReadIndexReq):
            pr = self._progress.get(msg.src)
            if pr is not None:
                pr.recent_active = True
            self._leader_read_index(msg.src, msg.ctx)
            self._bcast_read_heartbeat()
            return
        pr = self._progress.get(msg.src)
        if pr is None:
            return
        if isinstance(msg, AppendResp):
            pr.recent_active = True
            pr.last_contact = self._ticks
            self._handle_append_resp(msg, pr)
        elif isinstance(msg, HeartbeatResp):
            pr.recent_active = True
            pr.last_contact = self._ticks
            self._handle_heartbeat_resp(msg, pr)
        elif isinstance(msg, SnapshotResp):
            pr.recent_active = True
            pr.last_contact = self._ticks
            self._handle_snapshot_resp(msg, pr)

    def _heard_from_leader(self, leader: str) -> None:
        self._election_elapsed = 0
        self._lead = leader
        self._last_leader_contact = self._ticks

    # -- follower handlers -----------------------------------------------------------------------

    def _handle_append(self, msg: AppendEntries) -> None:
        log = self._log
        prev_index, prev_term, entries = msg.prev_index, msg.prev_term, msg.entries
        if prev_index < log.committed:
            # Everything up to our commit index already matches; keep only what lies beyond it.
            skip = log.committed - prev_index
            if len(entries) > skip and entries[skip - 1].term == log.term(log.committed):
                prev_index, prev_term = log.committed, entries[skip - 1].term
                entries = entries[skip:]
            else:
                self._send(AppendResp(src=self.id, dst=msg.src, term=self._term, index=log.committed))
                return
        last_new = log.maybe_append(prev_index, prev_term, msg.commit, entries)
        if last_new is None:
            last = log.last_index()
            if prev_index > last:
                conflict_term, conflict_index = 0, last + 1
            else:
                conflict_term = log.term(prev_index) or 0
                conflict_index = log.first_index_of_term(prev_index, conflict_term)
            self._send(
                AppendResp(
                    src=self.id,
                    dst=msg.src,
                    term=self._term,
                    index=msg.prev_index,
                    reject=True,
                    conflict_term=conflict_term,
                    conflict_index=conflict_index,
                )
            )
            return
        self._reload_conf()
        self._send(AppendResp(src=self.id, dst=msg.src, term=self._term, index=last_new))

    def _handle_snapshot(self, msg: InstallSnapshot) -> None:
        meta = msg.meta
        if meta.index <= self._log.committed:
            self._snap_in = None
            self._send(SnapshotResp(src=self.id, dst=msg.src, term=self._term, index=meta.index, done=True))
            return
        buf = self._snap_in
        if msg.offset == 0:
            buf = (meta, bytearray())
            self._snap_in = buf
        elif buf is None or buf[0] != meta or msg.offset != len(buf[1]):
            expected = len(buf[1]) if buf is not None and buf[0] == meta else 0
            self._send(
                SnapshotResp(
                    src=self.id, dst=msg.src, term=self._term, index=meta.index, offset=expected, reject=True
                )
            )
            return
        buf[1].extend(msg.data)
        if not msg.done:
            self._send(
                SnapshotResp(src=self.id, dst=msg.src, term=self._term, index=meta.index, offset=len(buf[1]))
            )
            return
        self._snap_in = None
        if self._log.match_term(meta.index, meta.term):
            self._log.commit_to(meta.index)  # we hold that entry already: no need to replace anything
        else:
            self._log.restore(meta)
            self._pending_snapshot = SnapshotPayload(meta=meta, data=bytes(buf[1]))
            self._reload_conf()
        self._send(
            SnapshotResp(src=self.id, dst=msg.src, term=self._term, index=meta.index, offset=len(buf[1]), done=True)
        )

    # -- leader handlers -------------------------------------------------------------------------

    def _handle_append_resp(self, msg: AppendResp, pr: Progress) -> None:
        if msg.reject:
            if msg.index <= pr.match or pr.state == "snapshot":
                return  # stale
            if pr.state == "probe" and msg.index != pr.next - 1:
                return  # answer to an older probe
            hint_next = msg.conflict_index
            if msg.conflict_term > 0:
                found = self._log.last_index_of_term(msg.conflict_term, msg.index)
                if found:
                    hint_next = found + 1
            pr.become_probe()
            pr.next = max(pr.match + 1, min(msg.index, hint_next))
            self._maybe_send_append(msg.src, send_if_empty=True)
            return
        was_paused = pr.is_paused()
        updated = pr.maybe_update(msg.index)
        if updated or (pr.state == "probe" and msg.index == pr.match):
            if pr.state == "probe":
                pr.become_replicate()
            elif pr.state == "snapshot":
                if pr.snap_meta is None or pr.match >= pr.snap_meta.index:
                    pr.become_probe()
                    pr.become_replicate()
            else:
                pr.free_acknowledged(msg.index)
            if updated and self._maybe_commit():
                self._on_commit_advanced()
            elif was_paused:
                # it may have missed the commit index while paused; tell it even with no entries
                self._maybe_send_append(msg.src, send_if_empty=True)
        if self._role != LEADER:
            return
        leaving = self._leaving.get(msg.src)
        if leaving is not None and pr.match >= leaving[0]:
            self._drop_leaving(msg.src)  # it has its own removal entry: nothing more to tell it
            return
        while self._maybe_send_append(msg.src, send_if_empty=False):
            pass
        if msg.src == self._transferee and pr.match == self._log.last_index():
            self._send(TimeoutNow(src=self.id, dst=msg.src, term=self._term))

    def _handle_heartbeat_resp(self, msg: HeartbeatResp, pr: Progress) -> None:
        pr.probe_sent = False
        if pr.state == "replicate" and len(pr.inflight) >= pr.max_inflight:
            pr.inflight.popleft()
        if pr.match < self._log.last_index():
            self._maybe_send_append(msg.src, send_if_empty=True)
        if msg.read_seq > self._read_acks.get(msg.src, 0):
            self._read_acks[msg.src] = msg.read_seq
            self._release_reads()

    def _handle_snapshot_resp(self, msg: SnapshotResp, pr: Progress) -> None:
        if pr.state != "snapshot" or pr.snap_meta is None or msg.index != pr.snap_meta.index:
            return
        if msg.done and not msg.reject:
            pr.maybe_update(msg.index)
            pr.become_probe()
            if self._maybe_commit():
                self._on_commit_advanced()
            if self._role == LEADER:
                self._maybe_send_append(msg.src, send_if_empty=True)
            return
        pr.snap_offset = msg.offset
        self._request_snapshot_chunk(msg.src, pr)

    # ================================================================================ replication ==

    def _append_and_broadcast(self, items: Sequence[tuple[EntryKind, bytes]]) -> int:
        log = self._log
        first = log.last_index() + 1
        new = [Entry(term=self._term, index=first + n, kind=kind, data=data) for n, (kind, data) in enumerate(items)]
        log.append(new)
        self._progress[self.id].maybe_update(log.last_index())
        if any(kind == "config" for kind, _ in items):
            self._reload_conf()
        if self._maybe_commit():
            self._on_commit_advanced()
        else:
            self._bcast_append()
        return new[-1].index

    def _maybe_commit(self) -> bool:
        match = {peer: pr.match for peer, pr in self._progress.items()}
        return self._log.maybe_commit(quorum.committed_index(match, self._conf.voters), self._term)

    def _on_commit_advanced(self) -> None:
        self._bcast_append()
        if self._reads_waiting and self._committed_in_term():
            waiting, self._reads_waiting = self._reads_waiting, []
            for origin, ctx in waiting:
                self._leader_read_index(origin, ctx)
            self._bcast_read_heartbeat()
        if self.id not in self._conf.voters and self._conf_key[0] <= self._log.committed:
            self._step_down_removed()

    def _step_down_removed(self) -> None:
        """Our own removal committed: hand over to the most caught-up voter and step down."""
        last = self._log.last_index()
        for peer, pr in self._progress.items():
            if peer in self._conf.voters and pr.match == last:
                self._send(TimeoutNow(src=self.id, dst=peer, term=self._term))
                break
        self._become_follower(self._term, None)

    def _bcast_append(self) -> None:
        for peer in self._progress:
            if peer != self.id:
                self._maybe_send_append(peer, send_if_empty=True)

    def _maybe_send_append(self, peer: str, *, send_if_empty: bool) -> bool:
        """Send ``peer`` the next batch of entries; False when nothing was sent."""
        pr = self._progress[peer]
        if pr.is_paused():
            return False
        log = self._log
        last = log.last_index()
        if pr.next > last + 1:
            pr.next = last + 1
        prev = pr.next - 1
        prev_term = log.term(prev)
        if prev_term is None:
            self._start_snapshot(peer, pr)
            return False
        entries = (
            log.slice(pr.next, self._cfg.max_entries_per_append, self._cfg.max_bytes_per_append)
            if pr.next <= last
            else []
        )
        if not entries and not send_if_empty:
            return False
        self._send(
            AppendEntries(
                src=self.id,
                dst=peer,
                term=self._term,
                prev_index=prev,
                prev_term=prev_term,
                entries=tuple(entries),
                commit=log.committed,
            )
        )
        if entries:
            pr.sent_entries(entries[-1].index)
        elif pr.state == "probe":
            pr.probe_sent = True
        return True

    def _bcast_heartbeat(self) -> None:
        seq = self._read_seq if self._reads else 0
        commit = self._log.committed
        for peer, pr in self._progress.items():
            if peer != self.id:
                self._send(
                    Heartbeat(src=self.id, dst=peer, term=self._term, commit=min(pr.match, commit), read_seq=seq)
                )

    def _start_snapshot(self, peer: str, pr: Progress) -> None:
        meta = self._log.snapshot
        assert meta.index > 0, "log was compacted without a snapshot"
        pr.become_snapshot(meta)
        self._request_snapshot_chunk(peer, pr)

    def _request_snapshot_chunk(self, peer: str, pr: Progress) -> None:
        assert pr.snap_meta is not None
        pr.snap_elapsed = 0
        self._snapshot_requests.append(
            SnapshotRequest(
                peer=peer, index=pr.snap_meta.index, offset=pr.snap_offset, max_bytes=self._cfg.snapshot_chunk_bytes
            )
        )

    # ================================================================================ reads ==

    def _committed_in_term(self) -> bool:
        return self._log.term(self._log.committed) == self._term

    def _leader_read_index(self, origin: str, ctx: bytes) -> None:
        if not self._committed_in_term():
            self._reads_waiting.append((origin, ctx))  # the barrier: no reads before our first commit
            return
        self._read_seq += 1
        self._reads.append(_PendingRead(self._read_seq, self._log.committed, origin, ctx))
        self._release_reads()

    def _bcast_read_heartbeat(self) -> None:
        if self._role == LEADER and self._reads:
            self._bcast_heartbeat()

    def _release_reads(self) -> None:
        if not self._reads:
            return
        acks = dict(self._read_acks)
        acks[self.id] = self._read_seq
        confirmed = quorum.committed_index(acks, self._conf.voters)
        while self._reads and self._reads[0].seq <= confirmed:
            read = self._reads.popleft()
            self._answer_read(read.origin, read.ctx, read.index, "")

    def _answer_read(self, origin: str, ctx: bytes, index: int, error: str) -> None:
        if origin == self.id:
            self._read_states.append(ReadState(ctx=ctx, index=index, error=error))
        else:
            self._send(
                ReadIndexResp(src=self.id, dst=origin, term=self._term, ctx=ctx, index=index, error=error)
            )

    def _fail_reads(self, reason: str) -> None:
        reads, waiting = self._reads, self._reads_waiting
        self._reads, self._reads_waiting = deque(), []
        for read in reads:
            self._answer_read(read.origin, read.ctx, 0, reason)
        for origin, ctx in waiting:
            self._answer_read(origin, ctx, 0, reason)

    # ================================================================================ membership ==

    def _check_can_propose(self) -> None:
        if self._role != LEADER:
            raise NotLeader(self._lead)
        if self._transferee is not None:
            raise ProposalDropped(f"leadership transfer to {self._transferee} in progress")
        if self.id not in self._conf.voters:
            raise ProposalDropped("this leader is being removed from the cluster")

    def _reload_conf(self) -> None:
        """Make the newest configuration in the log (or the snapshot's) the one in force."""
        entry = self._log.latest_config()
        if entry is not None:
            key = (entry.index, entry.term)
        else:
            key = (self._log.snapshot.index, self._log.snapshot.term)
        if key == self._conf_key:
            return
        self._conf_key = key
        self._conf = decode_conf(entry.data) if entry is not None else self._log.snapshot.conf
        if self._role == LEADER:
            self._sync_progress()

    def _sync_progress(self) -> None:
        members = {*self._conf.members(), self.id}
        for peer in [p for p in self._progress if p not in members and p not in self._leaving]:
            # Keep replicating to a removed peer until it holds the entry removing it (so it stops
            # campaigning), or the removal is committed and an election timeout has passed.
            self._leaving[peer] = (self._conf_key[0], self._ticks)
            self._read_acks.pop(peer, None)
            if self._transferee == peer:
                self._transferee = None
        for peer in [p for p in self._leaving if p in members]:
            del self._leaving[peer]
        last = self._log.last_index()
        for peer in sorted(members):
            pr = self._progress.get(peer)
            if pr is None:
                self._progress[peer] = Progress(
                    next_index=last + 1,
                    max_inflight=self._cfg.max_inflight_appends,
                    learner=peer in self._conf.learners,
                )
            else:
                pr.learner = peer in self._conf.learners
        self._release_reads()

    def _prune_leaving(self) -> None:
        for peer, (index, since) in list(self._leaving.items()):
            if index <= self._log.committed and self._ticks - since >= self._cfg.election_ticks:
                self._drop_leaving(peer)

    def _drop_leaving(self, peer: str) -> None:
        del self._leaving[peer]
        self._progress.pop(peer, None)

    # ================================================================================ misc ==

    def _send(self, msg: RaftMessage) -> None:
        self._msgs.append(msg)


def apply_conf_change(conf: ConfState, change: ConfChange) -> ConfState:
    """The membership after ``change``; raises InvalidConfChange when it makes no sense."""
    voters, learners = set(conf.voters), set(conf.learners)
    node = change.node
    if not node:
        raise InvalidConfChange("empty node id")
    if change.op == "add_voter":
        if node in voters:
            raise InvalidConfChange(f"{node} is already a voter")
        learners.discard(node)
        voters.add(node)
    elif change.op == "add_learner":
        if node in voters:
            raise InvalidConfChange(f"{node} is a voter; remove it before re-adding it as a learner")
        if node in learners:
            raise InvalidConfChange(f"{node} is already a learner")
        learners.add(node)
    elif change.op == "remove":
        if node not in voters and node not in learners:
            raise InvalidConfChange(f"{node} is not a member")
        if voters == {node}:
            raise InvalidConfChange(f"cannot remove {node}, the last voter")
        voters.discard(node)
        learners.discard(node)
    else:  # pragma: no cover - Literal guards this
        raise InvalidConfChange(f"unknown operation {change.op!r}")
    return ConfState(voters=tuple(sorted(voters)), learners=tuple(sorted(learners)))


def _well_formed(msg: RaftMessage) -> bool:
    """Cheap sanity checks so that forged or corrupted input cannot trip an assertion."""
    if msg.term < 0:
        return False
    if isinstance(msg, AppendEntries):
        if msg.prev_index < 0 or msg.prev_term < 0 or msg.commit < 0 or msg.prev_term > msg.term:
            return False
        expect, floor = msg.prev_index + 1, msg.prev_term
        for entry in msg.entries:
            if entry.index != expect or entry.term < floor or entry.term > msg.term or entry.term < 1:
                return False
            if entry.kind == "config":
                try:
                    decode_conf(entry.data)
                except msgspec.DecodeError:
                    return False
            expect, floor = expect + 1, entry.term
        return True
    if isinstance(msg, AppendResp):
        return msg.index >= 0 and msg.conflict_index >= 0 and msg.conflict_term >= 0
    if isinstance(msg, RequestVote):
        return msg.last_index >= 0 and msg.last_term >= 0
    if isinstance(msg, Heartbeat):
        return msg.commit >= 0 and msg.read_seq >= 0
    if isinstance(msg, InstallSnapshot):
        meta = msg.meta
        return meta.index >= 1 and 1 <= meta.term <= msg.term and msg.offset >= 0
    if isinstance(msg, SnapshotResp):
        return msg.index >= 0 and msg.offset >= 0
    return True
