"""The ``wan`` config section (`actors.config.WanForwarding`): its defaults, file syntax and validation."""

from __future__ import annotations

import msgspec
import pytest

from actors.config import AgentConfig, ConfigError, WanForwarding, build_config, source_from_dict, validate


def test_defaults_fail_fast_and_leave_room_for_a_leaderless_remote() -> None:
    wan = AgentConfig(node_name="n", data_dir="/d").wan
    assert wan == WanForwarding(connect_timeout=1.0, request_timeout=10.0, route_check_after=0.5,
                                route_check_interval=5.0, breaker_threshold=3, breaker_cooldown=5.0)
    # A cut route is found within a check and a dial, well under the request timeout ...
    assert wan.route_check_after + wan.connect_timeout < 2.0 < wan.request_timeout
    # ... which itself outlasts the remote's wait for a leader, so "No cluster leader" can come back.
    assert wan.request_timeout > AgentConfig(node_name="n").performance.rpc_hold_timeout


def test_set_from_a_config_file_with_go_durations() -> None:
    source = source_from_dict("wan.json", {"data_dir": "/d", "wan": {"connect_timeout": "250ms",
                                                                    "request_timeout": "4s", "breaker_threshold": 1}})
    wan = build_config([source], hostname="h").config.wan
    assert (wan.connect_timeout, wan.request_timeout, wan.breaker_threshold) == (0.25, 4.0, 1)
    assert wan.route_check_after == 0.5  # the rest keep their defaults
    with pytest.raises(ConfigError, match="wan.bogus"):
        source_from_dict("wan.json", {"wan": {"bogus": 1}})


def test_validation() -> None:
    base = AgentConfig(node_name="n", data_dir="/d")
    bad = msgspec.structs.replace(base, wan=WanForwarding(connect_timeout=0.0, breaker_threshold=0))
    errors = validate(bad)
    assert "wan.connect_timeout cannot be 0s. Must be greater than zero" in errors
    assert "wan.breaker_threshold cannot be 0. Must be at least 1" in errors
    assert not [e for e in validate(base) if e.startswith("wan.")]
