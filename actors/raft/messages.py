"""Raft's wire messages and the records it persists.

What lives here: the peer-to-peer messages (`RequestVote`, `AppendEntries`, `InstallSnapshot`...),
each a frozen msgspec Struct with a stable ``raft.*`` tag, and the plain records that travel inside
them or go to disk: `Entry`, `HardState`, `ConfState`, `SnapshotMeta`, `ConfChange`.

What must never live here: protocol decisions or IO. Tags are wire format: add new ones, never rename.

Conventions. Every peer message carries ``src``, ``dst`` and the sender's ``term``. A request is a
verb and its answer is ``<Verb>Resp``. Indexes and terms start at 1; 0 means "none".
"""

from __future__ import annotations

from typing import Literal

import msgspec

from runtime.messages import Message

EntryKind = Literal["normal", "config", "noop"]


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One log entry. ``normal`` entries carry application data for the state machine; ``config``
    entries carry a msgpack-encoded `ConfState` (the whole new membership); ``noop`` entries are
    what a new leader appends to commit an entry of its own term."""

    term: int
    index: int
    kind: EntryKind = "normal"
    data: bytes = b""


class HardState(msgspec.Struct, frozen=True, kw_only=True):
    """What a server must persist before answering anything: current term, the vote cast in that
    term (None when none) and the commit index (persisted to save re-deriving it, not for safety)."""

    term: int = 0
    vote: str | None = None
    commit: int = 0


class ConfState(msgspec.Struct, frozen=True, kw_only=True):
    """Cluster membership: voters count for elections and commitment; learners (Consul's
    non-voters) only receive the log. Both are sorted tuples so equal memberships compare equal."""

    voters: tuple[str, ...] = ()
    learners: tuple[str, ...] = ()

    def members(self) -> tuple[str, ...]:
        return tuple(sorted({*self.voters, *self.learners}))


class SnapshotMeta(msgspec.Struct, frozen=True, kw_only=True):
    """Where a snapshot sits in the log: the last index and term it covers and the membership
    in force at that index. index 0 means "no snapshot"."""

    index: int = 0
    term: int = 0
    conf: ConfState = msgspec.field(default_factory=ConfState)


class ConfChange(Message, tag="raft.conf_change"):
    """A single-server membership change, proposed through `RaftCore.propose_conf_change`.

    ``add_voter`` adds a voter or promotes a learner; ``add_learner`` adds a non-voter; ``remove``
    removes a voter or learner.
    """

    op: Literal["add_voter", "add_learner", "remove"]
    node: str


class RaftMessage(Message):
    """Base of every peer message (never sent itself)."""

    src: str
    dst: str
    term: int


class RequestVote(RaftMessage, tag="raft.vote"):
    """Ask for a vote. With ``pre_vote`` the candidate's ``term`` is the term it *would* use and no
    receiver changes its own term; ``transfer`` marks an election started by TimeoutNow, which
    overrides the leader lease."""

    last_index: int
    last_term: int
    pre_vote: bool = False
    transfer: bool = False


class VoteResp(RaftMessage, tag="raft.vote_resp"):
    """Answer to RequestVote. A granted vote echoes the request's term; a refusal carries the
    voter's own term."""

    granted: bool
    pre_vote: bool = False


class AppendEntries(RaftMessage, tag="raft.append"):
    """Replicate ``entries`` after (prev_index, prev_term); also carries the leader's commit index
    (never above what the receiver is known to hold)."""

    prev_index: int
    prev_term: int
    entries: tuple[Entry, ...] = ()
    commit: int = 0


class AppendResp(RaftMessage, tag="raft.append_resp"):
    """Answer to AppendEntries.

    Success: ``index`` is the last index now known to match the leader's log.
    Reject: ``index`` is the rejected prev_index, and the hint lets the leader skip a whole term per
    round trip: ``conflict_term`` is the receiver's term at prev_index and ``conflict_index`` the
    first index it holds with that term; when the receiver's log is too short, ``conflict_term`` is
    0 and ``conflict_index`` is its last index + 1.
    """

    index: int
    reject: bool = False
    conflict_term: int = 0
    conflict_index: int = 0


class Heartbeat(RaftMessage, tag="raft.heartbeat"):
    """Leader liveness. ``read_seq`` is the ReadIndex context: the newest pending read-only request
    when it was sent (0: none). Echoed back, it proves the sender still led after that request."""

    commit: int = 0
    read_seq: int = 0


class HeartbeatResp(RaftMessage, tag="raft.heartbeat_resp"):
    read_seq: int = 0


class InstallSnapshot(RaftMessage, tag="raft.snapshot"):
    """One chunk of a snapshot: ``data`` goes at byte ``offset``; ``done`` marks the last chunk."""

    meta: SnapshotMeta
    offset: int
    data: bytes = b""
    done: bool = False


class SnapshotResp(RaftMessage, tag="raft.snapshot_resp"):
    """Acknowledges a chunk. ``offset`` is the next byte the receiver expects; ``done`` means the
    snapshot at ``index`` is installed (or not needed); ``reject`` asks to resend from ``offset``."""

    index: int
    offset: int = 0
    done: bool = False
    reject: bool = False


class TimeoutNow(RaftMessage, tag="raft.timeout_now"):
    """Leadership transfer: start an election right now, overriding leader leases."""


class ReadIndexReq(RaftMessage, tag="raft.read_index"):
    """A follower forwards a linearizable read request (opaque ``ctx``) to its leader."""

    ctx: bytes


class ReadIndexResp(RaftMessage, tag="raft.read_index_resp"):
    """The leader's answer: serve ``ctx`` once applied >= ``index``; or an ``error`` sentence."""

    ctx: bytes
    index: int = 0
    error: str = ""


RaftWire = (
    RequestVote
    | VoteResp
    | AppendEntries
    | AppendResp
    | Heartbeat
    | HeartbeatResp
    | InstallSnapshot
    | SnapshotResp
    | TimeoutNow
    | ReadIndexReq
    | ReadIndexResp
)
"""Every message a Raft server sends to a peer; the codec's decoding union for Raft."""

WIRE_TYPES: tuple[type[RaftMessage], ...] = (
    RequestVote,
    VoteResp,
    AppendEntries,
    AppendResp,
    Heartbeat,
    HeartbeatResp,
    InstallSnapshot,
    SnapshotResp,
    TimeoutNow,
    ReadIndexReq,
    ReadIndexResp,
)

_conf_encoder = msgspec.msgpack.Encoder()
_conf_decoder = msgspec.msgpack.Decoder(ConfState)


def encode_conf(conf: ConfState) -> bytes:
    """The ``data`` of a ``config`` entry."""
    return _conf_encoder.encode(conf)


def decode_conf(data: bytes) -> ConfState:
    """Inverse of `encode_conf`; raises msgspec.DecodeError on garbage."""
    return _conf_decoder.decode(data)
