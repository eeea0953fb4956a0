"""Configuration of the SWIM core: every knob, its unit, its default and why.

What lives here: `SwimConfig`, a frozen Struct whose fields mirror hashicorp/memberlist's ``Config`` (and
the few Serf settings the core needs for reaping), the presets `lan`, `wan`, `local` and `sim`, each built
by overriding `lan`, and `SwimConfig.validate`, which names impossible combinations.

What must never live here: protocol logic or IO. All durations are float seconds; counts are ints.

Scaling knobs state their formula next to the field. ``N`` is the number of members the local node knows,
itself included, until they are reaped.
"""

from __future__ import annotations

import msgspec

HOUR = 3600.0


class SwimConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Failure-detector and dissemination settings. Defaults are memberlist's ``DefaultLANConfig``."""

    # --- probing (failure detection) -------------------------------------------------------------
    # memberlist ProbeInterval. Seconds between two probe rounds, scaled by (health score + 1) under
    # Lifeguard. 1 s detects a crash in ~1.6 s on average (SWIM's e/(e-1) periods) at one probe per
    # node per second, which is cheap on a LAN.
    probe_interval: float = 1.0
    # memberlist ProbeTimeout. Seconds to wait for the direct ack before asking helpers to probe
    # indirectly; scaled by (health score + 1). Should sit near the 99th percentile RTT; must be below
    # probe_interval so the indirect probe has time to run inside the round.
    probe_timeout: float = 0.5
    # memberlist IndirectChecks. Helpers asked to ping the target when the direct ping times out. More
    # helpers make a false suspicion from one lossy path less likely, at 4 messages per helper.
    indirect_checks: int = 3
    # Not a memberlist knob. A helper sends its nack after nack_timeout_ratio * probe_timeout without
    # an ack. memberlist waits the full probe_timeout, which makes the nack arrive just after the
    # prober's round has closed when the health score is 0; 0.8 leaves room for the return trip (as
    # in apple/swift-cluster-membership).
    nack_timeout_ratio: float = 0.8
    # memberlist DisableTcpPings, inverted. When the direct ping times out also ping the target over
    # the stream path, so a node whose UDP is broken but whose TCP works is not declared dead.
    tcp_fallback_ping: bool = True

    # --- suspicion ---------------------------------------------------------------------------------
    # memberlist SuspicionMult. Minimum suspicion timeout =
    # suspicion_mult * max(1, log10(max(1, N))) * probe_interval; 4 s for N <= 10 on a LAN. Larger
    # values give a suspected node more time to refute, at the cost of slower detection.
    suspicion_mult: int = 4
    # memberlist SuspicionMaxTimeoutMult. Maximum suspicion timeout = this * minimum. A suspicion
    # starts at the maximum and shrinks toward the minimum as independent confirmations arrive
    # (Lifeguard); k = suspicion_mult - 2 confirmations are expected (0 when N - 2 < k).
    suspicion_max_timeout_mult: int = 6

    # --- dissemination -----------------------------------------------------------------------------
    # memberlist RetransmitMult. Each broadcast is sent at most retransmit_mult * ceil(log10(N + 1))
    # times (12 for N = 100), enough for epidemic spread to reach everyone with high probability.
    retransmit_mult: int = 4
    # memberlist GossipInterval. Seconds between gossip rounds that push queued broadcasts to
    # gossip_nodes random peers; short, because nothing is sent when the queue is empty.
    gossip_interval: float = 0.2
    # memberlist GossipNodes. Peers per gossip round. Fan-out 3 reaches N nodes in ~log3(N) rounds.
    gossip_nodes: int = 3
    # memberlist GossipToTheDeadTime. Seconds after death during which a dead node still receives
    # gossip, so a falsely accused node hears about it and can refute.
    gossip_to_the_dead_time: float = 30.0
    # memberlist UDPBufferSize. Byte budget of one packet (msgpack-encoded), piggybacked broadcasts
    # included. 1400 stays under a 1500-byte Ethernet MTU with room for IP/UDP and encryption headers.
    udp_buffer_size: int = 1400

    # --- anti-entropy (push-pull) ------------------------------------------------------------------
    # memberlist PushPullInterval. Seconds between full state exchanges with one random member, over
    # the stream path. Scaled by ceil(log2(N) - log2(32)) + 1 above 32 nodes (memberlist's
    # pushPullScale), so the cluster-wide load stays roughly flat. 0 disables periodic push-pull.
    push_pull_interval: float = 30.0
    # memberlist TCPTimeout. Seconds the shell allows a stream exchange before reporting failure with
    # `SwimCore.on_stream_failed`. The core itself never waits on it.
    tcp_timeout: float = 10.0

    # --- Lifeguard ---------------------------------------------------------------------------------
    # memberlist AwarenessMaxMultiplier. The local health score runs 0 .. this - 1; probe interval and
    # probe timeout are multiplied by (score + 1), so a struggling node slows down up to 8x instead of
    # accusing healthy peers.
    awareness_max_multiplier: int = 8
    # Lifeguard switches, all on in memberlist since Consul 0.7. Off gives plain SWIM with suspicion:
    # no health score and no nacks (lha_probe), a fixed suspicion timeout equal to the minimum
    # (lha_suspicion), no suspicion piggybacked on pings to a suspect (buddy_system).
    lha_probe: bool = True
    lha_suspicion: bool = True
    buddy_system: bool = True
    # Not in memberlist. (1) A node that receives a suspicion or death older than the alive
    # incarnation it holds sends its Alive straight back to the sender, who has evidently missed a
    # refutation; (2) a node still holding a suspicion halfway to the minimum timeout gossips it once
    # more, to draw such corrections. Off reproduces memberlist, where only push-pull repairs a missed
    # refutation, usually after the member was already declared dead locally.
    correct_stale_gossip: bool = True

    # --- names and reaping -------------------------------------------------------------------------
    # memberlist DeadNodeReclaimTime. Seconds after which a dead node's name may be claimed from a
    # different address. memberlist's default is 0 (never); Consul sets 30 s so a rebuilt node with a
    # new IP can rejoin under its old name. Left nodes may always be reclaimed.
    dead_node_reclaim_time: float = 30.0
    # Serf ReconnectTimeout. Seconds a failed member is kept (and retried) before it is reaped and
    # forgotten. Serf's default is 24 h; Consul sets 72 h.
    reconnect_timeout: float = 24 * HOUR
    # Serf TombstoneTimeout. Seconds a member that left gracefully is kept before it is reaped.
    tombstone_timeout: float = 24 * HOUR
    # Serf ReapInterval. Seconds between reaper runs.
    reap_interval: float = 15.0
    # Serf ReconnectInterval. Seconds between attempts to push-pull with one random failed member, so
    # a healed partition merges back. 0 disables reconnects.
    reconnect_interval: float = 30.0

    def validate(self) -> list[str]:
        """Every impossible combination, as a precise sentence; an empty list means valid."""
        problems: list[str] = []
        for field in ("probe_interval", "probe_timeout", "gossip_interval", "reap_interval"):
            if getattr(self, field) <= 0:
                problems.append(f"{field} must be > 0 seconds, got {getattr(self, field)}")
        if self.probe_timeout >= self.probe_interval:
            problems.append(
                f"probe_timeout ({self.probe_timeout}s) must be below probe_interval "
                f"({self.probe_interval}s), or indirect probes have no time to run"
            )
        if not 0 < self.nack_timeout_ratio <= 1:
            problems.append(f"nack_timeout_ratio must be in (0, 1], got {self.nack_timeout_ratio}")
        for field in ("indirect_checks", "gossip_nodes"):
            if getattr(self, field) < 0:
                problems.append(f"{field} must be >= 0, got {getattr(self, field)}")
        for field in ("suspicion_mult", "suspicion_max_timeout_mult", "retransmit_mult",
                      "awareness_max_multiplier"):
            if getattr(self, field) < 1:
                problems.append(f"{field} must be >= 1, got {getattr(self, field)}")
        if self.udp_buffer_size < 128:
            problems.append(f"udp_buffer_size must be >= 128 bytes, got {self.udp_buffer_size}")
        for field in ("push_pull_interval", "gossip_to_the_dead_time", "dead_node_reclaim_time",
                      "reconnect_timeout", "tombstone_timeout", "reconnect_interval", "tcp_timeout"):
            if getattr(self, field) < 0:
                problems.append(f"{field} must be >= 0 seconds, got {getattr(self, field)}")
        return problems

    def without_lifeguard(self) -> "SwimConfig":
        """The same settings with all three Lifeguard extensions switched off (plain SWIM + suspicion)."""
        return msgspec.structs.replace(self, lha_probe=False, lha_suspicion=False, buddy_system=False)


def lan() -> SwimConfig:
    """memberlist DefaultLANConfig: a single datacenter, sub-millisecond RTTs. The base of every preset."""
    return SwimConfig()


def wan() -> SwimConfig:
    """memberlist DefaultWANConfig: servers across datacenters, RTTs up to hundreds of milliseconds."""
    return msgspec.structs.replace(
        lan(),
        probe_interval=5.0,  # probing across oceans is expensive and slow to answer
        probe_timeout=3.0,  # room for the slowest inter-DC round trip
        suspicion_mult=6,  # WAN links flap more; give refutations more time
        gossip_interval=0.5,  # fewer, fuller packets
        gossip_nodes=4,
        push_pull_interval=60.0,
        tcp_timeout=30.0,
        gossip_to_the_dead_time=60.0,
    )


def local() -> SwimConfig:
    """memberlist DefaultLocalConfig: loopback or one host, where everything answers at once."""
    return msgspec.structs.replace(
        lan(),
        probe_timeout=0.2,
        gossip_interval=0.1,
        suspicion_mult=3,
        push_pull_interval=15.0,
        tcp_timeout=1.0,
        gossip_to_the_dead_time=15.0,
        dead_node_reclaim_time=15.0,
    )


def sim(scale: float = 0.1) -> SwimConfig:
    """LAN ratios with every duration multiplied by `scale`, so more happens per virtual second.

    Counts and multipliers are untouched, so suspicion, retransmit and health maths are the LAN's; only the
    clock runs faster. Simulated link delays must be scaled the same way.
    """
    base = lan()
    return msgspec.structs.replace(
        base,
        probe_interval=base.probe_interval * scale,
        probe_timeout=base.probe_timeout * scale,
        gossip_interval=base.gossip_interval * scale,
        gossip_to_the_dead_time=base.gossip_to_the_dead_time * scale,
        push_pull_interval=base.push_pull_interval * scale,
        tcp_timeout=base.tcp_timeout * scale,
        dead_node_reclaim_time=base.dead_node_reclaim_time * scale,
        reconnect_timeout=600.0 * scale,  # ten minutes, not a day: tests must see reaping
        tombstone_timeout=600.0 * scale,
        reap_interval=base.reap_interval * scale,
        reconnect_interval=base.reconnect_interval * scale,
    )
