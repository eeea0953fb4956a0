"""What a leader knows about each follower's log, and how fast it may send to it.

What lives here: `Progress`, one per peer on the leader, with its three states:

* ``probe``: the leader does not know where the follower's log ends. It sends one append at a time
  and waits for the answer (or the next heartbeat answer) before sending again, walking ``next``
  back with the follower's reject hints.
* ``replicate``: the follower is known to match up to ``match``. The leader pipelines appends,
  advancing ``next`` optimistically, with at most ``max_inflight`` unacknowledged at once.
* ``snapshot``: ``next`` fell below the leader's first log index; a snapshot is being streamed, one
  chunk at a time, and no appends go out until it is acknowledged.

What must never live here: message construction or log access; the core decides, this records.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from .messages import SnapshotMeta

ProgressState = Literal["probe", "replicate", "snapshot"]


class Progress:
    """Leader-side replication state for one peer (etcd's tracker.Progress, trimmed)."""

    __slots__ = (
        "match",
        "next",
        "state",
        "probe_sent",
        "inflight",
        "max_inflight",
        "snap_meta",
        "snap_offset",
        "snap_elapsed",
        "recent_active",
        "learner",
        "last_contact",
    )

    def __init__(self, *, next_index: int, max_inflight: int, learner: bool = False) -> None:
        self.match = 0
        self.next = next_index
        self.state: ProgressState = "probe"
        self.probe_sent = False
        self.inflight: deque[int] = deque()  # last index carried by each unacknowledged append
        self.max_inflight = max_inflight
        self.snap_meta: SnapshotMeta | None = None
        self.snap_offset = 0
        self.snap_elapsed = 0
        self.recent_active = True
        self.learner = learner
        self.last_contact = 0  # core tick count at the last message from this peer

    def become_probe(self) -> None:
        if self.state == "snapshot" and self.snap_meta is not None:
            self.next = max(self.match + 1, self.snap_meta.index + 1)
        else:
            self.next = self.match + 1
        self.state = "probe"
        self.probe_sent = False
        self.inflight.clear()
        self.snap_meta = None

    def become_replicate(self) -> None:
        self.state = "replicate"
        self.next = self.match + 1
        self.probe_sent = False
        self.inflight.clear()
        self.snap_meta = None

    def become_snapshot(self, meta: SnapshotMeta) -> None:
        self.state = "snapshot"
        self.snap_meta = meta
        self.snap_offset = 0
        self.snap_elapsed = 0
        self.probe_sent = False
        self.inflight.clear()

    def maybe_update(self, index: int) -> bool:
        """Record an acknowledgement up to ``index``; False when it tells nothing new."""
        updated = index > self.match
        if updated:
            self.match = index
            self.probe_sent = False
        if index + 1 > self.next:
            self.next = index + 1
        return updated

    def sent_entries(self, last_index: int) -> None:
        """Account for an append carrying entries up to ``last_index``."""
        if self.state == "replicate":
            self.next = last_index + 1
            self.inflight.append(last_index)
        elif self.state == "probe":
            self.probe_sent = True

    def free_acknowledged(self, index: int) -> None:
        while self.inflight and self.inflight[0] <= index:
            self.inflight.popleft()

    def is_paused(self) -> bool:
        if self.state == "probe":
            return self.probe_sent
        if self.state == "replicate":
            return len(self.inflight) >= self.max_inflight
        return True
