"""Scenario files and agent config files, fuzzed.

* `parse_scenario` on arbitrary text (TOML and YAML), on mutated shipped scenarios, and on random
  structures written as YAML: a `Scenario` or a `ScenarioError` whose problems all have a message, never
  another exception.
* `source_from_dict` / `build_config` on random Consul-shaped mappings, and `load_config_file` on arbitrary
  bytes: a config or a `ConfigError` with at least one message, never another exception; a config that
  is accepted has only encodable values (nothing that later crashes the catalog sync or Raft).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from actors.config import ConfigError, build_config, load_config_file, source_from_dict
from runtime.scenario.loader import parse_scenario
from runtime.scenario.problems import ScenarioError
from tests.fuzz.fuzzkit import fuzz_settings

SHIPPED = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))
SCENARIO_KEYS = ["name", "description", "seed", "duration", "stay_up", "ready", "ready_timeout", "cluster",
                 "datacenters", "services", "workloads", "timeline", "checks", "servers", "clients", "dev",
                 "options", "config", "agents", "agent", "port", "tags", "checks", "ttl", "kind", "at", "after",
                 "do", "target", "safety", "liveness", "poll", "keys", "rate", "interval", "count"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False),
                    st.sampled_from(["", "10s", "-1s", "1x", "s1", "leader", "kill", "kv-register", "1e9h",
                                     "9" * 5000, "a" * 300]), st.text(max_size=10))
structures = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.sampled_from(SCENARIO_KEYS), st.text(max_size=5)),
                                            inner, max_size=5)),
    max_leaves=20,
)


def _mutate(text: str, at: int, cut: int, insert: str) -> str:
    i = at % (len(text) + 1)
    return text[:i] + insert + text[i + cut % 8:]


@given(text=st.one_of(
    st.text(max_size=200),
    st.tuples(st.sampled_from([p.read_text() for p in SHIPPED] or ["name = 'x'"]), st.integers(0, 10**6),
              st.integers(0, 7), st.sampled_from(["", "\n", "=", "[", "]]", "\"", "0", "-", "[[timeline]]\n",
                                                  "x = 1\n", "\x00", "'''"])).map(lambda t: _mutate(*t)),
), syntax=st.sampled_from(["toml", "yaml"]))
@fuzz_settings(weight=2.0)
@example(text="name = 'x'\nseed = " + "9" * 5000, syntax="toml")
@example(text="a: &a [*a]", syntax="yaml")
def test_scenario_text_gives_a_scenario_or_a_scenario_error(text: str, syntax: str) -> None:
    try:
        parse_scenario(text, "fuzz", syntax)
    except ScenarioError as err:
        assert err.problems and all(p.message for p in err.problems)


@given(data=st.dictionaries(st.sampled_from(SCENARIO_KEYS), structures, max_size=6))
@fuzz_settings(weight=1.0)
def test_scenario_structures_give_a_scenario_or_a_scenario_error(data: dict[str, Any]) -> None:
    try:
        text = yaml.safe_dump(data)
    except yaml.YAMLError:
        return
    try:
        parse_scenario(text, "fuzz", "yaml")
    except ScenarioError as err:
        assert err.problems and all(p.message for p in err.problems)


CONFIG_KEYS = ["node_name", "datacenter", "data_dir", "server", "bootstrap_expect", "ports", "http", "dns",
               "serf_lan", "limits", "http_max_conns_per_client", "kv_max_value_size", "dns_config",
               "service_ttl", "node_ttl", "performance", "raft_multiplier", "services", "service", "checks",
               "check", "name", "id", "port", "ttl", "interval", "tags", "meta", "node_meta", "retry_join",
               "start_join", "encrypt", "acl", "tokens", "log_level", "client_addr", "bind_addr", "gossip_lan",
               "probe_interval", "enable_script_checks", "recursors", "retry_interval"]
config_values = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.sampled_from(CONFIG_KEYS), st.text(max_size=5)),
                                            inner, max_size=5)),
    max_leaves=20,
)


@given(data=st.dictionaries(st.sampled_from(CONFIG_KEYS), config_values, max_size=6))
@fuzz_settings(weight=2.0)
@example(data={"services": [{"name": "web", "port": 2**70}]})
@example(data={"service": {"name": "web", "port": 2**64}})
def test_config_mappings_give_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    try:
        source = source_from_dict("fuzz.json", data)
        result = build_config([source], hostname="fuzzhost")
    except ConfigError as err:
        assert err.args and all(str(m) for m in err.args)
        return
    msgspec.msgpack.encode(result.config)  # every accepted value can be encoded (for Raft, the sync, ...)


@given(raw=st.one_of(st.binary(max_size=120), config_values.map(lambda v: msgspec.json.encode(v)),
                     st.sampled_from([b"", b"{", b"[]", b"null", b'{"ports": {"http": "x"}}', b"\xef\xbb\xbf{}",
                                      b'{"a":' * 2000 + b"1" + b"}" * 2000])))
@fuzz_settings(weight=1.0)
def test_config_files_give_a_layer_or_a_config_error(raw: bytes) -> None:
    fd, name = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        try:
            load_config_file(name)
        except ConfigError as err:
            assert str(err)
    finally:
        os.unlink(name)
