"""The agent's configuration: typed settings with Consul's defaults, JSON config files, merging, validation.

What lives here:

- `AgentConfig` and its sections (`Ports`, `DNSConfig`, `Limits`, `Performance`, `GossipLANConfig`,
  `GossipWANConfig`, `WanForwarding`, `ACL`, `ACLTokens`, `TLS` with `TLSDefaults`/`TLSInternalRPC`/`TLSInterface`): frozen
  msgspec Structs whose field names are the snake_case keys of Consul's JSON agent configuration and whose
  defaults are Consul's (``agent/config/default.go``). Every duration is a float number of seconds.
  `TLS.effective` gives one interface's TLS settings with the defaults filled in (`TLSSettings`).
- `parse_duration` / `format_duration`: Go's ``time.ParseDuration`` and ``Duration.String`` formats.
- Reading config files (`load_config_file`, `load_config_dir`, `load_config_path`), turning a mapping into a
  checked layer (`source_from_dict`), Consul's merge rules (`merge_layers`), building the final config
  (`build_config`, `load_config`) and checking it (`validate`, `config_warnings`).

How a configuration is assembled (Consul's ``agent/config/builder.go``, ``newBuilder`` and ``build``)::

    struct defaults < -dev overrides < list-valued flags < config files, in the order given < other flags

Merging two layers: a scalar from the later layer replaces the earlier one, lists are concatenated (earlier
first), maps (``node_meta``, ``dns_config.service_ttl``) are overlaid key by key, and sections merge field by
field. List-valued flags (``-retry-join``, ``-recursor``...) sit *before* the files, so their entries come
first in the merged list, exactly as Consul does it; every other flag overrides the files. A JSON ``null``
means "not given", like a nil pointer in Consul's raw config.

What must never live here: argv parsing (that is ``actors/flags.py``), looking up the hostname or any other
fact about the machine (callers pass ``hostname``), sockets, timers, or starting anything. Reading the config
files named by the caller is the only IO.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import ipaddress
import os
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

import msgspec

__all__ = [
    "ACL",
    "ACLTokens",
    "AgentConfig",
    "ConfigError",
    "ConfigSource",
    "DNSConfig",
    "Duration",
    "GO_DURATION",
    "GossipLANConfig",
    "GossipWANConfig",
    "Limits",
    "LoadResult",
    "Performance",
    "Ports",
    "TLS",
    "TLSDefaults",
    "TLSInterface",
    "TLSInternalRPC",
    "TLSSettings",
    "WanForwarding",
    "build_config",
    "config_warnings",
    "dev_overrides",
    "format_duration",
    "load_config",
    "load_config_dir",
    "load_config_file",
    "load_config_path",
    "merge_layers",
    "parse_duration",
    "source_from_dict",
    "tls_file_errors",
    "validate",
]


class ConfigError(ValueError):
    """One or more problems with the configuration; ``errors`` holds every message, ``str()`` joins them."""

    def __init__(self, errors: str | Sequence[str]) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


# ------------------------------------------------------------------------------------------------------
# Durations
# ------------------------------------------------------------------------------------------------------

_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign, as Go's time package accepts it
    "\u03bcs": 1_000,  # Greek small letter mu, likewise
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_MAX_NS = 2**63 - 1  # Go's time.Duration is an int64 count of nanoseconds


def _go_quote(text: str) -> str:
    """Quote ``text`` roughly as Go's ``%q`` does, so error messages read like Consul's."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append("".join(f"\\x{b:02x}" for b in ch.encode()))
    return '"' + "".join(out) + '"'


def _parse_go_duration_ns(text: str) -> int:
    """Go's ``time.ParseDuration`` grammar, returning integer nanoseconds.

    ``[-+]?([0-9]*(\\.[0-9]*)?[a-zµμ]+)+`` with units ns, us, µs, μs, ms, s, m, h, or the bare string "0".
    Fractions are computed exactly (Go goes through float64 and can be 1 ns off beyond ~15 digits).
    """
    orig = text
    invalid = ValueError(f"time: invalid duration {_go_quote(orig)}")
    negative = False
    if text[:1] in ("-", "+"):
        negative = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise invalid
    total = 0
    while text:
        match = re.match(r"([0-9]*)(?:\.([0-9]*))?", text)
        assert match is not None  # the pattern also matches the empty string
        whole, frac = match.group(1), match.group(2)
        if not whole and not frac:  # neither digits before nor after an optional "."
            raise invalid
        text = text[match.end():]
        unit_match = re.match(r"[^0-9.]+", text)
        if unit_match is None:
            raise ValueError(f"time: missing unit in duration {_go_quote(orig)}")
        unit = unit_match.group(0)
        text = text[unit_match.end():]
        scale = _NS_PER_UNIT.get(unit)
        if scale is None:
            raise ValueError(f"time: unknown unit {_go_quote(unit)} in duration {_go_quote(orig)}")
        value = int(whole or "0") * scale
        if frac:
            value += int(frac) * scale // 10 ** len(frac)
        total += value
        if total > _MAX_NS + 1:  # -2^63 is representable, +2^63 is not (checked below)
            raise invalid
    if not negative and total > _MAX_NS:
        raise invalid
    return -total if negative else total


def parse_duration(value: str | int | float) -> float:
    """Parse a Go duration into float seconds: ``"10s"`` -> 10.0, ``"1m30s"`` -> 90.0, ``"300us"`` -> 0.0003.

    Strings follow Go's ``time.ParseDuration`` exactly (sign, decimal fractions, units ns/us/µs/ms/s/m/h,
    the bare ``"0"``; ``""``, ``"10"``, ``"1d"`` and ``"1.s.2"``-style garbage raise `ValueError` with Go's
    message). A number is taken as *nanoseconds*, the way Consul's HTTP API decodes a JSON number in a check
    definition's ``Interval``/``Timeout``/``TTL`` (``agent/structs`` ``CheckType.UnmarshalJSON``:
    ``time.Duration(float64)``, which truncates toward zero). Agent config *files* do not accept numbers for
    durations (Consul keeps them as strings there); `source_from_dict` enforces that. Booleans are refused.
    """
    if isinstance(value, bool):
        raise TypeError(f"a duration must be a string or a number of nanoseconds, got {value!r}")
    if isinstance(value, int):
        return value / 1_000_000_000
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"time: invalid duration {value!r}")
        return int(value) / 1_000_000_000
    if not isinstance(value, str):
        raise TypeError(f"a duration must be a string or a number of nanoseconds, got {type(value).__name__}")
    return _parse_go_duration_ns(value) / 1_000_000_000


def _go_fraction(value: int, digits: int) -> tuple[str, int]:
    """Split ``value`` into (".fff" without trailing zeros, value // 10**digits), as Go's fmtFrac."""
    whole, rest = divmod(value, 10**digits)
    frac = f"{rest:0{digits}d}".rstrip("0")
    return ("." + frac if frac else ""), whole


def format_duration(seconds: float) -> str:
    """Render float seconds like Go's ``Duration.String``: 90 -> "1m30s", 0.1 -> "100ms", 3600 -> "1h0m0s"."""
    ns = round(seconds * 1_000_000_000)
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns == 0:
        return "0s"
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        frac, whole = _go_fraction(ns, 3)
        return f"{sign}{whole}{frac}\u00b5s"
    if ns < 1_000_000_000:
        frac, whole = _go_fraction(ns, 6)
        return f"{sign}{whole}{frac}ms"
    frac, whole_seconds = _go_fraction(ns, 9)
    minutes, secs = divmod(whole_seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}{frac}s"
    if minutes:
        return f"{sign}{minutes}m{secs}{frac}s"
    return f"{sign}{secs}{frac}s"


class _GoDurationMarker:
    """Marks a float field as a duration: config files give it as a Go duration string."""

    def __repr__(self) -> str:
        return "GO_DURATION"


GO_DURATION = _GoDurationMarker()
Duration = Annotated[float, GO_DURATION]
"""Seconds as a float; written as a Go duration string ("30s") in config files."""


# ------------------------------------------------------------------------------------------------------
# The configuration
# ------------------------------------------------------------------------------------------------------


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Shared options: immutable, keyword-only, and unknown keys are an error (as in Consul)."""


class Ports(_Section):
    """Consul ``ports { ... }``. A value <= 0 disables a listener and is normalised to -1 by `build_config`;
    the server RPC and Serf LAN ports cannot be disabled."""

    http: int = 8500  # ports.http (-http-port)
    https: int = -1  # ports.https (-https-port); off by default
    dns: int = 8600  # ports.dns (-dns-port)
    server: int = 8300  # ports.server (-server-port): server RPC, also carries Raft
    serf_lan: int = 8301  # ports.serf_lan (-serf-lan-port)
    serf_wan: int = 8302  # ports.serf_wan (-serf-wan-port); <= 0 turns WAN gossip off


class DNSConfig(_Section):
    """Consul ``dns_config { ... }``."""

    node_ttl: Duration = 0.0  # dns_config.node_ttl: TTL of node lookups
    service_ttl: dict[str, Duration] = {}  # dns_config.service_ttl: per service name ("*" wildcards allowed)
    allow_stale: bool = True  # dns_config.allow_stale: any server may answer
    max_stale: Duration = 87600 * 3600.0  # dns_config.max_stale: 87600h, i.e. staleness is unbounded
    only_passing: bool = False  # dns_config.only_passing: hide warning instances too
    udp_answer_limit: int = 3  # dns_config.udp_answer_limit
    a_record_limit: int = 0  # dns_config.a_record_limit; 0 means no limit
    enable_truncate: bool = False  # dns_config.enable_truncate: set TC when answers were cut
    recursor_timeout: Duration = 2.0  # dns_config.recursor_timeout


class Limits(_Section):
    """Consul ``limits { ... }``."""

    http_max_conns_per_client: int = 200  # limits.http_max_conns_per_client
    rpc_max_conns_per_client: int = 100  # limits.rpc_max_conns_per_client
    kv_max_value_size: int = 524288  # limits.kv_max_value_size: raft.SuggestedMaxDataSize, 512 KiB
    txn_max_req_len: int = 524288  # limits.txn_max_req_len: likewise
    https_handshake_timeout: Duration = 5.0  # limits.https_handshake_timeout: a TLS handshake on HTTPS


class Performance(_Section):
    """Consul ``performance { ... }``."""

    raft_multiplier: int = 5  # performance.raft_multiplier: scales Raft timeouts; 1 (fastest) .. 10
    leave_drain_time: Duration = 5.0  # performance.leave_drain_time
    rpc_hold_timeout: Duration = 7.0  # performance.rpc_hold_timeout: how long RPCs wait out a leader election


class GossipLANConfig(_Section):
    """Consul ``gossip_lan { ... }``: memberlist's LAN profile (``DefaultLANConfig``)."""

    gossip_nodes: int = 3  # gossip_lan.gossip_nodes
    gossip_interval: Duration = 0.2  # gossip_lan.gossip_interval
    probe_interval: Duration = 1.0  # gossip_lan.probe_interval
    probe_timeout: Duration = 0.5  # gossip_lan.probe_timeout
    suspicion_mult: int = 4  # gossip_lan.suspicion_mult
    retransmit_mult: int = 4  # gossip_lan.retransmit_mult


class GossipWANConfig(_Section):
    """Consul ``gossip_wan { ... }``: memberlist's WAN profile, except ``gossip_nodes``, which Consul's
    default.go fills from the LAN profile (3)."""

    gossip_nodes: int = 3  # gossip_wan.gossip_nodes
    gossip_interval: Duration = 0.5  # gossip_wan.gossip_interval
    probe_interval: Duration = 5.0  # gossip_wan.probe_interval
    probe_timeout: Duration = 3.0  # gossip_wan.probe_timeout
    suspicion_mult: int = 6  # gossip_wan.suspicion_mult
    retransmit_mult: int = 4  # gossip_wan.retransmit_mult


class WanForwarding(_Section):
    """proconsul only, ``wan { ... }``: how a server forwards requests to another datacenter
    (``actors/wan``). A dead or cut route must show up in about a second, never after a request timeout:
    dialing is bounded on its own, and a request not answered soon has its route checked by a fresh dial."""

    connect_timeout: Duration = 1.0  # wan.connect_timeout: finding a reachable server of the other
    # datacenter (TCP connect, TLS handshake, hello), over all the servers tried for one request
    request_timeout: Duration = 10.0  # wan.request_timeout: a non-blocking forwarded request, once sent;
    # above the remote's performance.rpc_hold_timeout (7 s), so a leaderless datacenter can still answer
    # "No cluster leader". A blocking query gets its wait, plus wait/16 jitter, plus this
    route_check_after: Duration = 0.5  # wan.route_check_after: a request unanswered this long has its route
    # checked (a fresh dial, skipped if a reply came over the connection meanwhile); a failed check fails
    # it at once instead of letting it wait out its timeout
    route_check_interval: Duration = 5.0  # wan.route_check_interval: how often the route of a blocking query
    # is checked again while it waits (its silence is not a failure; a dead route is)
    breaker_threshold: int = 3  # wan.breaker_threshold: consecutive failed requests (timeouts, lost
    # connections) that open the datacenter's circuit; no reachable server at all opens it at once
    breaker_cooldown: Duration = 5.0  # wan.breaker_cooldown: while open, requests fail at once with "No path
    # to datacenter"; then one trial request is let through (the others still fail at once)


class ACLTokens(_Section):
    """Consul ``acl { tokens { ... } }``: secret IDs the agent uses or creates."""

    initial_management: str | None = None  # acl.tokens.initial_management (was "master")
    agent: str | None = None  # acl.tokens.agent: the agent's own requests (anti-entropy, ...)
    agent_recovery: str | None = None  # acl.tokens.agent_recovery: local break-glass token
    default: str | None = None  # acl.tokens.default: used for requests that carry no token
    replication: str | None = None  # acl.tokens.replication


class ACL(_Section):
    """Consul ``acl { ... }``."""

    enabled: bool = False  # acl.enabled
    default_policy: str = "allow"  # acl.default_policy: "allow" | "deny"
    down_policy: str = "extend-cache"  # acl.down_policy: "allow" | "deny" | "extend-cache" | "async-cache"
    policy_ttl: Duration = 30.0  # acl.policy_ttl
    token_ttl: Duration = 30.0  # acl.token_ttl
    enable_key_list_policy: bool = False  # acl.enable_key_list_policy
    enable_token_persistence: bool = False  # acl.enable_token_persistence
    tokens: ACLTokens = msgspec.field(default_factory=ACLTokens)  # acl.tokens


class TLSDefaults(_Section):
    """Consul ``tls { defaults { ... } }``: what every TLS interface (server RPC port, HTTPS) uses unless its
    own block says otherwise. Files are PEM. The deprecated top-level keys (``ca_file``, ``cert_file``,
    ``key_file``, ``verify_incoming``, ``verify_outgoing``, ``tls_min_version``...) land here, as in Consul."""

    ca_file: str | None = None  # tls.defaults.ca_file: CA that signed the peers' certificates
    ca_path: str | None = None  # tls.defaults.ca_path: a directory of CA files (*.pem, *.crt)
    cert_file: str | None = None  # tls.defaults.cert_file: this agent's certificate
    key_file: str | None = None  # tls.defaults.key_file: its private key
    tls_min_version: str = "TLSv1_2"  # tls.defaults.tls_min_version: TLSv1_0 | TLSv1_1 | TLSv1_2 | TLSv1_3
    verify_incoming: bool = False  # tls.defaults.verify_incoming: require a CA-signed client certificate
    verify_outgoing: bool = False  # tls.defaults.verify_outgoing: dial servers with TLS, checking their CA


class TLSInterface(_Section):
    """Consul ``tls { https { ... } }`` (and the shared part of ``internal_rpc``): overrides of `TLSDefaults`
    for one interface; a key left out (None) takes the ``tls.defaults`` value."""

    ca_file: str | None = None  # tls.<interface>.ca_file
    ca_path: str | None = None  # tls.<interface>.ca_path
    cert_file: str | None = None  # tls.<interface>.cert_file
    key_file: str | None = None  # tls.<interface>.key_file
    tls_min_version: str | None = None  # tls.<interface>.tls_min_version
    verify_incoming: bool | None = None  # tls.<interface>.verify_incoming
    verify_outgoing: bool | None = None  # tls.<interface>.verify_outgoing


class TLSInternalRPC(TLSInterface):
    """Consul ``tls { internal_rpc { ... } }``: the server port (Raft, RPC, forwarded API calls, WAN)."""

    verify_server_hostname: bool = False  # tls.internal_rpc.verify_server_hostname: a server's certificate
    # must name server.<datacenter>.<domain> (implies verify_outgoing: CVE-2018-19653)


class TLS(_Section):
    """Consul ``tls { ... }``."""

    defaults: TLSDefaults = msgspec.field(default_factory=TLSDefaults)  # tls.defaults
    internal_rpc: TLSInternalRPC = msgspec.field(default_factory=TLSInternalRPC)  # tls.internal_rpc
    https: TLSInterface = msgspec.field(default_factory=TLSInterface)  # tls.https

    def effective(self, interface: str) -> "TLSSettings":
        """``internal_rpc`` or ``https`` with the ``defaults`` filled in. For ``internal_rpc``,
        ``verify_server_hostname`` turns ``verify_outgoing`` on whatever it says: hostname checking
        without TLS would be plaintext (CVE-2018-19653)."""
        block = self.internal_rpc if interface == "internal_rpc" else self.https
        base = self.defaults
        values = {name: getattr(block, name) if getattr(block, name) is not None else getattr(base, name)
                  for name in ("ca_file", "ca_path", "cert_file", "key_file", "tls_min_version",
                               "verify_incoming", "verify_outgoing")}
        hostname = isinstance(block, TLSInternalRPC) and block.verify_server_hostname
        if hostname:
            values["verify_outgoing"] = True
        return TLSSettings(**values, verify_server_hostname=hostname)


class TLSSettings(msgspec.Struct, frozen=True, kw_only=True):
    """One interface's effective TLS settings (`TLS.effective`); not a config file section."""

    ca_file: str | None
    ca_path: str | None
    cert_file: str | None
    key_file: str | None
    tls_min_version: str
    verify_incoming: bool
    verify_outgoing: bool
    verify_server_hostname: bool = False

    @property
    def has_ca(self) -> bool:
        return bool(self.ca_file or self.ca_path)

    @property
    def has_cert(self) -> bool:
        return bool(self.cert_file and self.key_file)


class AgentConfig(_Section):
    """Everything one agent needs to start. Field names are Consul's JSON config keys.

    Build it with `build_config` / `load_config` (or ``actors.flags.parse_agent_flags``) so defaults, ``-dev``,
    files and flags are layered as Consul does; constructing it directly skips validation, so call
    `validate` on the result.
    """

    node_name: str  # node_name (-node). Consul defaults it to the machine's hostname; the builder fills it
    # from its ``hostname`` argument so that tests stay deterministic.
    datacenter: str = "dc1"  # datacenter (-datacenter); lower-cased by the builder, as Consul does
    server: bool = False  # server (-server)
    bootstrap: bool = False  # bootstrap (-bootstrap): this server elects itself; legacy single-server mode
    bootstrap_expect: int = 0  # bootstrap_expect (-bootstrap-expect): servers to wait for before bootstrapping
    dev: bool = False  # -dev only (Consul's RuntimeConfig.DevMode); cannot be set in a config file
    data_dir: str | None = None  # data_dir (-data-dir); None means in-memory state (only allowed with -dev)
    node_id: str | None = None  # node_id (-node-id); None: the ID persisted in <data_dir>/node-id, else a new one
    leave_on_terminate: bool | None = None  # leave_on_terminate: leave gracefully on SIGTERM; None: Consul's
    # default, true on client agents and false on servers
    skip_leave_on_interrupt: bool | None = None  # skip_leave_on_interrupt: no leave on SIGINT; None: Consul's
    # default, true on servers and false on client agents
    bind_addr: str = "0.0.0.0"  # bind_addr (-bind): address for cluster traffic (Serf, server RPC)
    advertise_addr: str | None = None  # advertise_addr (-advertise); None: derived from bind_addr
    advertise_addr_wan: str | None = None  # advertise_addr_wan (-advertise-wan); None: advertise_addr
    client_addr: str = "127.0.0.1"  # client_addr (-client): HTTP/HTTPS/DNS bind; space-separated list allowed
    ports: Ports = msgspec.field(default_factory=Ports)  # ports
    retry_join: list[str] = []  # retry_join (-retry-join, and the deprecated -join / start_join)
    retry_join_wan: list[str] = []  # retry_join_wan (-retry-join-wan, deprecated -join-wan / start_join_wan)
    retry_interval: Duration = 30.0  # retry_interval (-retry-interval)
    retry_interval_wan: Duration = 30.0  # retry_interval_wan (-retry-interval-wan)
    retry_max: int = 0  # retry_max (-retry-max); 0 retries forever
    retry_max_wan: int = 0  # retry_max_wan (-retry-max-wan)
    log_level: str = "INFO"  # log_level (-log-level): TRACE DEBUG INFO WARN ERR ERROR, any case
    log_json: bool = False  # log_json (-log-json)
    enable_script_checks: bool = False  # enable_script_checks (-enable-script-checks): from the API too
    enable_local_script_checks: bool = False  # enable_local_script_checks (-enable-local-script-checks);
    # when left unset it follows enable_script_checks, as in Consul
    enable_fault_injection: bool = False  # proconsul only (-enable-fault-injection): turns on
    # /v1/agent/actors/crash and the network fault table
    encrypt: str | None = None  # encrypt (-encrypt): base64 gossip key of 16, 24 or 32 bytes
    domain: str = "consul."  # domain (-domain)
    recursors: list[str] = []  # recursors (-recursor): upstream DNS servers
    node_meta: dict[str, str] = {}  # node_meta (-node-meta key:value)
    dns_config: DNSConfig = msgspec.field(default_factory=DNSConfig)  # dns_config
    limits: Limits = msgspec.field(default_factory=Limits)  # limits
    performance: Performance = msgspec.field(default_factory=Performance)  # performance
    gossip_lan: GossipLANConfig = msgspec.field(default_factory=GossipLANConfig)  # gossip_lan
    gossip_wan: GossipWANConfig = msgspec.field(default_factory=GossipWANConfig)  # gossip_wan
    wan: WanForwarding = msgspec.field(default_factory=WanForwarding)  # proconsul only: wan forwarding timeouts
    tls: TLS = msgspec.field(default_factory=TLS)  # tls (and the deprecated top-level TLS keys)
    acl: ACL = msgspec.field(default_factory=ACL)  # acl
    services: list[dict[str, Any]] = []  # services, plus each file's single "service"; kept raw for now
    checks: list[dict[str, Any]] = []  # checks, plus each file's single "check"; kept raw for now
    seed: int | None = None  # proconsul only (-seed): root of every RNG stream; None: see `rng_seed`

    @property
    def self_bootstrap(self) -> bool:
        """Whether this server forms a one-node Raft cluster by itself on a clean start.

        Consul does that for ``bootstrap = true`` and in ``-dev`` mode, which does not set ``bootstrap``
        (``agent/consul/server.go`` setupRaft: ``Bootstrap || DevMode``).
        """
        return self.server and (self.bootstrap or self.dev)

    @property
    def rng_seed(self) -> int:
        """``seed`` if given, otherwise a stable 64-bit value derived from the node name."""
        if self.seed is not None:
            return self.seed
        digest = hashlib.blake2b(f"node:{self.node_name}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")


# Keys of AgentConfig that a config file may not set (Consul: DevMode "cannot be configured in a config file").
_NOT_IN_FILES = frozenset({"dev"})

# Consul's deprecated top-level TLS keys: moved into the tls block, where a value the same file gives in the
# block wins (agent/config/deprecated.go, applyDeprecatedTLSConfig).
_DEPRECATED_TLS_KEYS = {
    "ca_file": ("defaults", "ca_file"),
    "ca_path": ("defaults", "ca_path"),
    "cert_file": ("defaults", "cert_file"),
    "key_file": ("defaults", "key_file"),
    "tls_min_version": ("defaults", "tls_min_version"),
    "verify_incoming": ("defaults", "verify_incoming"),
    "verify_incoming_rpc": ("internal_rpc", "verify_incoming"),
    "verify_incoming_https": ("https", "verify_incoming"),
    "verify_outgoing": ("defaults", "verify_outgoing"),
    "verify_server_hostname": ("internal_rpc", "verify_server_hostname"),
}
_DEPRECATED_TLS_VERSIONS = {"tls10": "TLSv1_0", "tls11": "TLSv1_1", "tls12": "TLSv1_2", "tls13": "TLSv1_3"}
TLS_VERSIONS = ("TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3")

# Consul's deprecated join keys: folded into retry_join / retry_join_wan with a warning
# (agent/config/deprecated.go, applyDeprecatedConfig).
_DEPRECATED_JOIN_KEYS = {"start_join": "retry_join", "start_join_wan": "retry_join_wan"}


def dev_overrides() -> dict[str, Any]:
    """The layer ``-dev`` adds on top of the defaults (Consul's ``DevSource`` in agent/config/default.go).

    Kept: server mode, bind to 127.0.0.1, DEBUG logging, raft_multiplier 1 and 100 ms gossip with suspicion
    multiplier 3. Not modelled: the UI, Connect, gRPC 8502, enable_debug, disable_anonymous_signature and
    disable_keyring_file. ``client_addr`` is already 127.0.0.1 by default. Dev mode also keeps state in memory
    (no ``data_dir`` needed) and self-bootstraps Raft (`AgentConfig.self_bootstrap`); ``bootstrap`` itself
    stays false, as in Consul.
    """
    fast_gossip = {"gossip_interval": 0.1, "probe_interval": 0.1, "probe_timeout": 0.1, "suspicion_mult": 3}
    return {
        "bind_addr": "127.0.0.1",
        "log_level": "DEBUG",
        "server": True,
        "performance": {"raft_multiplier": 1},
        "gossip_lan": dict(fast_gossip),
        "gossip_wan": dict(fast_gossip),
    }


# ------------------------------------------------------------------------------------------------------
# Layers: checked partial configurations
# ------------------------------------------------------------------------------------------------------


class ConfigSource(msgspec.Struct, frozen=True, kw_only=True):
    """One checked layer of configuration and where it came from.

    ``data`` has the shape of a JSON config file, already checked against `AgentConfig` (no unknown keys,
    right types), with durations turned into float seconds, ``null``s dropped and each single
    ``service``/``check`` appended to ``services``/``checks``.
    """

    name: str
    data: dict[str, Any]
    warnings: list[str] = []
    skipped: bool = False  # a file of a config directory that was not read (see `load_config_dir`)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _is_section(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, msgspec.Struct)


def _is_duration(hint: Any) -> bool:
    return typing.get_origin(hint) is Annotated and GO_DURATION in hint.__metadata__


def _is_duration_map(hint: Any) -> bool:
    return typing.get_origin(hint) is dict and _is_duration(typing.get_args(hint)[1])


def _json_type(value: Any) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _file_duration(path: str, value: Any, errors: list[str]) -> Any:
    if not isinstance(value, str):
        errors.append(f'{path}: expected a duration string such as "30s", got {_json_type(value)}')
        return value
    try:
        return parse_duration(value)
    except ValueError as exc:
        errors.append(f"{path}: invalid duration: {_go_quote(value)}: {exc}")
        return value


def _normalise(data: Mapping[str, Any], cls: type, prefix: str, errors: list[str]) -> dict[str, Any]:
    """Check keys against ``cls`` (recursively), drop nulls and parse duration strings."""
    hints = _hints(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = prefix + key
        if key not in hints or (cls is AgentConfig and key in _NOT_IN_FILES):
            errors.append(f"invalid config key {path}")
            continue
        if value is None:
            continue
        hint = hints[key]
        if _is_section(hint) and isinstance(value, dict):
            out[key] = _normalise(value, hint, path + ".", errors)
        elif _is_duration(hint):
            out[key] = _file_duration(path, value, errors)
        elif _is_duration_map(hint) and isinstance(value, dict):
            out[key] = {k: _file_duration(f"{path}[{_go_quote(k)}]", v, errors) for k, v in value.items()}
        else:
            out[key] = value
    return out


_AT_PATH = re.compile(r"^(?P<message>.*) - at `\$(?P<path>[^`]*)`$", re.DOTALL)


def _describe(exc: msgspec.ValidationError) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.ports.http`" -> "ports.http: Expected `int`, got `str`"."""
    match = _AT_PATH.match(str(exc))
    if match is None:
        return str(exc)
    path = match["path"].lstrip(".")
    return f"{path}: {match['message']}" if path else match["message"]


def _fold_single(data: dict[str, Any], single: str, plural: str, errors: list[str]) -> None:
    """Consul appends a file's single ``service``/``check`` after its ``services``/``checks`` list."""
    value = data.pop(single)
    if value is None:
        return
    try:
        value = msgspec.convert(value, dict[str, Any])
    except msgspec.ValidationError as exc:
        errors.append(f"{single}: {exc}")
        return
    _append_to_list(data, plural, [value])


def _append_to_list(data: dict[str, Any], key: str, items: list[Any]) -> None:
    """``data[key] += items``; a ``data[key]`` of the wrong type is left alone for the type check to report."""
    current = data.get(key)
    if current is None:
        data[key] = items
    elif isinstance(current, list):
        data[key] = current + items


def _fold_deprecated_tls(raw: dict[str, Any], warnings: list[str]) -> None:
    """Move the deprecated top-level TLS keys of one file into its ``tls`` block (copies, never the caller's
    dicts). A ``tls`` value of the wrong type is left for the type check to report."""
    for old, (block, field) in _DEPRECATED_TLS_KEYS.items():
        if old not in raw:
            continue
        value = raw.pop(old)
        if value is None:
            continue
        tls = raw.get("tls")
        tls = {} if tls is None else tls
        section = tls.get(block) if isinstance(tls, dict) else None
        section = {} if section is None else section
        if not isinstance(tls, dict) or not isinstance(section, dict):
            continue
        if old == "tls_min_version" and value in _DEPRECATED_TLS_VERSIONS:
            new_value = _DEPRECATED_TLS_VERSIONS[value]
            warnings.append(f"'tls_min_version' value '{value}' is deprecated, please specify '{new_value}' instead")
            value = new_value
        if section.get(field) is None:
            section = {**section, field: value}
        raw["tls"] = {**tls, block: section}
        warnings.append(f"The '{old}' field is deprecated. Use the 'tls.{block}.{field}' field instead.")


def source_from_dict(name: str, data: Mapping[str, Any]) -> ConfigSource:
    """Check a mapping shaped like a Consul JSON config file and turn it into a layer.

    Raises `ConfigError` listing every unknown key (``failed to parse <name>: invalid config key ports.htp``),
    every bad duration, and the first type error msgspec finds, each with its key path.
    """
    errors: list[str] = []
    warnings: list[str] = []
    raw = dict(data)
    for old, new in _DEPRECATED_JOIN_KEYS.items():
        if old in raw:
            old_value = raw.pop(old)
            try:
                joins = msgspec.convert(old_value or [], list[str])
            except msgspec.ValidationError as exc:
                errors.append(f"{old}: {exc}")
                continue
            _append_to_list(raw, new, joins)
            warnings.append(f"The '{old}' field is deprecated. Use the '{new}' field instead.")
    for single, plural in (("service", "services"), ("check", "checks")):
        if single in raw:
            _fold_single(raw, single, plural, errors)
    _fold_deprecated_tls(raw, warnings)
    layer = _normalise(raw, AgentConfig, "", errors)
    if not errors:
        candidate = dict(layer)
        candidate.setdefault("node_name", "placeholder")  # the only field without a default
        try:
            msgspec.convert(candidate, AgentConfig)
        except msgspec.ValidationError as exc:
            errors.append(_describe(exc))
    if errors:
        raise ConfigError([f"failed to parse {name}: {e}" for e in errors])
    return ConfigSource(name=name, data=layer, warnings=warnings)


def _oserror_text(exc: OSError) -> str:
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def load_config_file(path: str | os.PathLike[str], *, config_format: str | None = None) -> ConfigSource:
    """Read one JSON config file (Consul's format) into a checked layer.

    ``.json`` files are read; ``.hcl`` files are refused with a clear error because proconsul only supports
    JSON; any other extension is an error unless ``config_format="json"`` forces JSON (``-config-format``).
    An empty file contributes nothing, as in Consul.
    """
    name = os.fspath(path)
    _check_format(config_format)
    if config_format is None:
        if name.endswith(".hcl"):
            raise ConfigError(
                f"{name}: HCL configuration is not supported by proconsul; write the file as JSON (*.json)"
            )
        if not name.endswith(".json"):
            raise ConfigError(
                f"file {name} has unknown extension; must be .json, or the config format must be set to json"
            )
    try:
        with open(name, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(f"config: failed to read {name}: {_oserror_text(exc)}") from None
    if not raw:
        return ConfigSource(name=name, data={})
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"failed to parse {name}: {exc}") from None
    except RecursionError:  # msgspec's answer to ~1000 levels of nesting
        raise ConfigError(f"failed to parse {name}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"failed to parse {name}: the top level must be a JSON object, got {_json_type(data)}"
        )
    return source_from_dict(name, data)


def _check_format(config_format: str | None) -> None:
    if config_format is None or config_format == "json":
        return
    if config_format == "hcl":
        raise ConfigError("config format hcl is not supported by proconsul; only json is")
    raise ConfigError("config: -config-format must be either 'hcl' or 'json'")


def load_config_dir(path: str | os.PathLike[str], *, config_format: str | None = None) -> list[ConfigSource]:
    """Read every ``*.json`` file of a directory, in lexical order of file names, like ``-config-dir``.

    Sub-directories are not entered; symlinks are followed. A ``.hcl`` file is an error (skipping it would
    silently change the configuration); other files are skipped with Consul's warning, carried by an empty
    `ConfigSource`. With ``config_format="json"`` every file is read as JSON whatever its extension.
    """
    directory = os.fspath(path)
    _check_format(config_format)
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise ConfigError(f"config: Readdir failed on {directory}. {_oserror_text(exc)}") from None
    sources: list[ConfigSource] = []
    for entry in names:
        full = os.path.join(directory, entry)
        if os.path.isdir(full):
            continue
        if config_format is None and not entry.endswith((".json", ".hcl")):
            warning = f"skipping file {full}, extension must be .hcl or .json, or config format must be set"
            sources.append(ConfigSource(name=full, data={}, warnings=[warning], skipped=True))
            continue
        sources.append(load_config_file(full, config_format=config_format))
    return sources


def load_config_path(path: str | os.PathLike[str], *, config_format: str | None = None) -> list[ConfigSource]:
    """A file or a directory, whichever ``path`` is: Consul treats ``-config-file`` and ``-config-dir``
    values alike (``sourcesFromPath``)."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise ConfigError(f"config: Open failed on {name}. open {name}: no such file or directory")
    if os.path.isdir(name):
        return load_config_dir(name, config_format=config_format)
    return [load_config_file(name, config_format=config_format)]


# ------------------------------------------------------------------------------------------------------
# Merging and building
# ------------------------------------------------------------------------------------------------------


def merge_layers(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Consul's merge (agent/config/merge.go): ``top`` wins for scalars, lists are concatenated
    (``base`` first), mappings merge key by key (maps are overlaid, sections merge field by field).
    Neither input is modified."""
    out = dict(base)
    for key, value in top.items():
        earlier = out.get(key)
        if isinstance(earlier, dict) and isinstance(value, dict):
            out[key] = merge_layers(earlier, value)
        elif isinstance(earlier, list) and isinstance(value, list):
            out[key] = earlier + value
        else:
            out[key] = value
    return out


class LoadResult(msgspec.Struct, frozen=True, kw_only=True):
    """A checked configuration, the warnings met while building it, and the files it was read from."""

    config: AgentConfig
    warnings: list[str] = []
    files: list[str] = []


def build_config(
    sources: Sequence[ConfigSource] = (),
    *,
    hostname: str,
    dev: bool = False,
    flag_values: Mapping[str, Any] | None = None,
    warnings: Iterable[str] = (),
) -> LoadResult:
    """Layer and check a configuration without touching the disk.

    Order: struct defaults < `dev_overrides` (when ``dev``) < the list-valued entries of ``flag_values`` <
    ``sources`` in order < the other entries of ``flag_values``. ``flag_values`` is a layer shaped like a
    config file with durations already in seconds (``actors.flags`` builds it). Then, as Consul's builder:
    an empty ``node_name`` becomes ``hostname``, names are trimmed, ``datacenter`` is lower-cased,
    ``enable_local_script_checks`` follows ``enable_script_checks`` unless set, disabled ports become -1 and
    ``bootstrap_expect = 1`` turns into ``bootstrap = true`` with a warning. Raises `ConfigError` with every
    message from `validate`.
    """
    notes = list(warnings)
    flags = dict(flag_values or {})
    flag_lists = {k: v for k, v in flags.items() if isinstance(v, list)}
    flag_others = {k: v for k, v in flags.items() if not isinstance(v, list)}

    layers: list[Mapping[str, Any]] = []
    if dev:
        layers.append(dev_overrides())
    layers.append(flag_lists)
    for source in sources:
        layers.append(source.data)
        notes.extend(source.warnings)
    layers.append(flag_others)

    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge_layers(merged, layer)

    merged["node_name"] = (merged.get("node_name") or hostname).strip()
    if "datacenter" in merged:
        merged["datacenter"] = merged["datacenter"].lower()
    if "enable_local_script_checks" not in merged:
        merged["enable_local_script_checks"] = bool(merged.get("enable_script_checks", False))
    merged["dev"] = dev
    try:
        config = msgspec.convert(merged, AgentConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(_describe(exc)) from None

    ports = msgspec.structs.replace(
        config.ports,
        **{name: -1 for name in ("http", "https", "dns", "serf_wan") if getattr(config.ports, name) <= 0},
    )
    config = msgspec.structs.replace(config, ports=ports)
    if config.bootstrap_expect == 1:
        config = msgspec.structs.replace(config, bootstrap=True, bootstrap_expect=0)
        notes.append("BootstrapExpect is set to 1; this is the same as Bootstrap mode.")

    errors = validate(config)
    if errors:
        raise ConfigError(errors)
    notes.extend(config_warnings(config))
    return LoadResult(config=config, warnings=notes, files=[s.name for s in sources if not s.skipped])


def load_config(
    *,
    hostname: str,
    dev: bool = False,
    config_paths: Sequence[str | os.PathLike[str]] = (),
    config_format: str | None = None,
    flag_values: Mapping[str, Any] | None = None,
    warnings: Iterable[str] = (),
) -> LoadResult:
    """Read ``config_paths`` (files or directories, in the order given) and `build_config` on top."""
    sources: list[ConfigSource] = []
    for path in config_paths:
        sources.extend(load_config_path(path, config_format=config_format))
    result = build_config(sources, hostname=hostname, dev=dev, flag_values=flag_values, warnings=warnings)
    missing = tls_file_errors(result.config)
    if missing:
        raise ConfigError(missing)
    return result


# ------------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------------

_BASIC_NAME = re.compile(r"[a-z0-9_-]+")  # Consul's reBasicName (builder.go)
_DNS_INVALID = re.compile(r"[^A-Za-z0-9-]")  # agent/dns InvalidDnsRe
_AUTO_CONFIG_INVALID = re.compile(r"[\s'\"`]")  # whitespace and quotes, Consul's InvalidNodeName warning
_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERR", "ERROR")  # logging/log_levels.go
_MAX_RAFT_MULTIPLIER = 10  # agent/consul MaxRaftMultiplier
_META_KEY = re.compile(r"[a-zA-Z0-9_-]+")  # agent/structs metaKeyFormat
_ANY_ADDRS = ("0.0.0.0", "::", "[::]")
_REMOTE_SCRIPT_WARNING = (
    "using enable-script-checks without ACLs is dangerous: anyone who can reach the HTTP API can run commands "
    "on this machine; prefer enable-local-script-checks"
)


def _ip_or_none(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]") if text == "[::]" else text)
    except ValueError:
        return None


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _basic_name_errors(field: str, value: str) -> list[str]:
    if not value:
        return [f"{field} cannot be empty"]
    if not _BASIC_NAME.fullmatch(value):
        return [
            f"{field} can only contain lowercase alphanumeric, - or _ characters. received: {_go_quote(value)}"
        ]
    return []


def _encrypt_key_errors(key: str) -> list[str]:
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except UnicodeEncodeError:
        return ["encrypt has invalid key: illegal base64 data: only ASCII characters are allowed"]
    except binascii.Error:
        bad = next((i for i, ch in enumerate(key) if not (ch.isalnum() or ch in "+/=")), None)
        where = f"at input byte {bad}" if bad is not None else "(length must be a multiple of 4, '=' padded)"
        return [f"encrypt has invalid key: illegal base64 data {where}"]
    if len(raw) not in (16, 24, 32):
        return [f"encrypt has invalid key: key size must be 16, 24 or 32 bytes (got {len(raw)})"]
    return []


def _node_meta_errors(meta: Mapping[str, str]) -> list[str]:
    # agent/structs validateMetadata / validateMetaPair, reported for every bad pair instead of the first.
    if len(meta) > 64:
        return ["node_meta invalid: Node metadata cannot contain more than 64 key/value pairs"]
    errors = []
    for key in sorted(meta):
        value = meta[key]
        if key == "":
            problem = "Key cannot be blank"
        elif not _META_KEY.fullmatch(key):
            problem = "Key contains invalid characters"
        elif len(key) > 128:
            problem = "Key is too long (limit: 128 characters)"
        elif key.startswith("consul-"):
            problem = "Key prefix 'consul-' is reserved for internal use"
        elif len(value) > 512:
            problem = "Value is too long (limit: 512 characters)"
        else:
            continue
        errors.append(f"node_meta invalid: Couldn't load metadata pair ('{key}', '{value}'): {problem}")
    return errors


def _address_errors(config: AgentConfig) -> list[str]:
    errors = []
    if _ip_or_none(config.bind_addr) is None:
        errors.append("bind_addr must be an ip address")
    for field in ("advertise_addr", "advertise_addr_wan"):
        value = getattr(config, field)
        if value is None:
            continue
        if value in _ANY_ADDRS:
            which = "Advertise WAN address" if field.endswith("wan") else "Advertise address"
            errors.append(f"{which} cannot be 0.0.0.0, :: or [::]")
        elif _ip_or_none(value) is None:
            errors.append(f"{field}: invalid ip address: {value}")
    for addr in config.client_addr.split():
        if _ip_or_none(addr) is None:
            errors.append(f"client_addr: invalid ip address: {addr}")
    for recursor in config.recursors:
        if recursor in _ANY_ADDRS:
            errors.append("DNS recursor address cannot be 0.0.0.0, :: or [::]")
    return errors


def _port_errors(config: AgentConfig) -> list[str]:
    errors = []
    ports = config.ports
    for name in ("dns", "http", "https", "server", "serf_lan", "serf_wan"):
        value = getattr(ports, name)
        if value > 65535:
            errors.append(f"ports.{name}: invalid port: {value}")
    if ports.server <= 0:
        errors.append("server-port must be greater than zero")
    if ports.serf_lan <= 0:
        errors.append("serf-lan-port must be greater than zero")
    return errors


def _clash_errors(config: AgentConfig) -> list[str]:
    """Two listeners on one address and port (Consul's addrUnique, every clash rather than the first)."""
    clients = [a.strip("[]") for a in config.client_addr.split() if _ip_or_none(a) is not None]
    advertise = config.advertise_addr or config.bind_addr
    advertise_wan = config.advertise_addr_wan or advertise
    ports = config.ports
    claims: list[tuple[str, str, str, int]] = []  # (listener, network, ip, port)
    if ports.dns > 0:
        claims += [("DNS", "tcp", ip, ports.dns) for ip in clients]
        claims += [("DNS", "udp", ip, ports.dns) for ip in clients]
    if ports.http > 0:
        claims += [("HTTP", "tcp", ip, ports.http) for ip in clients]
    if ports.https > 0:
        claims += [("HTTPS", "tcp", ip, ports.https) for ip in clients]
    if ports.server > 0:
        claims.append(("RPC Advertise", "tcp", advertise, ports.server))
    if ports.serf_lan > 0:
        claims.append(("Serf Advertise LAN", "tcp", advertise, ports.serf_lan))
    if ports.serf_wan > 0:
        claims.append(("Serf Advertise WAN", "tcp", advertise_wan, ports.serf_wan))
    in_use: dict[str, str] = {}
    errors = []
    for listener, network, ip, port in claims:
        address = _host_port(ip, port)
        other = in_use.setdefault(f"{network}:{address}", listener)
        if other != listener:
            errors.append(f"{listener} address {address} already configured for {other}")
    return errors


def _tls_errors(config: AgentConfig) -> list[str]:
    """TLS settings that cannot work (Consul's tlsutil checks, worded per key). Pure: files are checked by
    `tls_file_errors`."""
    errors: list[str] = []
    rpc = config.tls.effective("internal_rpc")
    https = config.tls.effective("https")
    no_ca = "no CA is configured (tls.defaults.ca_file or ca_path)"
    no_cert = "no certificate and key are configured (tls.defaults.cert_file and key_file)"
    for name, settings in (("internal_rpc", rpc), ("https", https)):
        if settings.tls_min_version not in TLS_VERSIONS:
            errors.append(f"tls.{name}.tls_min_version: invalid TLS version {_go_quote(settings.tls_min_version)}; "
                          f"must be one of {', '.join(TLS_VERSIONS)}")
        if bool(settings.cert_file) != bool(settings.key_file):
            errors.append(f"tls.{name}: cert_file and key_file must be given together")
    if rpc.verify_incoming and not rpc.has_ca:
        errors.append(f"tls.internal_rpc.verify_incoming is set but {no_ca}: client certificates cannot be checked")
    if rpc.verify_incoming and config.server and not rpc.has_cert:
        errors.append(f"tls.internal_rpc.verify_incoming is set but {no_cert}: the server port cannot speak TLS")
    if rpc.verify_outgoing and not rpc.has_ca:
        what = ("verify_server_hostname is set (it implies verify_outgoing)" if rpc.verify_server_hostname
                else "verify_outgoing is set")
        errors.append(f"tls.internal_rpc.{what} but {no_ca}: servers' certificates cannot be checked")
    if rpc.verify_server_hostname and config.server and not rpc.has_cert:
        errors.append(f"tls.internal_rpc.verify_server_hostname is set on a server but {no_cert}: other servers "
                      "accept only a certificate naming server.<datacenter>.<domain>")
    # ports.https without a certificate is refused when the agent starts (actors/tls/agent_tls.py), not
    # here: a config may name the port before the certificates exist (and the -https-port flag alone parses).
    if config.ports.https > 0 and https.verify_incoming and not https.has_ca:
        errors.append(f"tls.https.verify_incoming is set but {no_ca}: client certificates cannot be checked")
    return errors


def tls_file_errors(config: AgentConfig) -> list[str]:
    """Every TLS file or directory the configuration names that does not exist (or is not a file, or a
    directory for ``ca_path``). The one validation that looks at the disk; `load_config` runs it."""
    errors: list[str] = []
    for name in ("internal_rpc", "https"):
        settings = config.tls.effective(name)
        for field in ("ca_file", "cert_file", "key_file"):
            path = getattr(settings, field)
            if path and not os.path.isfile(path):
                errors.append(f"tls.{name}.{field}: {path}: no such file")
        if settings.ca_path and not os.path.isdir(settings.ca_path):
            errors.append(f"tls.{name}.ca_path: {settings.ca_path}: no such directory")
    return errors


def _is_uuid(text: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", text) is not None


def validate(config: AgentConfig) -> list[str]:
    """Every reason ``config`` cannot run, as Consul words it where Consul has a message (builder.go
    ``validate``/``build``, logging, memberlist); an empty list means it is fine. Pure: no filesystem checks."""
    errors: list[str] = []
    errors += _basic_name_errors("datacenter", config.datacenter)
    if not config.data_dir and not config.dev:
        errors.append("data_dir cannot be empty")
    if not config.node_name:
        errors.append("node_name cannot be empty")
    if config.node_id is not None and not _is_uuid(config.node_id):
        errors.append(f"node_id: {config.node_id!r} is not a valid UUID (8-4-4-4-12 hex)")
    errors += _address_errors(config)
    errors += _port_errors(config)
    if config.bootstrap and not config.server:
        errors.append("'bootstrap = true' requires 'server = true'")
    if config.bootstrap_expect < 0:
        errors.append(
            f"bootstrap_expect cannot be {config.bootstrap_expect}. Must be greater than or equal to zero"
        )
    if config.bootstrap_expect > 0 and not config.server:
        errors.append("'bootstrap_expect > 0' requires 'server = true'")
    if config.bootstrap_expect > 0 and config.dev:
        errors.append("'bootstrap_expect > 0' not allowed in dev mode")
    if config.bootstrap_expect > 0 and config.bootstrap:
        errors.append("'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive")
    multiplier = config.performance.raft_multiplier
    if not 1 <= multiplier <= _MAX_RAFT_MULTIPLIER:
        errors.append(
            f"performance.raft_multiplier cannot be {multiplier}. Must be between 1 and {_MAX_RAFT_MULTIPLIER}"
        )
    for field in ("udp_answer_limit", "a_record_limit"):
        value = getattr(config.dns_config, field)
        if value < 0:
            errors.append(f"dns_config.{field} cannot be {value}. Must be greater than or equal to zero")
    errors += _node_meta_errors(config.node_meta)
    if config.encrypt:
        errors += _encrypt_key_errors(config.encrypt)
    if config.log_level.upper() not in _LOG_LEVELS:
        errors.append(f"Invalid log level: {config.log_level}. Valid log levels are: [{' '.join(_LOG_LEVELS)}]")
    if config.acl.default_policy not in ("allow", "deny"):
        errors.append(
            f'acl.default_policy must be "allow" or "deny". received: {_go_quote(config.acl.default_policy)}'
        )
    if config.acl.down_policy not in ("allow", "deny", "extend-cache", "async-cache"):
        errors.append(
            'acl.down_policy must be one of "allow", "deny", "extend-cache" or "async-cache". '
            f"received: {_go_quote(config.acl.down_policy)}"
        )
    if config.seed is not None and config.seed < 0:
        errors.append(f"seed cannot be {config.seed}. Must be greater than or equal to zero")
    for field in ("connect_timeout", "request_timeout", "route_check_after", "route_check_interval",
                  "breaker_cooldown"):
        value = getattr(config.wan, field)
        if value <= 0:
            errors.append(f"wan.{field} cannot be {format_duration(value)}. Must be greater than zero")
    if config.wan.breaker_threshold < 1:
        errors.append(f"wan.breaker_threshold cannot be {config.wan.breaker_threshold}. Must be at least 1")
    errors += _tls_errors(config)
    if not errors:
        errors += _clash_errors(config)  # only meaningful once ports and addresses are sane
    return errors


def config_warnings(config: AgentConfig) -> list[str]:
    """Things Consul starts with but warns about (builder.go ``validate``, "warnings" part)."""
    notes: list[str] = []
    name = config.node_name
    if name and _DNS_INVALID.search(name):
        notes.append(
            f"Node name {_go_quote(name)} will not be discoverable via DNS due to invalid characters. "
            "Valid characters include all alpha-numerics and dashes."
        )
    elif name and _AUTO_CONFIG_INVALID.search(name):  # unreachable in practice, kept in Consul's order
        notes.append(
            f"Found invalid characters in node name {_go_quote(name)} - whitespace and quotes cannot be used."
        )
    elif len(name) > 63:
        notes.append(
            f"Node name {_go_quote(name)} will not be discoverable via DNS due to it being too long. "
            "Valid lengths are between 1 and 63 bytes."
        )
    if not config.client_addr.split():
        notes.append(
            "client_addr is empty, client services (DNS, HTTP, HTTPS) will not be listening for connections"
        )
    expect = config.bootstrap_expect
    if config.server and not config.dev and not config.bootstrap and expect == 2:
        notes.append("bootstrap_expect = 2: A cluster with 2 servers will provide no failure tolerance.")
    if config.server and not config.bootstrap and expect > 2 and expect % 2 == 0:
        notes.append(
            "bootstrap_expect is even number: A cluster with an even number of servers does not achieve "
            "optimum fault tolerance."
        )
    if config.server and config.bootstrap and expect == 0:
        notes.append("bootstrap = true: do not enable unless necessary")
    if config.server and not config.dev and not config.bootstrap and expect > 1:
        notes.append(f"bootstrap_expect > 0: expecting {expect} servers")
    if config.enable_script_checks and not config.acl.enabled:
        notes.append(_REMOTE_SCRIPT_WARNING)
    return notes
