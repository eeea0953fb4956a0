"""Deterministic simulation of a Raft cluster on a hostile network (tier A: cores only, no Trio).

What lives here: `Sim`, one event heap in integer time (``UNITS`` per tick), servers driven through
`harness.NodeShell`, a network with per-link seeded RNG streams (drop, duplicate, delay, hence
reorder), partitions, crashes that lose everything not yet persisted through a Ready, restarts from
`MemoryStorage`, a client proposing and reading, optional membership churn, and the `Checker` that
watches the invariants of the Raft paper (Figure 3) while it runs:

* Election Safety: at most one leader per term.
* Log Matching: two logs holding an entry with the same index and term are identical up to it.
* Leader Completeness: a new leader holds every entry any server already applied.
* State Machine Safety: every server applies the same entry, and reaches the same digest, at each index.
* ReadIndex linearizability: a read point is never below an index applied anywhere before the read
  was requested.
* Liveness: after the faults stop, a value proposed afterwards is applied by every member within
  ``liveness_ticks``.

A run is a pure function of its seed: the heap is keyed (time, sequence number), every random choice
comes from a named `runtime.rng.derive` stream, and with ``trace=True`` a running hash of all events
proves it (`SimResult.trace_hash`). Failures raise `SimFailure` naming the seed and how to replay it.

What must never live here: wall-clock time, the global random module, or iteration over sets whose
order could differ between runs.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import deque
from dataclasses import dataclass, field

import msgspec

from actors.raft import (
    ConfChange,
    ConfState,
    Entry,
    InvalidConfChange,
    MemoryStorage,
    NotLeader,
    ProposalDropped,
    RaftConfig,
    RaftCore,
    RaftMessage,
    RaftWire,
)
from runtime.rng import derive

from .harness import NodeShell

UNITS = 100  # simulated time units per tick

_wire_encoder = msgspec.msgpack.Encoder()
_wire_decoder = msgspec.msgpack.Decoder(RaftWire)


class SimFailure(AssertionError):
    pass


def sim_config(**overrides: object) -> RaftConfig:
    """Production timings, but tiny snapshot/compaction/chunk sizes so the sim exercises them."""
    base: dict[str, object] = dict(
        snapshot_threshold=12,
        trailing_logs=4,
        snapshot_chunk_bytes=48,
        max_entries_per_append=8,
        max_inflight_appends=4,
    )
    base.update(overrides)
    return RaftConfig(**base)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SimProfile:
    """What one simulated run looks like; the seed picks everything inside these ranges."""

    voters: int = 3
    spares: int = 0  # extra servers, empty, that membership churn may add
    chaos_ticks: int = 240
    liveness_ticks: int = 120
    max_drop: float = 0.25
    dup: float = 0.03
    delay: tuple[int, int] = (3, 60)  # per message, in units (a tick is UNITS)
    long_delay_p: float = 0.02
    long_delay: int = 4 * UNITS
    disk_delay: tuple[int, int] = (0, 25)
    faults: bool = True
    fault_gap: tuple[int, int] = (8, 40)  # ticks between two fault actions
    crashes: bool = True
    membership: bool = False
    propose_gap: tuple[int, int] = (1, 6)  # ticks between client proposals
    read_gap: tuple[int, int] = (3, 12)
    snapshot_every: int | None = 12
    encode: bool = False  # push every message through the msgpack codec
    trace: bool = False
    config: RaftConfig = field(default_factory=sim_config)


@dataclass
class SimResult:
    seed: int
    trace_hash: str
    leaders_by_term: dict[int, str]
    applied_max: int
    delivered: int
    elections: int
    liveness_ticks: float | None  # from heal to the first post-heal value applied everywhere
    snapshots_installed: int
    reads_ok: int


class Checker:
    """Invariant checks, fed by the simulation as it runs."""

    def __init__(self, sim: "Sim") -> None:
        self.sim = sim
        self.leaders: dict[int, str] = {}
        self.committed: dict[int, tuple[int, str, bytes]] = {}
        self.digests: dict[int, bytes] = {}
        self.max_applied = 0
        self.leader_seen: dict[str, int] = {}
        self.snapshots_installed = 0

    def fail(self, what: str) -> None:
        self.sim.fail(what)

    def observe(self, node_id: str, core: RaftCore) -> None:
        if core.role != "leader":
            return
        term = core.term
        holder = self.leaders.setdefault(term, node_id)
        if holder != node_id:
            self.fail(f"Election Safety: {holder} and {node_id} both lead term {term}")
        if self.leader_seen.get(node_id) != term:
            self.leader_seen[node_id] = term
            self.leader_completeness(node_id, core)

    def leader_completeness(self, node_id: str, core: RaftCore) -> None:
        base, _, entries = core.log_entries()
        last = base + len(entries)
        for index, key in self.committed.items():
            if index > last:
                self.fail(f"Leader Completeness: {node_id} leads term {core.term} without applied entry {index}")
            if index > base:
                e = entries[index - base - 1]
                if (e.term, e.kind, e.data) != key:
                    self.fail(
                        f"Leader Completeness: {node_id} (term {core.term}) holds {e} at {index}, "
                        f"but {key} was applied there"
                    )

    def on_apply(self, node_id: str, entry: Entry, digest: bytes) -> None:
        key = (entry.term, entry.kind, entry.data)
        prev = self.committed.setdefault(entry.index, key)
        if prev != key:
            self.fail(f"State Machine Safety: {node_id} applied {key} at {entry.index}, another applied {prev}")
        known = self.digests.setdefault(entry.index, digest)
        if known != digest:
            self.fail(f"State Machine Safety: {node_id} reached a different state digest at {entry.index}")
        if entry.index > self.max_applied:
            self.max_applied = entry.index
        self.sim.applied_value(node_id, entry)

    def on_restore(self, node_id: str, index: int, digest: bytes) -> None:
        self.snapshots_installed += 1
        known = self.digests.setdefault(index, digest)
        if known != digest:
            self.fail(f"State Machine Safety: {node_id} installed a snapshot at {index} with a different digest")

    def log_matching(self, cores: list[tuple[str, RaftCore]]) -> None:
        views = [(n, *c.log_entries()) for n, c in cores]
        for i, (na, base_a, _, ents_a) in enumerate(views):
            for nb, base_b, _, ents_b in views[i + 1 :]:
                lo = max(base_a, base_b) + 1
                hi = min(base_a + len(ents_a), base_b + len(ents_b))
                top = 0
                for idx in range(hi, lo - 1, -1):
                    if ents_a[idx - base_a - 1].term == ents_b[idx - base_b - 1].term:
                        top = idx
                        break
                for idx in range(lo, top + 1):
                    if ents_a[idx - base_a - 1] != ents_b[idx - base_b - 1]:
                        self.fail(f"Log Matching: {na} and {nb} agree at {top} but differ at {idx}")


class Sim:
    """One simulated cluster run. Build it, call `run()`, get a `SimResult` or a `SimFailure`."""

    def __init__(self, seed: int, profile: SimProfile | None = None) -> None:
        self.seed = seed
        self.p = p = profile or SimProfile()
        self.ids = [f"n{i}" for i in range(1, p.voters + p.spares + 1)]
        founders = ConfState(voters=tuple(self.ids[: p.voters]))
        self.schedule_rng = derive(seed, "sim/schedule")
        self.client_rng = derive(seed, "sim/client")
        self.links = {(a, b): derive(seed, f"link:{a}->{b}") for a in self.ids for b in self.ids if a != b}
        self.disks = {n: derive(seed, f"disk:{n}") for n in self.ids}
        self.checker = Checker(self)
        self.nodes: dict[str, NodeShell] = {}
        for n in self.ids:
            storage = MemoryStorage.bootstrapped(founders) if n in founders.voters else MemoryStorage()
            self.nodes[n] = self._wire(NodeShell(n, p.config, storage, seed=seed, snapshot_every=p.snapshot_every))
        self.alive = set(self.ids)
        self.cut: set[tuple[str, str]] = set()
        self.drop = 0.0
        self.dup = p.dup
        self.now = 0
        self.heap: list[tuple[int, int, str, tuple]] = []
        self.seq = 0
        self.ready_pending: set[str] = set()
        self.trace = hashlib.blake2b(digest_size=16) if p.trace else None
        self.recent: deque[str] = deque(maxlen=40)
        self.delivered = 0
        self.proposed = 0
        self.reads_issued: dict[bytes, int] = {}
        self.reads_ok = 0
        self.healed_at: int | None = None
        self.post_heal_values: set[bytes] = set()
        self.post_heal_applied: dict[bytes, set[str]] = {}
        self.live_at: int | None = None

    # -- plumbing ----------------------------------------------------------------------------

    def _wire(self, node: NodeShell) -> NodeShell:
        node.on_apply = self.checker.on_apply
        node.on_restore = self.checker.on_restore
        return node

    def fail(self, what: str) -> None:
        recent = "\n  ".join(self.recent)
        raise SimFailure(
            f"seed={self.seed} t={self.now / UNITS:.2f} ticks: {what}\n"
            f"replay: RAFT_SIM_SEED={self.seed} .venv/bin/python -m pytest tests/raft/test_sim.py -q\n"
            f"last events:\n  {recent}"
        )

    def at(self, when: int, kind: str, *args: object) -> None:
        heapq.heappush(self.heap, (when, self.seq, kind, args))
        self.seq += 1

    def note(self, text: str) -> None:
        self.recent.append(f"{self.now / UNITS:8.2f} {text}")
        if self.trace is not None:
            self.trace.update(f"{self.now}|{text}\n".encode())

    def touched(self, node_id: str) -> None:
        node = self.nodes[node_id]
        self.checker.observe(node_id, node.core)
        if node_id not in self.ready_pending and node.core.has_ready():
            self.ready_pending.add(node_id)
            lo, hi = self.p.disk_delay
            self.at(self.now + self.disks[node_id].randint(lo, hi), "ready", node_id, node.incarnation)

    def transmit(self, msg: RaftMessage) -> None:
        if (msg.src, msg.dst) in self.cut:
            return
        r = self.links[(msg.src, msg.dst)]
        if r.random() < self.drop:
            return
        lo, hi = self.p.delay
        delay = r.randint(lo, hi)
        if r.random() < self.p.long_delay_p:
            delay += r.randint(0, self.p.long_delay)
        payload: object = _wire_encoder.encode(msg) if self.p.encode else msg
        self.at(self.now + delay, "deliver", payload)
        if r.random() < self.dup:
            self.at(self.now + delay + r.randint(lo, hi), "deliver", payload)

    # -- events ------------------------------------------------------------------------------

    def ev_tick(self, node_id: str, incarnation: int) -> None:
        node = self.nodes[node_id]
        if node_id not in self.alive or node.incarnation != incarnation:
            return
        node.core.tick()
        self.touched(node_id)
        self.at(self.now + UNITS, "tick", node_id, incarnation)

    def ev_ready(self, node_id: str, incarnation: int) -> None:
        node = self.nodes[node_id]
        if node_id not in self.alive or node.incarnation != incarnation:
            return
        self.ready_pending.discard(node_id)
        for msg in node.handle_ready():
            self.transmit(msg)
        for rs in node.read_states:
            if rs.error:
                continue
            floor = self.reads_issued.get(rs.ctx)
            if floor is not None and rs.index < floor:
                self.fail(f"ReadIndex: {node_id} got read point {rs.index} for {rs.ctx!r}, but {floor} was applied earlier")
            self.reads_ok += 1
        node.read_states.clear()
        self.checker.observe(node_id, node.core)

    def ev_deliver(self, payload: object) -> None:
        msg = _wire_decoder.decode(payload) if isinstance(payload, bytes) else payload
        assert isinstance(msg, RaftMessage)
        if msg.dst not in self.alive or (msg.src, msg.dst) in self.cut:
            return
        self.delivered += 1
        if self.trace is not None:
            self.note(f"deliver {msg!r}")
        node = self.nodes[msg.dst]
        node.core.step(msg)
        self.touched(msg.dst)

    def ev_client(self) -> None:
        leader = self.current_leader()
        if leader is not None:
            self.proposed += 1
            value = b"v%d" % self.proposed
            try:
                self.nodes[leader].core.propose(value)
            except (NotLeader, ProposalDropped):
                pass
            else:
                if self.healed_at is not None:
                    self.post_heal_values.add(value)
                self.touched(leader)
        lo, hi = self.p.propose_gap
        self.at(self.now + self.client_rng.randint(lo, hi) * UNITS + self.client_rng.randint(0, UNITS - 1), "client")

    def ev_read(self) -> None:
        alive = sorted(self.alive)
        if alive:
            node_id = self.client_rng.choice(alive)
            ctx = b"r%d" % len(self.reads_issued)
            self.reads_issued[ctx] = self.checker.max_applied
            self.nodes[node_id].core.read_index(ctx)
            self.touched(node_id)
        lo, hi = self.p.read_gap
        self.at(self.now + self.client_rng.randint(lo, hi) * UNITS + self.client_rng.randint(0, UNITS - 1), "read")

    def ev_fault(self) -> None:
        r = self.schedule_rng
        actions = ["partition_leader", "partition", "heal", "drop", "heal"]
        if self.p.crashes:
            actions += ["crash", "crash"]
        if self.p.membership:
            actions += ["membership", "membership", "membership"]
        action = r.choice(actions)
        if action == "partition_leader":
            leader = self.current_leader()
            if leader is not None:
                self.cut_groups([[leader], [n for n in self.ids if n != leader]])
        elif action == "partition":
            shuffled = list(self.ids)
            r.shuffle(shuffled)
            k = r.randint(1, len(shuffled) - 1)
            self.cut_groups([shuffled[:k], shuffled[k:]])
        elif action == "heal":
            self.cut.clear()
            self.note("heal")
        elif action == "drop":
            self.drop = r.uniform(0.0, self.p.max_drop)
            self.note(f"drop={self.drop:.2f}")
        elif action == "crash":
            alive = sorted(self.alive)
            if alive:
                victim = r.choice(alive)
                self.crash(victim)
                down_for = r.randint(10, 2 * UNITS) if r.random() < 0.4 else r.randint(3, 40) * UNITS
                self.at(self.now + down_for, "restart", victim)
        elif action == "membership":
            self.churn(r)
        lo, hi = self.p.fault_gap
        when = self.now + r.randint(lo, hi) * UNITS
        if when < self.p.chaos_ticks * UNITS:
            self.at(when, "fault")

    def ev_restart(self, node_id: str) -> None:
        if node_id in self.alive:
            return
        node = self._wire(self.nodes[node_id].restart())
        self.nodes[node_id] = node
        self.alive.add(node_id)
        self.note(f"restart {node_id} (incarnation {node.incarnation})")
        self.at(self.now + self.disks[node_id].randint(1, UNITS), "tick", node_id, node.incarnation)
        self.touched(node_id)

    def ev_heal_all(self) -> None:
        self.cut.clear()
        self.drop = 0.0
        self.dup = 0.0
        for n in self.ids:
            if n not in self.alive:
                self.ev_restart(n)
        self.healed_at = self.now
        self.note("faults over: healed, restarted, no drops")

    def ev_check(self) -> None:
        self.checker.log_matching([(n, self.nodes[n].core) for n in sorted(self.alive)])
        self.at(self.now + 25 * UNITS, "check")

    # -- faults ------------------------------------------------------------------------------

    def cut_groups(self, groups: list[list[str]]) -> None:
        self.cut.clear()
        for a in self.ids:
            for b in self.ids:
                if a != b and not any(a in g and b in g for g in groups):
                    self.cut.add((a, b))
        self.note(f"partition {groups}")

    def crash(self, node_id: str) -> None:
        self.alive.discard(node_id)
        self.ready_pending.discard(node_id)
        self.note(f"crash {node_id}")

    def churn(self, r) -> None:
        leader = self.current_leader()
        if leader is None:
            return
        core = self.nodes[leader].core
        conf = core.conf
        non_members = [n for n in self.ids if n not in conf.voters and n not in conf.learners]
        options: list[ConfChange] = []
        options += [ConfChange(op="add_learner", node=n) for n in non_members]
        options += [ConfChange(op="add_voter", node=n) for n in conf.learners]
        if len(conf.voters) > 3:
            options += [ConfChange(op="remove", node=n) for n in conf.voters]
        options += [ConfChange(op="remove", node=n) for n in conf.learners]
        if not options:
            return
        change = r.choice(options)
        try:
            core.propose_conf_change(change)
        except (ProposalDropped, InvalidConfChange, NotLeader):
            return
        self.note(f"{leader} proposes {change.op} {change.node}")
        self.touched(leader)

    # -- observation -------------------------------------------------------------------------

    def current_leader(self) -> str | None:
        best: tuple[int, str] | None = None
        for n in sorted(self.alive):
            core = self.nodes[n].core
            if core.role == "leader" and (best is None or core.term > best[0]):
                best = (core.term, n)
        return best[1] if best else None

    def applied_value(self, node_id: str, entry: Entry) -> None:
        if entry.kind != "normal" or entry.data not in self.post_heal_values or self.live_at is not None:
            return
        seen = self.post_heal_applied.setdefault(entry.data, set())
        seen.add(node_id)
        leader = self.current_leader()
        if leader is None:
            return
        conf = self.nodes[leader].core.conf
        if all(m in seen for m in conf.members()):
            self.live_at = self.now

    # -- run ---------------------------------------------------------------------------------

    def start(self, *, client: bool = True) -> None:
        """Schedule the servers' tickers, the client, the checker and (if enabled) the faults."""
        p = self.p
        for n in self.ids:
            self.at(self.disks[n].randint(0, UNITS - 1), "tick", n, 0)
        if client:
            self.at(2 * UNITS, "client")
            self.at(5 * UNITS, "read")
        if p.faults:
            self.at(self.schedule_rng.randint(*p.fault_gap) * UNITS, "fault")
        self.at(25 * UNITS, "check")

    def run_until(self, deadline: int, stop=None) -> bool:
        """Process events up to time ``deadline``; True if ``stop()`` became true first."""
        handlers = self._handlers
        while self.heap and self.heap[0][0] <= deadline:
            when, _, kind, args = heapq.heappop(self.heap)
            self.now = when
            if self.trace is not None and kind != "deliver":
                self.note(f"{kind} {args!r}")
            handlers[kind](*args)
            if stop is not None and stop():
                return True
        self.now = max(self.now, deadline)
        return False

    @property
    def _handlers(self) -> dict:
        return {
            "tick": self.ev_tick,
            "ready": self.ev_ready,
            "deliver": self.ev_deliver,
            "client": self.ev_client,
            "read": self.ev_read,
            "fault": self.ev_fault,
            "restart": self.ev_restart,
            "heal_all": self.ev_heal_all,
            "check": self.ev_check,
        }

    def run(self) -> SimResult:
        """Chaos for ``chaos_ticks``, then heal everything and demand liveness."""
        p = self.p
        self.start()
        chaos_end = p.chaos_ticks * UNITS
        self.at(chaos_end, "heal_all")
        deadline = chaos_end + p.liveness_ticks * UNITS
        try:
            self.run_until(deadline, stop=lambda: self.live_at is not None and self.now >= self.live_at + 10 * UNITS)
        except SimFailure:
            raise
        except AssertionError as err:  # an invariant inside a core or the harness: still name the seed
            self.fail(f"assertion: {err}")
        self.checker.log_matching([(n, self.nodes[n].core) for n in sorted(self.alive)])
        if self.live_at is None:
            roles = {n: (self.nodes[n].core.role, self.nodes[n].core.term) for n in sorted(self.alive)}
            self.fail(f"Liveness: no value proposed after the heal was applied by every member within "
                      f"{p.liveness_ticks} ticks; roles {roles}")
        assert self.healed_at is not None and self.live_at is not None
        return SimResult(
            seed=self.seed,
            trace_hash=self.trace.hexdigest() if self.trace is not None else "",
            leaders_by_term=dict(self.checker.leaders),
            applied_max=self.checker.max_applied,
            delivered=self.delivered,
            elections=len(self.checker.leaders),
            liveness_ticks=(self.live_at - self.healed_at) / UNITS,
            snapshots_installed=self.checker.snapshots_installed,
            reads_ok=self.reads_ok,
        )


def measure_failover(seed: int, config: RaftConfig | None = None) -> float:
    """Seconds from killing a settled leader to the next leader, on a loopback-like network
    (0.5 to 2 ms per message, no loss), three servers, default timings unless ``config``."""
    profile = SimProfile(
        faults=False,
        delay=(1, 4),
        long_delay_p=0.0,
        dup=0.0,
        disk_delay=(0, 2),
        snapshot_every=None,
        config=config or RaftConfig(),
    )
    sim = Sim(seed, profile)
    sim.start(client=False)
    if not sim.run_until(200 * UNITS, stop=lambda: sim.current_leader() is not None):
        sim.fail("no first leader")
    settle = sim.now + sim.schedule_rng.randint(5 * UNITS, 25 * UNITS)  # kill at a random phase
    sim.run_until(settle)
    old = sim.current_leader()
    assert old is not None
    sim.crash(old)
    killed_at = sim.now
    if not sim.run_until(killed_at + 400 * UNITS, stop=lambda: sim.current_leader() is not None):
        sim.fail("no leader after the old one was killed")
    return (sim.now - killed_at) / UNITS * profile.config.tick_seconds
