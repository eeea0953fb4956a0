"""One gossip pool: its shared state, which outlives restarts, and the supervised subtree that runs it.

The subtree (``rest_for_one``: a listener failure restarts everything after it)::

    gossip.lan          kind gossip
    ├── tcp             GossipListener: TCP on the pool port, protocol "gossip" (push-pull, ping fallback)
    ├── udp             GossipDatagrams: UDP on the same port
    ├── swim            SwimShell: the SerfCore loop
    └── join            RetryJoiner (only with retry_join; transient: ends once joined)

What lives here: `PoolState` (settings, bound port, the input channel, codec and keyring, the published
member list with change notification, counters, the user-event sink) and `pool_spec`. `PoolState.call`
sends a command to the running shell and waits a bounded time for its answer; `PoolState.join`
resolves user-written addresses first.

What must never live here: the protocol loop (``shell``) or HTTP.
"""

from __future__ import annotations

import math
from random import Random  # the type of the seeded streams handed down; never the global generator
from collections import Counter
from typing import Any, Callable

import trio

from actors.gossip.crypto import Keyring
from actors.gossip.event_log import EventLog
from actors.gossip.inputs import Command, GossipUnavailable, JoinCmd, JoinOutcome
from actors.gossip.joiner import RetryJoiner
from actors.gossip.members import SerfMember
from actors.gossip.settings import JoinAddressError, PoolSettings, parse_join_address
from actors.gossip.shell import SwimShell
from actors.gossip.streams import register_protocol
from actors.gossip.tags import ServerInfo, server_info
from actors.gossip.transport import GossipDatagrams, GossipListener
from actors.gossip.wire import Codec
from actors.swim.messages import Addr
from runtime.log import get_logger
from runtime.supervisor import ChildSpec, RestartPolicy, Supervisor
from runtime.transport.addresses import AddressBook
from runtime.transport.faults import FaultTable
from runtime.transport.protocols import StreamProtocols

log = get_logger("gossip")

POOL_POLICY = RestartPolicy(strategy="rest_for_one", max_restarts=5, within_seconds=30.0)
INPUT_QUEUE = 1024  # datagrams beyond this wait in the kernel or are dropped by the endpoint
WARN_INTERVAL = 10.0  # seconds between two warnings about the same source and problem


class PoolState:
    """Everything about one pool that must survive a restart of its actors."""

    def __init__(self, settings: PoolSettings, *, keyring: Keyring | None, rng: Callable[[str], Random],
                 faults: FaultTable | None = None, events: EventLog | None = None) -> None:
        self.settings = settings
        self.keyring = keyring
        self.codec = Codec(keyring)
        self.faults = faults
        self.events = events
        self._rng = rng
        self.port = settings.port
        self.inputs_send, self.inputs_recv = trio.open_memory_channel[Any](INPUT_QUEUE)
        self.protocols = StreamProtocols()
        self.addresses = AddressBook()
        self.udp: Any = None  # the running GossipDatagrams, set by it
        self.shell: Any = None  # the running SwimShell, set by it
        self.incarnations = 0
        self.joined = False
        self.known_peers: list[Addr] = []
        self.members: list[SerfMember] = []
        self.version = 0
        self._changed = trio.Event()
        self.listeners: list[Callable[[list[SerfMember], list[ServerInfo]], None]] = []
        self.drops: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self._warned: dict[tuple[str, str], float] = {}
        self.on_user_event: Callable[[int, str, bytes], None] | None = None
        self.on_keyring_changed: Callable[[], None] | None = None
        self.request_shutdown: Callable[[str], None] | None = None

    # -- identity --------------------------------------------------------------------------------------

    @property
    def address(self) -> Addr:
        """The advertised (host, port): what other members use to reach this pool."""
        return (self.settings.advertise_host, self.port)

    @property
    def name(self) -> str:
        return self.settings.member_name

    def on_tcp_bound(self, addr: tuple[str, int]) -> None:
        if self.port == 0:
            self.port = addr[1]
            log.info("gossip port bound", pool=self.settings.pool, address=f"{addr[0]}:{addr[1]}")

    def next_rng(self) -> Random:
        """The shell's seeded stream: ``gossip.<pool>`` first, then a fresh one per restart."""
        self.incarnations += 1
        base = f"gossip.{self.settings.pool}"
        return self._rng(base if self.incarnations == 1 else f"{base}#{self.incarnations}")

    # -- membership published by the shell --------------------------------------------------------------

    def publish(self, members: list[SerfMember]) -> None:
        self.members = members
        self.version += 1
        me = self.name
        for m in members:
            self.addresses.set((m.address, m.port), m.name)
        self.known_peers = [(m.address, m.port) for m in members if m.name != me and m.status == "alive"]
        self._changed.set()
        self._changed = trio.Event()
        servers = self.servers()
        for listener in list(self.listeners):
            try:
                listener(members, servers)
            except Exception as exc:  # a subscriber's bug must not stop gossip
                log.warning("members_changed listener failed", error=f"{type(exc).__name__}: {exc}")

    def servers(self) -> list[ServerInfo]:
        wan = self.settings.pool == "wan"
        out = []
        for m in self.members:
            if m.status != "alive":
                continue
            info = server_info(m.name, m.address, m.tags, m.status, wan=wan)
            if info is not None and (wan or info.datacenter == self.settings.datacenter):
                out.append(info)
        return out

    def local_member(self) -> SerfMember | None:
        return next((m for m in self.members if m.name == self.name), None)

    async def wait_changed(self, version: int, timeout: float = math.inf) -> int:
        with trio.move_on_after(timeout):
            while self.version == version:
                await self._changed.wait()
        return self.version

    # -- commands to the shell --------------------------------------------------------------------------

    async def call(self, cmd: Command, timeout: float) -> Any:
        """Hand ``cmd`` to the shell and wait for its answer. A command given up on is marked answered,
        so a shell that starts later never acts on it (a stale leave must not happen by surprise)."""
        with trio.move_on_after(timeout):
            await self.inputs_send.send(cmd)
            return await cmd.reply.wait()
        error = GossipUnavailable(f"gossip ({self.settings.pool}) did not answer within {timeout:g}s")
        cmd.reply.fail(error)
        raise error

    async def join(self, addresses: list[str]) -> JoinOutcome:
        """Join through any of ``addresses`` (``host[:port]``; the default port is ours)."""
        errors: list[str] = []
        resolved: list[Addr] = []
        labels: dict[Addr, str] = {}
        for text in addresses:
            try:
                host, port = parse_join_address(text, self.port)
                addr = await resolve(host, port)
            except (JoinAddressError, OSError) as err:
                errors.append(f"Failed to join {text}: {err}")
                continue
            if addr not in labels:
                resolved.append(addr)
                labels[addr] = text
        if not resolved:
            return JoinOutcome(contacted=0, errors=errors)
        outcome: JoinOutcome = await self.call(JoinCmd(resolved, labels), self.settings.swim.tcp_timeout + 5.0)
        return JoinOutcome(contacted=outcome.contacted, errors=errors + outcome.errors)

    # -- bookkeeping shared by the pool's actors --------------------------------------------------------

    def drop(self, reason: str, source: Addr, detail: str) -> None:
        """Count a message we refused; warn about it at most once per source and reason per interval."""
        self.drops[reason] += 1
        key = (f"{source[0]}:{source[1]}", reason)
        now = trio.current_time()
        if now - self._warned.get(key, -math.inf) >= WARN_INTERVAL:
            self._warned[key] = now
            if len(self._warned) > 1024:
                self._warned.clear()
            log.warning("gossip message dropped", pool=self.settings.pool, source=key[0], reason=reason,
                        detail=detail)


async def resolve(host: str, port: int) -> Addr:
    """One address for ``host`` (IPv4 preferred), as getaddrinfo finds it."""
    infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"no address found for {host}")
    infos.sort(key=lambda info: info[0] != trio.socket.AF_INET)
    sockaddr = infos[0][4]
    return (sockaddr[0], sockaddr[1])


def pool_spec(state: PoolState) -> ChildSpec:
    """The supervised subtree ``gossip.<pool>``."""
    register_protocol(state)
    children = [
        ChildSpec("tcp", GossipListener, state),
        ChildSpec("udp", GossipDatagrams, state),
        ChildSpec("swim", SwimShell, state),
    ]
    if state.settings.retry_join:
        children.append(ChildSpec("join", RetryJoiner, state, restart="transient"))
    return ChildSpec(f"gossip.{state.settings.pool}", Supervisor, children, POOL_POLICY, kind="gossip")
