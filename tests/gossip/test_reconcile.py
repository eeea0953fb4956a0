"""The leader's serfHealth reconciliation plan, as a table: members and catalog in, commands out."""

from __future__ import annotations

import pytest

from actors.gossip.members import SerfMember
from actors.gossip.reconcile import (SERF_ALIVE_OUTPUT, SERF_FAILED_OUTPUT, CatalogNode, catalog_nodes_from_store,
                                     plan_serf_health)
from actors.state.commands import NodeDeregister, NodeRegister
from actors.state.models import CRITICAL, PASSING
from actors.state.store import StateStore

CLIENT = {"role": "node", "dc": "dc1", "id": "11111111-2222-3333-4444-555555555555"}
SERVER = {"role": "consul", "dc": "dc1", "port": "8300", "id": "aaaaaaaa-2222-3333-4444-555555555555"}


def member(name: str, status: str, tags: dict[str, str] = CLIENT, address: str = "10.0.0.1") -> SerfMember:
    return SerfMember(name=name, address=address, port=8301, tags=dict(tags), status=status)


def node(name: str, status: str | None, address: str = "10.0.0.1", port: int | None = None) -> CatalogNode:
    return CatalogNode(name=name, address=address, serf_status=status, consul_port=port)


def summary(ops: list) -> list[tuple]:
    out = []
    for op in ops:
        if isinstance(op, NodeDeregister):
            out.append(("deregister", op.node))
        else:
            check = op.checks[0]
            out.append(("register", op.node, op.address, check.status, check.output,
                        op.service.port if op.service else None))
    return out


ALIVE = (PASSING, SERF_ALIVE_OUTPUT)
FAILED = (CRITICAL, SERF_FAILED_OUTPUT)


@pytest.mark.parametrize(
    ("members", "catalog", "expected"),
    [
        ([member("a", "alive")], {}, [("register", "a", "10.0.0.1", *ALIVE, None)]),
        ([member("a", "alive")], {"a": node("a", PASSING)}, []),
        ([member("a", "alive")], {"a": node("a", CRITICAL)}, [("register", "a", "10.0.0.1", *ALIVE, None)]),
        ([member("a", "alive", address="10.0.0.9")], {"a": node("a", PASSING)},
         [("register", "a", "10.0.0.9", *ALIVE, None)]),
        ([member("s", "alive", SERVER)], {}, [("register", "s", "10.0.0.1", *ALIVE, 8300)]),
        ([member("s", "alive", SERVER)], {"s": node("s", PASSING, port=8300)}, []),
        ([member("s", "alive", SERVER)], {"s": node("s", PASSING)}, [("register", "s", "10.0.0.1", *ALIVE, 8300)]),
        ([member("a", "failed")], {"a": node("a", PASSING)}, [("register", "a", "10.0.0.1", *FAILED, None)]),
        ([member("a", "failed")], {}, [("register", "a", "10.0.0.1", *FAILED, None)]),
        ([member("a", "failed")], {"a": node("a", CRITICAL)}, []),
        ([member("a", "left")], {"a": node("a", PASSING)}, [("deregister", "a")]),
        ([member("a", "left")], {}, []),
        ([member("a", "leaving")], {"a": node("a", PASSING)}, []),
        ([], {"gone": node("gone", CRITICAL)}, [("deregister", "gone")]),
        ([], {"external": node("external", None)}, []),
        ([member("x", "alive", {"role": "other"})], {}, []),
        ([member("leader", "left", SERVER)], {"leader": node("leader", PASSING, port=8300)}, []),
    ],
)
def test_plan(members: list[SerfMember], catalog: dict[str, CatalogNode], expected: list[tuple]) -> None:
    assert summary(plan_serf_health(members, catalog, datacenter="dc1", self_node="leader")) == expected


def test_registration_carries_the_node_id_and_check_name() -> None:
    (op,) = plan_serf_health([member("a", "alive")], {}, datacenter="dc1")
    assert isinstance(op, NodeRegister) and op.id == CLIENT["id"] and op.datacenter == "dc1"
    assert op.checks[0].check_id == "serfHealth" and op.checks[0].name == "Serf Health Status"


def test_plan_applied_to_a_store_converges() -> None:
    store = StateStore()
    members = [member("a", "alive"), member("s", "alive", SERVER, "10.0.0.2"),
               member("b", "failed", address="10.0.0.3")]
    for index, op in enumerate(plan_serf_health(members, catalog_nodes_from_store(store), datacenter="dc1"), 1):
        assert store.apply(index, op).ok
    assert plan_serf_health(members, catalog_nodes_from_store(store), datacenter="dc1") == []
    members = [member("a", "left"), member("s", "alive", SERVER, "10.0.0.2")]
    ops = plan_serf_health(members, catalog_nodes_from_store(store), datacenter="dc1")
    assert summary(ops) == [("deregister", "a"), ("deregister", "b")]
