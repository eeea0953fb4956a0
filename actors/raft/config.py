"""Tuning knobs of the Raft core, in ticks, entries and bytes.

What lives here: `RaftConfig`, its documented defaults, `validate()` and `from_seconds()`, the one place
where wall-clock durations become tick counts.

What must never live here: clocks, timers or anything that reads the time. The core counts `tick()`
calls; the shell decides how long a tick lasts (`tick_seconds`) and calls `tick()` that often.
"""

from __future__ import annotations

import math

import msgspec


class RaftConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Every timing and batching limit of one Raft server.

    The defaults aim at a three or five server cluster on a LAN or loopback: a killed leader is
    replaced in about 0.6 s (median), counted from the kill to a new leader. The arithmetic, with
    E = ``election_ticks`` and t = ``tick_seconds``:

    * a follower waits a uniformly random timeout in [E, 2E) ticks after the last heartbeat;
    * with two surviving followers the first to time out fires after E + E/3 ticks on median,
      minus half a heartbeat interval on average because the leader died mid-interval;
    * PreVote plus the real vote cost two round trips, negligible on loopback.

    So with E = 10 and t = 50 ms: about (10 + 3.3 - 0.5) x 50 ms = 0.64 s median and 1.0 s when
    no vote splits; a split vote costs one more randomized timeout. The seeded simulator measures
    it (tests/raft/test_sim.py): median 0.61 s, p90 0.83 s, worst 1.57 s over 200 seeds.

    Consul runs hashicorp/raft with a 1 s heartbeat timeout times ``raft_multiplier`` (default 5);
    those values tolerate slow WAN-ish links and GC pauses. For slower networks scale with
    `from_seconds`, keeping the ratios.
    """

    tick_seconds: float = 0.05
    """Seconds of wall time per `RaftCore.tick()` call. Default 50 ms.

    Only the shell uses it (to pace its ticker); the core never sees seconds. 50 ms is fine enough
    that a heartbeat every tick costs nothing on a LAN, and coarse enough that Python keeps up.
    etcd leaves the tick to the application (etcd server: 100 ms).
    """

    heartbeat_ticks: int = 1
    """Ticks between two leader heartbeats. Default 1 (50 ms).

    Heartbeats carry the commit index and ReadIndex contexts and tell followers the leader lives.
    Election timeout / heartbeat interval = 10, the ratio hashicorp/raft uses between its
    HeartbeatTimeout and the interval at which it sends heartbeats (HeartbeatTimeout / 10), and the
    ratio etcd recommends: about ten consecutive heartbeats must be lost before anyone campaigns.
    """

    election_ticks: int = 10
    """Base election timeout in ticks. Default 10 (500 ms).

    A follower that hears nothing from a leader for a randomized timeout drawn uniformly from
    [election_ticks, 2 * election_ticks) starts an election (PreVote first). The same base value is
    the CheckQuorum period of a leader and the leader lease a follower grants (it refuses to vote
    while it heard from a leader fewer than election_ticks ago). Randomisation spreads candidates
    apart so split votes are rare (Raft paper section 5.2). hashicorp/raft's 1 s ElectionTimeout
    (times Consul's raft_multiplier) plays the same role; etcd's ElectionTick is usually 10.
    """

    max_entries_per_append: int = 64
    """Most entries one AppendEntries carries. Default 64, hashicorp/raft's MaxAppendEntries.

    Bounds the work a follower does per message and the latency added to heartbeats queued behind it.
    """

    max_bytes_per_append: int = 1 << 20
    """Soft cap on the summed ``data`` size of the entries in one AppendEntries. Default 1 MiB.

    An append always carries at least one entry, even a larger one. etcd's MaxSizePerMsg is usually
    1 MiB too; Consul itself splits KV writes above its suggested entry size into several entries.
    """

    max_inflight_appends: int = 128
    """Unacknowledged AppendEntries a leader keeps in flight per follower. Default 128.

    While a follower is known to be in sync the leader pipelines appends up to this window
    (hashicorp/raft's rpcMaxPipeline is 128; etcd's MaxInflightMsgs is typically 256). A full window
    pauses sending until acknowledgements return, which bounds memory when a follower is slow.
    """

    snapshot_threshold: int = 16384
    """Applied entries since the last snapshot after which the shell should snapshot. Default 16384.

    Consul's ``raft_snapshot_threshold`` default (hashicorp/raft itself uses 8192). The core does not
    snapshot by itself: it only reports `RaftCore.snapshot_due()`; the shell snapshots its state
    machine and calls `RaftCore.compact()`.
    """

    trailing_logs: int = 10240
    """Entries kept in the log before a snapshot's index when compacting. Default 10240.

    Consul's and hashicorp/raft's TrailingLogs. A follower that lags by fewer entries than this is
    caught up by plain appends instead of a full snapshot transfer.
    """

    snapshot_chunk_bytes: int = 1 << 20
    """Bytes per InstallSnapshot chunk. Default 1 MiB.

    The leader sends one chunk at a time and waits for the follower's acknowledgement, so this is
    also the snapshot transfer window. The Raft paper's InstallSnapshot RPC is chunked the same way
    (offset, data, done); hashicorp/raft streams the whole snapshot over one connection instead.
    """

    pre_vote: bool = True
    """Run a PreVote round before a real election. Default on.

    A candidate first asks whether it could win without bumping any term; only with a majority of
    yes answers does it start a real election. A node rejoining after a partition therefore cannot
    force the cluster to a higher term (Raft thesis section 9.6; hashicorp/raft has PreVote since
    1.7, etcd's Config.PreVote).
    """

    check_quorum: bool = True
    """Leader steps down without a quorum; followers honour a leader lease. Default on.

    A leader that has not heard from a majority of voters within election_ticks steps down, so a
    partitioned leader stops believing it leads (hashicorp/raft's LeaderLeaseTimeout does this).
    Followers that heard from a leader within election_ticks ignore vote requests, so a removed or
    flapping server cannot depose a healthy leader (Raft thesis section 4.2.3, etcd's CheckQuorum).
    """

    def validate(self) -> list[str]:
        """Return one precise sentence per impossible setting; an empty list means usable."""
        problems: list[str] = []
        if not (self.tick_seconds > 0 and math.isfinite(self.tick_seconds)):
            problems.append(f"tick_seconds must be a positive number of seconds, got {self.tick_seconds!r}")
        if self.heartbeat_ticks < 1:
            problems.append(f"heartbeat_ticks must be at least 1, got {self.heartbeat_ticks}")
        if self.election_ticks <= self.heartbeat_ticks:
            problems.append(
                f"election_ticks ({self.election_ticks}) must be greater than heartbeat_ticks "
                f"({self.heartbeat_ticks}), or followers time out between two heartbeats"
            )
        if self.max_entries_per_append < 1:
            problems.append(f"max_entries_per_append must be at least 1, got {self.max_entries_per_append}")
        if self.max_bytes_per_append < 1:
            problems.append(f"max_bytes_per_append must be at least 1, got {self.max_bytes_per_append}")
        if self.max_inflight_appends < 1:
            problems.append(f"max_inflight_appends must be at least 1, got {self.max_inflight_appends}")
        if self.snapshot_threshold < 1:
            problems.append(f"snapshot_threshold must be at least 1, got {self.snapshot_threshold}")
        if self.trailing_logs < 0:
            problems.append(f"trailing_logs must not be negative, got {self.trailing_logs}")
        if self.snapshot_chunk_bytes < 1:
            problems.append(f"snapshot_chunk_bytes must be at least 1, got {self.snapshot_chunk_bytes}")
        return problems

    @property
    def election_timeout_seconds(self) -> tuple[float, float]:
        """The range, in seconds, from which a follower's election timeout is drawn."""
        return (self.election_ticks * self.tick_seconds, 2 * self.election_ticks * self.tick_seconds)

    @classmethod
    def from_seconds(
        cls,
        *,
        heartbeat: float,
        election: float,
        tick: float | None = None,
        **overrides: object,
    ) -> "RaftConfig":
        """Build a config from durations in seconds; the only seconds-to-ticks conversion in Raft.

        ``tick`` defaults to the heartbeat interval. Durations round up to whole ticks, never below 1.
        Example: Consul's raft_multiplier=5 is ``from_seconds(heartbeat=0.5, election=5.0)``.
        """
        tick_s = heartbeat if tick is None else tick
        if not tick_s > 0:
            raise ValueError(f"tick must be positive, got {tick_s!r}")
        heartbeat_ticks = max(1, math.ceil(heartbeat / tick_s - 1e-9))
        election_ticks = max(1, math.ceil(election / tick_s - 1e-9))
        return cls(
            tick_seconds=tick_s,
            heartbeat_ticks=heartbeat_ticks,
            election_ticks=election_ticks,
            **overrides,  # type: ignore[arg-type]
        )
