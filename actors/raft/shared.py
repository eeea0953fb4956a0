"""What the Raft node actor publishes for the rest of the agent, and what survives its restarts.

What lives here: `RaftShared`, one per server agent, created before the raft subtree starts and kept
in ``ctx.extras["raft"]``. It holds the durable storage object (so an in-memory ``-dev`` log survives a
crash of the node actor, as a disk would), the current state-store replica and its watch registry,
the node's published view (role, term, leader, commit and applied indexes, last leader contact), the
server directory (Raft ID -> RPC address) and its reverse, the `AddressBook` by which the server's RPC
client names peers for the fault table (kept in step by `update_directory`), recent apply results by
index, and the waits built on them (`wait_applied`, `wait_leader_change`). The HTTP status/operator
endpoints read it too.

What must never live here: decisions. The node actor is the only writer of the published fields;
everyone else reads or waits.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import trio

from actors.backend import Waiters
from actors.raft.messages import ConfState
from actors.state.store import Applied, StateStore
from actors.state.watch import WatchRegistry
from runtime.transport.addresses import Address, AddressBook

RECENT_RESULTS = 8192  # apply results kept by index for forwarded writes to pick up


class RaftShared:
    def __init__(self, node_id: str, storage: Any, *, rpc_address: Address) -> None:
        self.node_id = node_id
        self.storage = storage
        self.rpc_address = rpc_address
        self.store = StateStore()
        self.registry = WatchRegistry()
        self.waiters = Waiters(self.registry)
        # published by the node actor
        self.role = "follower"
        self.term = 0
        self.leader: str | None = None
        self.commit_index = 0
        self.applied_index = 0
        self.leader_ready_term = 0  # the term in which this server, as leader, applied an entry of its own
        self.last_contact: float | None = None  # trio time this server last heard from a leader
        self.conf = ConfState()
        self.peer_match: dict[str, int] = {}
        self.removed_at: dict[str, float] = {}
        self.lease_until = 0.0  # leader only: trio time until which default reads may skip ReadIndex  # trio time a member left the configuration (applied)  # leader only: highest index known replicated per peer
        self.stats: dict[str, Any] = {}
        # server directory: raft id (node name) -> server RPC address
        self.directory: dict[str, Address] = {node_id: rpc_address}
        self.addresses = AddressBook({rpc_address: node_id})  # the directory reversed, for fault rules
        self._recent: OrderedDict[int, Applied] = OrderedDict()
        self._applied_event = trio.Event()
        self._leader_event = trio.Event()
        self.directory_changed = trio.Event()

    # -- written by the node ------------------------------------------------------------------------

    def record_applied(self, applied: Applied) -> None:
        self._recent[applied.index] = applied
        while len(self._recent) > RECENT_RESULTS:
            self._recent.popitem(last=False)

    def set_applied(self, index: int) -> None:
        if index != self.applied_index:
            self.applied_index = index
            self._applied_event.set()
            self._applied_event = trio.Event()

    def set_leader(self, leader: str | None, role: str, term: int) -> None:
        changed = (leader, role) != (self.leader, self.role)
        self.leader, self.role, self.term = leader, role, term
        if changed:
            self._leader_event.set()
            self._leader_event = trio.Event()

    def replace_store(self, store: StateStore) -> None:
        """A snapshot was restored: swap the replica and wake every blocked query to re-read."""
        self.store = store
        self.waiters.wake_all()

    def update_directory(self, servers: dict[str, Address]) -> None:
        merged = {**self.directory, **servers, self.node_id: self.rpc_address}
        if merged != self.directory:
            self.directory = merged
            for node, address in merged.items():
                self.addresses.set(address, node)
            self.directory_changed.set()
            self.directory_changed = trio.Event()

    # -- read by everyone ---------------------------------------------------------------------------

    def result(self, index: int) -> Applied | None:
        return self._recent.get(index)

    async def wait_applied(self, index: int) -> None:
        while self.applied_index < index:
            await self._applied_event.wait()

    async def wait_leader_change(self) -> None:
        await self._leader_event.wait()

    def address_of(self, node: str | None) -> Address | None:
        return None if node is None else self.directory.get(node)

    def leader_address(self) -> str:
        address = self.address_of(self.leader)
        return "" if address is None else f"{address[0]}:{address[1]}"

    def peer_addresses(self) -> list[str]:
        out = []
        for voter in self.conf.voters:
            address = self.directory.get(voter)
            if address is not None:
                out.append(f"{address[0]}:{address[1]}")
        return out

    def raft_configuration(self) -> dict[str, Any]:
        servers = []
        for member in (*self.conf.voters, *self.conf.learners):
            address = self.directory.get(member)
            servers.append({
                "ID": member,
                "Node": member,
                "Address": f"{address[0]}:{address[1]}" if address else "",
                "Leader": member == self.leader,
                "Voter": member in self.conf.voters,
                "ProtocolVersion": "3",
                "LastIndex": self.commit_index if member == self.node_id else self.peer_match.get(member, 0),
            })
        # Consul reports Index 0 while the configuration is still the one written at bootstrap (the
        # founding entry, index 1 in our log), and the index of the latest change afterwards.
        conf_index = self.stats.get("conf_index", 0)
        return {"Servers": servers, "Index": 0 if conf_index <= 1 else conf_index}

    def autopilot_health(self) -> dict[str, Any]:
        """Consul's ``/v1/operator/autopilot/health`` document from this server's view (leader's is best)."""
        servers = []
        healthy_voters = 0
        for member in (*self.conf.voters, *self.conf.learners):
            address = self.directory.get(member)
            if member == self.node_id:
                last_index = self.applied_index
            else:
                last_index = self.peer_match.get(member, 0)
            lag = self.commit_index - last_index
            healthy = (member == self.node_id or self.role != "leader" or lag < 250) and address is not None
            if healthy and member in self.conf.voters:
                healthy_voters += 1
            servers.append({
                "ID": member, "Name": member,
                "Address": f"{address[0]}:{address[1]}" if address else "",
                "SerfStatus": "alive", "Version": "", "Leader": member == self.leader,
                "LastContact": "0s", "LastTerm": self.term, "LastIndex": last_index,
                "Healthy": healthy, "Voter": member in self.conf.voters, "StableSince": "",
            })
        quorum = len(self.conf.voters) // 2 + 1
        tolerance = max(0, healthy_voters - quorum)
        return {"Healthy": self.leader is not None and healthy_voters >= quorum,
                "FailureTolerance": tolerance, "Servers": servers}
