"""Fixtures for the state-store tests: a harness that applies commands at increasing Raft indexes."""

from __future__ import annotations

from typing import Any

import pytest

from actors.state import (
    Applied,
    HealthCheck,
    NodeRegister,
    NodeService,
    SessionCreate,
    StateCommand,
    StateStore,
    WatchRegistry,
)

SECOND = 1_000_000_000


class Harness:
    """A store, a watch registry, a Raft index counter and a fake leader clock."""

    def __init__(self) -> None:
        self.store = StateStore()
        self.registry = WatchRegistry()
        self.index = 0
        self.now_ns = 1_000 * SECOND
        self.last_woken: set[int] = set()

    def do(self, cmd: StateCommand, **stamp: Any) -> Applied:
        """Apply ``cmd`` at the next index, stamped with the harness clock; fire the registry."""
        from msgspec.structs import replace

        self.index += 1
        cmd = replace(cmd, now_ns=stamp.get("now_ns", self.now_ns))
        applied = self.store.apply(self.index, cmd)
        self.last_woken = self.registry.fire(applied.touched)
        return applied

    def ok(self, cmd: StateCommand, **stamp: Any) -> Any:
        applied = self.do(cmd, **stamp)
        assert applied.error is None, applied.error
        return applied.value

    def node(self, name: str = "n1", address: str = "10.0.0.1", status: str = "passing", **kw: Any) -> None:
        self.ok(
            NodeRegister(
                node=name,
                address=address,
                checks=[HealthCheck(check_id="serfHealth", name="Serf Health Status", status=status)],
                **kw,
            )
        )

    def service(self, node: str, name: str, sid: str = "", tags: list[str] | None = None, **kw: Any) -> None:
        self.ok(
            NodeRegister(
                node=node,
                address="",
                skip_node_update=True,
                service=NodeService(id=sid or name, service=name, tags=tags or [], **kw),
            )
        )

    def check(self, node: str, check_id: str, status: str, service_id: str = "") -> None:
        self.ok(
            NodeRegister(
                node=node,
                address="",
                skip_node_update=True,
                checks=[HealthCheck(check_id=check_id, name=check_id, status=status, service_id=service_id)],
            )
        )

    def session(self, sid: str, node: str = "n1", **kw: Any) -> str:
        return self.ok(SessionCreate(id=sid, node=node, **kw))


@pytest.fixture
def h() -> Harness:
    return Harness()
