"""Test-side shell for `RaftCore`, plus a hand-driven network for table tests.

What lives here: `Fsm` (a toy state machine with a running digest), `NodeShell` (does what the real
Trio shell will do with a Ready: persist to `MemoryStorage`, collect messages, apply, answer
snapshot requests, advance) and `Cluster` (etcd's network.go idea: a FIFO of messages the test
delivers until quiet, with cuttable links and filters).

What must never live here: time or randomness of its own. Randomness comes from
`runtime.rng.derive(seed, name)`, so every table test is exactly repeatable.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable

import msgspec

from actors.raft import (
    ConfChange,
    ConfState,
    Entry,
    MemoryStorage,
    RaftConfig,
    RaftCore,
    RaftMessage,
    ReadState,
    Ready,
)
from runtime.rng import derive

_fsm_codec = msgspec.msgpack.Encoder()
_fsm_decoder = msgspec.msgpack.Decoder(tuple[int, bytes, list[bytes]])


class Fsm:
    """Applied normal entries in order, and a digest chained over (index, term, data)."""

    __slots__ = ("applied_index", "digest", "values")

    def __init__(self) -> None:
        self.applied_index = 0
        self.digest = b""
        self.values: list[bytes] = []

    def apply(self, entry: Entry) -> None:
        assert entry.index == self.applied_index + 1, f"applied {entry.index} after {self.applied_index}"
        self.applied_index = entry.index
        if entry.kind == "normal":
            self.values.append(entry.data)
            h = hashlib.blake2b(self.digest, digest_size=16)
            h.update(b"%d:%d:" % (entry.index, entry.term))
            h.update(entry.data)
            self.digest = h.digest()

    def snapshot(self) -> bytes:
        return _fsm_codec.encode((self.applied_index, self.digest, self.values))

    def restore(self, data: bytes) -> None:
        self.applied_index, self.digest, self.values = _fsm_decoder.decode(data)


class NodeShell:
    """One server as the tests drive it: a core, its storage, its state machine.

    ``snapshot_every``: snapshot and compact once that many entries were applied since the last
    snapshot (None: never automatically).
    """

    def __init__(
        self,
        node_id: str,
        config: RaftConfig,
        storage: MemoryStorage,
        *,
        seed: int = 0,
        incarnation: int = 0,
        snapshot_every: int | None = None,
    ) -> None:
        self.id = node_id
        self.config = config
        self.storage = storage
        self.seed = seed
        self.incarnation = incarnation
        self.snapshot_every = snapshot_every
        self.core = RaftCore(node_id, config, derive(seed, f"node:{node_id}#{incarnation}"), storage_view=storage)
        self.fsm = Fsm()
        meta = storage.snapshot_meta()
        if meta.index:
            self.fsm.restore(storage.snapshot_data())
            assert self.fsm.applied_index == meta.index
        self.read_states: list[ReadState] = []
        self.readies: list[Ready] = []
        self.keep_readies = False
        # hooks for checkers: (node, entry, digest after applying), (node, snapshot index, digest)
        self.on_apply: Callable[[str, Entry, bytes], None] | None = None
        self.on_restore: Callable[[str, int, bytes], None] | None = None

    def handle_ready(self) -> list[RaftMessage]:
        """Handle every pending Ready in contract order; return the messages to send."""
        out: list[RaftMessage] = []
        core = self.core
        while core.has_ready():
            rd = core.ready()
            if self.keep_readies:
                self.readies.append(rd)
            # 1. persist
            self.storage.save_ready(rd)
            # 2. send (collected; the caller puts them on the network after we return)
            out.extend(rd.messages)
            # 3. restore, then apply
            if rd.snapshot is not None:
                self.fsm.restore(rd.snapshot.data)
                assert self.fsm.applied_index == rd.snapshot.meta.index
                if self.on_restore is not None:
                    self.on_restore(self.id, rd.snapshot.meta.index, self.fsm.digest)
            for entry in rd.committed_entries:
                self.fsm.apply(entry)
                if self.on_apply is not None:
                    self.on_apply(self.id, entry, self.fsm.digest)
            # 4. reads and snapshot data
            self.read_states.extend(rd.read_states)
            for req in rd.snapshot_requests:
                chunk = self.storage.snapshot_chunk(req.index, req.offset, req.max_bytes)
                if chunk is None:
                    core.report_snapshot(req.peer, ok=False)
                else:
                    core.snapshot_chunk(req.peer, req.index, req.offset, chunk[0], chunk[1])
            # 5. advance
            core.advance(rd)
            if self.snapshot_every is not None:
                if core.applied_index - self.storage.snapshot_meta().index >= self.snapshot_every:
                    self.take_snapshot()
        return out

    def take_snapshot(self) -> None:
        """Snapshot the state machine at its applied index and compact the log."""
        index = self.core.applied_index
        if index <= self.storage.snapshot_meta().index:
            return
        assert self.fsm.applied_index == index
        result = self.core.compact(index)
        self.storage.save_snapshot(result.meta, self.fsm.snapshot())
        self.storage.compact(result.first_index)

    def restart(self) -> "NodeShell":
        """A new incarnation built from what this one persisted (everything else is lost)."""
        return NodeShell(
            self.id,
            self.config,
            self.storage,
            seed=self.seed,
            incarnation=self.incarnation + 1,
            snapshot_every=self.snapshot_every,
        )


class Cluster:
    """Servers joined by a hand-driven FIFO network (no time; the test ticks explicitly)."""

    def __init__(
        self,
        voters: Iterable[str],
        *,
        learners: Iterable[str] = (),
        config: RaftConfig | None = None,
        seed: int = 0,
        snapshot_every: int | None = None,
    ) -> None:
        self.config = config or RaftConfig()
        self.seed = seed
        self.snapshot_every = snapshot_every
        conf = ConfState(voters=tuple(sorted(voters)), learners=tuple(sorted(learners)))
        self.nodes: dict[str, NodeShell] = {}
        for node_id in conf.members():
            self.nodes[node_id] = NodeShell(
                node_id,
                self.config,
                MemoryStorage.bootstrapped(conf),
                seed=seed,
                snapshot_every=snapshot_every,
            )
        self.down: set[str] = set()
        self.cut: set[tuple[str, str]] = set()
        self.filter: Callable[[RaftMessage], bool] | None = None  # True: drop
        self.queue: deque[RaftMessage] = deque()
        self.delivered: list[RaftMessage] = []

    # -- topology ----------------------------------------------------------------------------

    def add_empty(self, node_id: str) -> NodeShell:
        """A new server with an empty log (to be added with a membership change)."""
        node = NodeShell(node_id, self.config, MemoryStorage(), seed=self.seed, snapshot_every=self.snapshot_every)
        self.nodes[node_id] = node
        return node

    def isolate(self, node_id: str) -> None:
        for other in self.nodes:
            if other != node_id:
                self.cut.add((node_id, other))
                self.cut.add((other, node_id))

    def partition(self, *groups: Iterable[str]) -> None:
        sets = [set(g) for g in groups]
        for a in self.nodes:
            for b in self.nodes:
                if a != b and not any(a in s and b in s for s in sets):
                    self.cut.add((a, b))

    def heal(self) -> None:
        self.cut.clear()

    def crash(self, node_id: str) -> None:
        self.down.add(node_id)

    def restart(self, node_id: str) -> NodeShell:
        self.down.discard(node_id)
        node = self.nodes[node_id].restart()
        self.nodes[node_id] = node
        return node

    # -- driving -----------------------------------------------------------------------------

    def core(self, node_id: str) -> RaftCore:
        return self.nodes[node_id].core

    def flush(self, node_id: str) -> None:
        if node_id in self.down:
            return
        for msg in self.nodes[node_id].handle_ready():
            self.send(msg)

    def send(self, msg: RaftMessage) -> None:
        if (msg.src, msg.dst) in self.cut or msg.dst not in self.nodes:
            return
        if self.filter is not None and self.filter(msg):
            return
        self.queue.append(msg)

    def deliver_one(self) -> RaftMessage | None:
        if not self.queue:
            return None
        msg = self.queue.popleft()
        if msg.dst in self.down or (msg.src, msg.dst) in self.cut:
            return msg
        self.delivered.append(msg)
        self.nodes[msg.dst].core.step(msg)
        self.flush(msg.dst)
        return msg

    def stabilize(self, limit: int = 100_000) -> None:
        """Deliver until no message is in flight and no server has work pending."""
        for node_id in list(self.nodes):
            self.flush(node_id)
        for _ in range(limit):
            if self.deliver_one() is None:
                return
        raise AssertionError("network did not quiesce")

    def tick(self, *node_ids: str, n: int = 1) -> None:
        """Tick the given servers (default: all live ones) ``n`` times, stabilizing after each."""
        targets = node_ids or tuple(self.nodes)
        for _ in range(n):
            for node_id in targets:
                if node_id not in self.down:
                    self.nodes[node_id].core.tick()
                    self.flush(node_id)
            self.stabilize()

    def campaign(self, node_id: str) -> None:
        self.core(node_id).campaign()
        self.stabilize()

    def propose(self, node_id: str, data: bytes) -> int:
        index = self.core(node_id).propose(data)
        self.stabilize()
        return index

    def conf_change(self, node_id: str, op: str, node: str) -> int:
        index = self.core(node_id).propose_conf_change(ConfChange(op=op, node=node))  # type: ignore[arg-type]
        self.stabilize()
        return index

    # -- observing ---------------------------------------------------------------------------

    def leaders(self) -> list[str]:
        return [n for n, node in self.nodes.items() if n not in self.down and node.core.role == "leader"]

    def leader(self) -> str:
        leaders = self.leaders()
        assert len(leaders) == 1, f"expected one leader, found {leaders}"
        return leaders[0]

    def values(self, node_id: str) -> list[bytes]:
        return list(self.nodes[node_id].fsm.values)

    def terms(self) -> dict[str, int]:
        return {n: node.core.term for n, node in self.nodes.items()}
