"""Raft consensus for proconsul's servers: a sans-IO core (`RaftCore`) plus its records.

What lives here: re-exports of the public names of the pure modules (config, messages, quorum,
progress, log, storage, ready, core). A Trio shell driving the core belongs in its own module
(``actors/raft/actor.py``) and must not be imported from here.

What must never live here: imports of trio or anything doing IO.
"""

from .config import RaftConfig
from .core import RaftCore, apply_conf_change
from .errors import InvalidConfChange, NotLeader, ProposalDropped, RaftError, TransferRefused
from .messages import (
    WIRE_TYPES,
    AppendEntries,
    AppendResp,
    ConfChange,
    ConfState,
    Entry,
    HardState,
    Heartbeat,
    HeartbeatResp,
    InstallSnapshot,
    RaftMessage,
    RaftWire,
    ReadIndexReq,
    ReadIndexResp,
    RequestVote,
    SnapshotMeta,
    SnapshotResp,
    TimeoutNow,
    VoteResp,
)
from .ready import CompactResult, PeerStats, RaftStats, ReadState, Ready, SnapshotPayload, SnapshotRequest, SoftState
from .storage import MemoryStorage, StorageView, bootstrap_state

__all__ = [
    "WIRE_TYPES",
    "AppendEntries",
    "AppendResp",
    "CompactResult",
    "ConfChange",
    "ConfState",
    "Entry",
    "HardState",
    "Heartbeat",
    "HeartbeatResp",
    "InstallSnapshot",
    "InvalidConfChange",
    "MemoryStorage",
    "NotLeader",
    "PeerStats",
    "ProposalDropped",
    "RaftConfig",
    "RaftCore",
    "RaftError",
    "RaftMessage",
    "RaftStats",
    "RaftWire",
    "ReadIndexReq",
    "ReadIndexResp",
    "ReadState",
    "Ready",
    "RequestVote",
    "SnapshotMeta",
    "SnapshotPayload",
    "SnapshotRequest",
    "SnapshotResp",
    "SoftState",
    "StorageView",
    "TimeoutNow",
    "TransferRefused",
    "VoteResp",
    "apply_conf_change",
    "bootstrap_state",
]
