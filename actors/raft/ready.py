"""What the Raft core hands to its shell: the `Ready` batch, and the `RaftStats` snapshot.

What lives here: local (never serialised to peers) output records: `Ready` and its parts
(`SoftState`, `ReadState`, `SnapshotPayload`, `SnapshotRequest`), `CompactResult`, and the
statistics Structs for the inspector.

What must never live here: logic. These are plain frozen records.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from .messages import ConfState, Entry, HardState, RaftMessage, SnapshotMeta
from .progress import ProgressState

Role = Literal["follower", "pre_candidate", "candidate", "leader"]


class SoftState(msgspec.Struct, frozen=True, kw_only=True):
    """Volatile state worth telling the shell about when it changes: who leads, and our role."""

    leader: str | None
    role: Role


class ReadState(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of `RaftCore.read_index(ctx)`: once the local state machine has applied ``index``, a
    read for ``ctx`` is linearizable. A non-empty ``error`` means the request failed (no leader,
    leadership lost...) and must be retried or reported; ``index`` is then 0."""

    ctx: bytes
    index: int
    error: str = ""


class SnapshotPayload(msgspec.Struct, frozen=True, kw_only=True):
    """A complete snapshot received from the leader, to persist and to restore the state machine
    from."""

    meta: SnapshotMeta
    data: bytes


class SnapshotRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The core needs bytes of a snapshot to stream to ``peer``: at most ``max_bytes`` starting at
    ``offset`` of the snapshot at ``index``. The shell answers with `RaftCore.snapshot_chunk`, or
    with `RaftCore.report_snapshot(peer, ok=False)` when it no longer holds that snapshot."""

    peer: str
    index: int
    offset: int
    max_bytes: int


class CompactResult(msgspec.Struct, frozen=True, kw_only=True):
    """What `RaftCore.compact` decided: the metadata to store beside the snapshot data, and the
    first log index to keep (storage may delete everything below it once the snapshot is durable)."""

    meta: SnapshotMeta
    first_index: int


class Ready(msgspec.Struct, frozen=True, kw_only=True):
    """One batch of work for the shell. Handle a Ready in THIS ORDER, then call `advance(rd)`:

    1. PERSIST, durably and in this order: ``snapshot`` (if any; it replaces the stored log),
       ``entries`` (append; an entry at index i DELETES every stored entry at index >= i first),
       then ``hard_state`` (if any). ALL OF IT MUST BE DURABLE BEFORE STEP 2. This proconsul core
       does not let a leader send in parallel with its own disk write: persist, then send.
    2. SEND ``messages`` to their ``dst``, in order per destination (dropping or losing some is
       fine; reordering or duplicating is survivable but wasteful).
    3. If ``snapshot`` is set, REPLACE THE STATE MACHINE with it BEFORE applying anything.
       Then APPLY ``committed_entries`` in order. They are always persisted by step 1 of this or an
       earlier Ready. ``config`` and ``noop`` entries change nothing in the state machine.
    4. Answer ``read_states``: each read may be served once the state machine has applied
       ``index``. Answer ``snapshot_requests`` via `RaftCore.snapshot_chunk` (any time later).
    5. Call `advance(rd)`.

    The core may be stepped and ticked between `ready()` and `advance()`; whatever that produces
    goes into the next Ready, which must be handled after this one. ``soft_state`` is informational
    (leader changes, role changes) and needs no persistence.
    """

    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    snapshot: SnapshotPayload | None = None
    entries: tuple[Entry, ...] = ()
    messages: tuple[RaftMessage, ...] = ()
    committed_entries: tuple[Entry, ...] = ()
    read_states: tuple[ReadState, ...] = ()
    snapshot_requests: tuple[SnapshotRequest, ...] = ()


class PeerStats(msgspec.Struct, frozen=True, kw_only=True):
    """Leader's view of one peer."""

    peer: str
    match: int
    next: int
    state: ProgressState
    learner: bool
    inflight: int
    recent_active: bool
    last_contact_tick: int


class RaftStats(msgspec.Struct, frozen=True, kw_only=True):
    """A point-in-time view of one core, for `statistics()` and the inspector."""

    node_id: str
    role: Role
    term: int
    vote: str | None
    leader: str | None
    commit: int
    applied: int
    first_index: int
    last_index: int
    snapshot_index: int
    conf: ConfState
    ticks: int
    last_leader_contact_tick: int
    pending_reads: int
    transfer_target: str | None
    peers: tuple[PeerStats, ...] = ()
