"""Everything one gossip pool needs, derived from the agent config: names, addresses, timings, seeds.

What lives here: `PoolSettings` and `lan_settings` / `wan_settings`. The SWIM timings start from the
``lan()`` / ``wan()`` presets and take Consul's ``gossip_lan`` / ``gossip_wan`` values on top (its six
knobs, Consul's names). Consul's LAN pool keeps failed members 72 h before reaping them. The packet
budget handed to the core is 1400 bytes minus the envelope (and the encryption overhead when a key is
set), so a sealed datagram still fits.

Consul accepts ``probe_timeout == probe_interval`` (``-dev`` sets both to 100 ms) but the SWIM core needs
room for the indirect probe inside the round, so a timeout that is not below the interval is lowered to
half of it.

``retry_join`` entries are ``host``, ``host:port`` or ``[v6]:port``; the default port is the pool's
(`parse_join_address`, shared with ``PUT /v1/agent/join`` and the CLI).

What must never live here: IO (name resolution happens in the shell) or protocol logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

from actors.gossip.tags import agent_tags
from actors.gossip.wire import MAX_DATAGRAM, overhead
from actors.swim.config import HOUR, SwimConfig, lan, wan

if TYPE_CHECKING:
    from actors.config import AgentConfig, GossipLANConfig, GossipWANConfig

Pool = Literal["lan", "wan"]

CONSUL_RECONNECT_TIMEOUT = 72 * HOUR  # Consul's reconnect_timeout for both pools


class PoolSettings(msgspec.Struct, frozen=True, kw_only=True):
    pool: Pool
    node: str  # the agent's node name
    member_name: str  # the name in this pool (``<node>.<dc>`` on the WAN)
    datacenter: str
    bind_host: str
    port: int  # configured gossip port; 0 binds an ephemeral one (tests)
    advertise_host: str
    swim: SwimConfig
    tags: dict[str, str]
    retry_join: list[str] = []
    retry_interval: float = 30.0
    retry_max: int = 0
    encrypt: str | None = None
    keyring_file: str | None = None
    leave_propagate_delay: float = 1.0  # Serf LeavePropagateDelay
    broadcast_timeout: float = 5.0  # Serf BroadcastTimeout: how long a leave waits for its gossip


def _overrides(base: SwimConfig, knobs: "GossipLANConfig | GossipWANConfig", encrypted: bool) -> SwimConfig:
    probe_timeout = knobs.probe_timeout
    if probe_timeout >= knobs.probe_interval:
        probe_timeout = knobs.probe_interval / 2
    return msgspec.structs.replace(
        base,
        gossip_nodes=knobs.gossip_nodes,
        gossip_interval=knobs.gossip_interval,
        probe_interval=knobs.probe_interval,
        probe_timeout=probe_timeout,
        suspicion_mult=knobs.suspicion_mult,
        retransmit_mult=knobs.retransmit_mult,
        reconnect_timeout=CONSUL_RECONNECT_TIMEOUT,
        udp_buffer_size=MAX_DATAGRAM - overhead(encrypted),
    )


def _advertise(cfg: "AgentConfig", wan_pool: bool) -> str:
    if wan_pool and cfg.advertise_addr_wan:
        return cfg.advertise_addr_wan
    if cfg.advertise_addr:
        return cfg.advertise_addr
    return "127.0.0.1" if cfg.bind_addr in ("0.0.0.0", "::", "") else cfg.bind_addr


def _keyring_file(cfg: "AgentConfig", name: str) -> str | None:
    if not cfg.data_dir:
        return None
    return f"{cfg.data_dir}/serf/{name}"


def lan_settings(cfg: "AgentConfig", node_id: str) -> PoolSettings:
    return PoolSettings(
        pool="lan", node=cfg.node_name, member_name=cfg.node_name, datacenter=cfg.datacenter,
        bind_host=cfg.bind_addr, port=cfg.ports.serf_lan, advertise_host=_advertise(cfg, False),
        swim=_overrides(lan(), cfg.gossip_lan, bool(cfg.encrypt)), tags=agent_tags(cfg, node_id),
        retry_join=list(cfg.retry_join), retry_interval=cfg.retry_interval, retry_max=cfg.retry_max,
        encrypt=cfg.encrypt, keyring_file=_keyring_file(cfg, "local.keyring"),
    )


def wan_settings(cfg: "AgentConfig", node_id: str) -> PoolSettings:
    return PoolSettings(
        pool="wan", node=cfg.node_name, member_name=f"{cfg.node_name}.{cfg.datacenter}", datacenter=cfg.datacenter,
        bind_host=cfg.bind_addr, port=cfg.ports.serf_wan, advertise_host=_advertise(cfg, True),
        swim=_overrides(wan(), cfg.gossip_wan, bool(cfg.encrypt)), tags=agent_tags(cfg, node_id),
        retry_join=list(cfg.retry_join_wan), retry_interval=cfg.retry_interval_wan, retry_max=cfg.retry_max_wan,
        encrypt=cfg.encrypt, keyring_file=_keyring_file(cfg, "remote.keyring"),
    )


class JoinAddressError(ValueError):
    pass


def parse_join_address(text: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port)."""
    text = text.strip()
    if not text:
        raise JoinAddressError("empty address")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise JoinAddressError(f"missing ']' in address {text!r}")
        host, rest = text[1:end], text[end + 1:]
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise JoinAddressError(f"unexpected text after ']' in address {text!r}")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        return text, default_port  # a bare IPv6 address
    else:
        return text, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise JoinAddressError(f"invalid port in address {text!r}")
    return host, int(port_text)
