"""RaftConfig: documented defaults, validation messages, the seconds-to-ticks conversion."""

from __future__ import annotations

from actors.raft import RaftConfig


def test_defaults_are_valid_and_fast() -> None:
    cfg = RaftConfig()
    assert cfg.validate() == []
    lo, hi = cfg.election_timeout_seconds
    assert (lo, hi) == (0.5, 1.0)
    # ten heartbeats fit in the shortest election timeout
    assert cfg.election_ticks >= 10 * cfg.heartbeat_ticks
    assert cfg.pre_vote and cfg.check_quorum


def test_validate_names_each_problem() -> None:
    cfg = RaftConfig(heartbeat_ticks=5, election_ticks=5, max_inflight_appends=0, tick_seconds=0.0)
    problems = cfg.validate()
    assert any("election_ticks (5) must be greater than heartbeat_ticks (5)" in p for p in problems)
    assert any("max_inflight_appends" in p for p in problems)
    assert any("tick_seconds" in p for p in problems)
    assert len(problems) == 3


def test_core_refuses_invalid_config() -> None:
    import random

    import pytest

    from actors.raft import MemoryStorage, RaftCore

    with pytest.raises(ValueError, match="heartbeat_ticks"):
        RaftCore("a", RaftConfig(heartbeat_ticks=0), random.Random(1), storage_view=MemoryStorage())


def test_from_seconds_consul_multiplier_five() -> None:
    cfg = RaftConfig.from_seconds(heartbeat=0.5, election=5.0)
    assert cfg.tick_seconds == 0.5
    assert (cfg.heartbeat_ticks, cfg.election_ticks) == (1, 10)
    cfg = RaftConfig.from_seconds(heartbeat=0.1, election=1.0, tick=0.05, pre_vote=False)
    assert (cfg.heartbeat_ticks, cfg.election_ticks, cfg.pre_vote) == (2, 20, False)
    assert cfg.validate() == []
