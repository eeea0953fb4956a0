"""Fixtures for the fuzz tests: one ``-dev`` agent per module, running in a thread (see fuzzkit)."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.fuzz.fuzzkit import AgentThread, dev_config


@pytest.fixture(scope="module")
def agent_thread() -> Iterator[AgentThread]:
    agent = AgentThread(dev_config(dns=True)).start()
    try:
        yield agent
    finally:
        agent.stop()
