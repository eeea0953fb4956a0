"""proconsul's state store: the Raft state machine behind Consul's KV, catalog, health and session APIs.

Pure Python: no trio, no IO, no clock, no randomness. The pieces:

* `commands`  — what the leader proposes (msgspec tagged Structs) and their codec.
* `models`    — what is stored and returned, shaped like Consul's JSON.
* `store`     — `StateStore`: ``apply(index, command) -> Applied`` and the reads.
* `txn`       — the transaction verbs.
* `watch`     — `WatchSet` / `WatchRegistry`: which blocking queries a write wakes.
* `snapshot`  — whole-store snapshot bytes and restore.
* `errors`    — `StoreError` and its kinds.
"""

from .commands import (
    COMMAND_TYPES,
    CheckUpdate,
    Command,
    KVDelete,
    KVSet,
    NodeDeregister,
    NodeRegister,
    SessionCreate,
    SessionDestroy,
    SessionRenew,
    StateCommand,
    TombstoneReap,
    Txn,
    TxnCheckOp,
    TxnKVOp,
    TxnNodeOp,
    TxnOp,
    TxnServiceOp,
    decode_command,
    encode_command,
)
from .errors import InvalidInput, NotFound, StoreError, TooLarge
from .models import (
    HealthCheck,
    KVEntry,
    Node,
    NodeService,
    NodeServiceList,
    NodeServices,
    ServiceAddress,
    ServiceCheck,
    ServiceEntry,
    ServiceNode,
    Session,
    TxnError,
    TxnResponse,
    TxnResult,
    Weights,
)
from .store import MAX_VALUE_SIZE, Applied, StateStore, expired_sessions
from .txn import is_read_only
from .watch import WatchRegistry, WatchSet

__all__ = [
    "COMMAND_TYPES",
    "MAX_VALUE_SIZE",
    "Applied",
    "CheckUpdate",
    "Command",
    "HealthCheck",
    "InvalidInput",
    "KVDelete",
    "KVEntry",
    "KVSet",
    "Node",
    "NodeDeregister",
    "NodeRegister",
    "NodeService",
    "NodeServiceList",
    "NodeServices",
    "NotFound",
    "ServiceAddress",
    "ServiceCheck",
    "ServiceEntry",
    "ServiceNode",
    "Session",
    "SessionCreate",
    "SessionDestroy",
    "SessionRenew",
    "StateCommand",
    "StateStore",
    "StoreError",
    "TombstoneReap",
    "TooLarge",
    "Txn",
    "TxnCheckOp",
    "TxnError",
    "TxnKVOp",
    "TxnNodeOp",
    "TxnOp",
    "TxnResponse",
    "TxnResult",
    "TxnServiceOp",
    "WatchRegistry",
    "WatchSet",
    "Weights",
    "decode_command",
    "encode_command",
    "expired_sessions",
    "is_read_only",
]
