"""Defaults equal Consul's (agent/config/default.go), -dev mode, and the builder's normalisations."""

import msgspec
import pytest

from actors.config import (
    ACL,
    ACLTokens,
    AgentConfig,
    DNSConfig,
    GossipLANConfig,
    GossipWANConfig,
    Limits,
    Performance,
    Ports,
    build_config,
    dev_overrides,
    validate,
)


def build(**flag_values):
    """A server-less client with a data dir, plus whatever flag-shaped values the test adds."""
    flag_values.setdefault("data_dir", "/var/lib/proconsul")
    return build_config([], hostname="host-1", flag_values=flag_values)


CONSUL_DEFAULTS = {
    "datacenter": "dc1",
    "server": False,
    "bootstrap": False,
    "bootstrap_expect": 0,
    "dev": False,
    "bind_addr": "0.0.0.0",
    "advertise_addr": None,
    "advertise_addr_wan": None,
    "client_addr": "127.0.0.1",
    "retry_join": [],
    "retry_join_wan": [],
    "retry_interval": 30.0,
    "retry_interval_wan": 30.0,
    "retry_max": 0,
    "log_level": "INFO",
    "log_json": False,
    "enable_script_checks": False,
    "enable_local_script_checks": False,
    "enable_fault_injection": False,
    "encrypt": None,
    "domain": "consul.",
    "recursors": [],
    "node_meta": {},
    "services": [],
    "checks": [],
    "seed": None,
}


@pytest.mark.parametrize(("field", "expected"), sorted(CONSUL_DEFAULTS.items()))
def test_top_level_defaults(field, expected):
    config = build().config
    assert getattr(config, field) == expected


def test_section_defaults():
    config = build().config
    assert config.ports == Ports(http=8500, https=-1, dns=8600, server=8300, serf_lan=8301, serf_wan=8302)
    assert config.dns_config == DNSConfig(
        node_ttl=0.0,
        service_ttl={},
        allow_stale=True,
        max_stale=87600 * 3600.0,
        only_passing=False,
        udp_answer_limit=3,
        a_record_limit=0,
        enable_truncate=False,
        recursor_timeout=2.0,
    )
    assert config.limits == Limits(
        http_max_conns_per_client=200, rpc_max_conns_per_client=100,
        kv_max_value_size=524288, txn_max_req_len=524288,
    )
    assert config.performance == Performance(raft_multiplier=5, leave_drain_time=5.0, rpc_hold_timeout=7.0)
    assert config.gossip_lan == GossipLANConfig(
        gossip_nodes=3, gossip_interval=0.2, probe_interval=1.0, probe_timeout=0.5,
        suspicion_mult=4, retransmit_mult=4,
    )
    assert config.gossip_wan == GossipWANConfig(
        gossip_nodes=3, gossip_interval=0.5, probe_interval=5.0, probe_timeout=3.0,
        suspicion_mult=6, retransmit_mult=4,
    )
    assert config.acl == ACL(
        enabled=False, default_policy="allow", down_policy="extend-cache", policy_ttl=30.0, token_ttl=30.0,
        tokens=ACLTokens(initial_management=None, agent=None, agent_recovery=None, default=None),
    )


def test_struct_defaults_match_builder_defaults():
    # Constructing the Struct directly gives the same values as the builder (which adds only normalisation).
    assert AgentConfig(node_name="host-1", data_dir="/var/lib/proconsul") == build().config


def test_node_name_defaults_to_the_given_hostname_and_is_trimmed():
    assert build().config.node_name == "host-1"
    assert build(node_name="").config.node_name == "host-1"
    assert build(node_name="  web-1 ").config.node_name == "web-1"


def test_datacenter_is_lower_cased_like_consul():
    assert build(datacenter="EU-West_1").config.datacenter == "eu-west_1"


def test_local_script_checks_follow_script_checks_unless_set():
    assert build(enable_script_checks=True).config.enable_local_script_checks is True
    config = build(enable_script_checks=True, enable_local_script_checks=False).config
    assert config.enable_local_script_checks is False
    assert build(enable_local_script_checks=True).config.enable_script_checks is False


def test_disabled_ports_become_minus_one():
    config = build(ports={"http": 0, "dns": -5, "https": 0, "serf_wan": 0}).config
    assert (config.ports.http, config.ports.dns, config.ports.https, config.ports.serf_wan) == (-1, -1, -1, -1)


def test_bootstrap_expect_one_means_bootstrap():
    result = build(server=True, bootstrap_expect=1)
    assert (result.config.bootstrap, result.config.bootstrap_expect) == (True, 0)
    assert "BootstrapExpect is set to 1; this is the same as Bootstrap mode." in result.warnings


def test_dev_mode():
    result = build_config([], hostname="laptop", dev=True)
    config = result.config
    assert config.dev and config.server
    assert config.bootstrap is False  # Consul's -dev does not set bootstrap...
    assert config.self_bootstrap is True  # ...but the server bootstraps itself (setupRaft: Bootstrap || DevMode)
    assert config.data_dir is None  # in memory; no data_dir required
    assert config.node_name == "laptop"
    assert config.bind_addr == config.client_addr == "127.0.0.1"
    assert config.log_level == "DEBUG"
    assert config.performance.raft_multiplier == 1
    for gossip in (config.gossip_lan, config.gossip_wan):
        assert (gossip.gossip_interval, gossip.probe_interval, gossip.probe_timeout, gossip.suspicion_mult) == (
            0.1, 0.1, 0.1, 3,
        )
    assert validate(config) == []


def test_dev_overrides_is_a_fresh_layer_each_time():
    layer = dev_overrides()
    layer["gossip_lan"]["probe_interval"] = 99
    assert dev_overrides()["gossip_lan"]["probe_interval"] == 0.1


def test_self_bootstrap():
    assert build(server=True, bootstrap=True).config.self_bootstrap is True
    assert build(server=True, bootstrap_expect=3).config.self_bootstrap is False


def test_rng_seed_is_explicit_or_derived_from_node_name():
    assert build(seed=42).config.rng_seed == 42
    a, b = build(node_name="n1").config, build(node_name="n2").config
    assert a.rng_seed == build(node_name="n1").config.rng_seed
    assert a.rng_seed != b.rng_seed
    assert 0 <= a.rng_seed < 2**64


def test_config_round_trips_through_json():
    config = build(node_meta={"rack": "r1"}, dns_config={"service_ttl": {"web": 5.0}}).config
    assert msgspec.json.decode(msgspec.json.encode(config), type=AgentConfig) == config


def test_config_is_frozen():
    config = build().config
    with pytest.raises(AttributeError):
        config.server = True
