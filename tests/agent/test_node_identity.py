"""The node ID is kept in <data_dir>/node-id across restarts; -node-id overrides it; bad files are refused."""

from __future__ import annotations

import os
import uuid

import pytest

from actors.config import AgentConfig, validate
from actors.node_identity import NODE_ID_FILE, NodeIdError, settle_node_id

A = "5b1e4c5e-8a57-4c8e-9f43-1c0b6f3a2d10"
B = "0f6b8d2a-3c11-4e7a-8b9d-aa1122334455"


def test_first_start_persists_the_drawn_id_and_the_next_start_reuses_it(tmp_path):
    data = str(tmp_path / "data")
    assert settle_node_id(data, None, A) == A
    with open(os.path.join(data, NODE_ID_FILE)) as f:
        assert f.read() == A
    assert settle_node_id(data, None, B) == A  # a restart draws B but keeps the persisted A


def test_configured_id_wins_and_replaces_the_persisted_one(tmp_path):
    data = str(tmp_path)
    settle_node_id(data, None, A)
    assert settle_node_id(data, B.upper(), A) == B
    assert settle_node_id(data, None, A) == B


def test_in_memory_agents_write_nothing(tmp_path):
    assert settle_node_id(None, None, A) == A
    assert settle_node_id(None, B, A) == B
    assert os.listdir(tmp_path) == []


def test_a_corrupt_node_id_file_is_refused_with_its_path(tmp_path):
    (tmp_path / NODE_ID_FILE).write_text("not-a-uuid\n")
    with pytest.raises(NodeIdError, match="node-id: node ID 'not-a-uuid' is not a valid UUID"):
        settle_node_id(str(tmp_path), None, A)


def test_config_validation_refuses_a_malformed_node_id():
    bad = AgentConfig(node_name="n1", dev=True, node_id="1234")
    assert any("node_id" in e for e in validate(bad))
    good = AgentConfig(node_name="n1", dev=True, node_id=str(uuid.UUID(A)))
    assert not any("node_id" in e for e in validate(good))


async def test_an_agent_keeps_its_node_id_across_restarts(tmp_path):
    """Two boots of one agent over the same data dir (different seeds) report the same NodeID."""
    import msgspec
    import trio

    from actors.agent import serve_agent
    from actors.flags import parse_agent_flags

    def config(seed: int):
        cfg = parse_agent_flags(["-dev", "-node", "n1", "-data-dir", str(tmp_path), "-seed", str(seed)], hostname="h")
        return msgspec.structs.replace(cfg, ports=msgspec.structs.replace(cfg.ports, http=-1, dns=-1, serf_lan=0,
                                                                          serf_wan=0))

    seen = []
    for seed in (1, 2):
        async with trio.open_nursery() as nursery:
            ctx = await nursery.start(lambda task_status, s=seed: serve_agent(config(s), task_status=task_status))
            seen.append(ctx.node_id)
            nursery.cancel_scope.cancel()
    assert seen[0] == seen[1]
    assert (tmp_path / NODE_ID_FILE).read_text() == seen[0]
