"""The anti-entropy plan as tables: local state vs the catalog's view of this node → the ops to run."""

from __future__ import annotations

import msgspec

from actors.catalog.diff import Desired, Remote, Scope, plan
from actors.catalog.ops import (
    DeregisterCheck,
    DeregisterService,
    RegisterCheck,
    RegisterNode,
    RegisterService,
    UpdateCheck,
    to_command,
)
from actors.state.commands import CheckUpdate, NodeDeregister, NodeRegister
from actors.state.models import HealthCheck, Node, NodeService

NODE = Node(id="id-1", node="n1", address="10.0.0.1", datacenter="dc1")
WEB = NodeService(id="web", service="web", tags=["a"], port=80)
DB = NodeService(id="db", service="db")
CONSUL = NodeService(id="consul", service="consul", port=8300)
WEB_CHECK = HealthCheck(node="n1", check_id="service:web", name="web", status="passing", output="ok",
                        service_id="web", type="ttl")
NODE_CHECK = HealthCheck(node="n1", check_id="disk", name="disk", status="passing", type="script")
SERF = HealthCheck(node="n1", check_id="serfHealth", name="Serf Health Status", status="passing")


def indexed(record, index=7):  # type: ignore[no-untyped-def]
    """What the catalog hands back: the same record with indexes (and the copies the store keeps)."""
    changes = {"create_index": index, "modify_index": index}
    if isinstance(record, HealthCheck) and record.service_id:
        changes.update(service_name="web", service_tags=["a"])
    return msgspec.structs.replace(record, **changes)


def desired(services=(), checks=()) -> Desired:  # type: ignore[no-untyped-def]
    return Desired(NODE, {s.id: s for s in services}, {c.check_id: c for c in checks})


def remote(services=(), checks=(), node=NODE) -> Remote:  # type: ignore[no-untyped-def]
    return Remote(indexed(node) if node else None, {s.id: indexed(s) for s in services},
                  {c.check_id: indexed(c) for c in checks})


def test_in_sync_means_nothing_to_do() -> None:
    assert plan(desired([WEB], [WEB_CHECK, NODE_CHECK]), remote([WEB], [WEB_CHECK, NODE_CHECK])) == []


def test_missing_node_services_and_checks_are_registered_node_first() -> None:
    ops = plan(desired([WEB], [WEB_CHECK, NODE_CHECK]), remote(node=None))
    assert ops == [RegisterNode(), RegisterService(WEB), RegisterCheck(NODE_CHECK), RegisterCheck(WEB_CHECK)]


def test_changed_node_facts_are_reasserted_on_full_sync_only() -> None:
    moved = remote(node=msgspec.structs.replace(NODE, address="10.0.0.9"))
    assert plan(desired(), moved) == [RegisterNode()]
    assert plan(desired(), moved, scope=Scope(frozenset(), frozenset())) == []


def test_foreign_entries_are_removed_but_leader_owned_ones_stay() -> None:
    ops = plan(desired(), remote([DB, CONSUL], [NODE_CHECK, SERF]))
    assert ops == [DeregisterCheck("disk"), DeregisterService("db")]


def test_checks_of_a_removed_service_go_with_it() -> None:
    assert plan(desired(), remote([WEB], [WEB_CHECK])) == [DeregisterService("web")]


def test_changed_service_is_reregistered() -> None:
    changed = msgspec.structs.replace(WEB, port=81)
    assert plan(desired([changed]), remote([WEB])) == [RegisterService(changed)]


def test_enable_tag_override_keeps_catalog_tags() -> None:
    mine = msgspec.structs.replace(WEB, enable_tag_override=True)
    theirs = msgspec.structs.replace(mine, tags=["set-by-operator"])
    assert plan(desired([mine]), remote([theirs])) == []
    moved = msgspec.structs.replace(mine, port=81)
    assert plan(desired([moved]), remote([theirs])) == [
        RegisterService(msgspec.structs.replace(moved, tags=["set-by-operator"]))]


def test_status_and_output_changes_are_cheap_updates() -> None:
    failing = msgspec.structs.replace(WEB_CHECK, status="critical", output="boom")
    assert plan(desired([WEB], [failing]), remote([WEB], [WEB_CHECK])) == [
        UpdateCheck("service:web", "critical", "boom")]


def test_definition_changes_reregister_the_check() -> None:
    renamed = msgspec.structs.replace(WEB_CHECK, name="renamed")
    assert plan(desired([WEB], [renamed]), remote([WEB], [WEB_CHECK])) == [RegisterCheck(renamed)]


def test_deferred_output_is_not_synced_but_status_is() -> None:
    chatty = msgspec.structs.replace(WEB_CHECK, output="new output")
    deferred = frozenset({"service:web"})
    assert plan(desired([WEB], [chatty]), remote([WEB], [WEB_CHECK]), deferred_output=deferred) == []
    assert plan(desired([WEB], [chatty]), remote([WEB], [WEB_CHECK])) == [
        UpdateCheck("service:web", "passing", "new output")]
    failing = msgspec.structs.replace(chatty, status="critical")
    assert plan(desired([WEB], [failing]), remote([WEB], [WEB_CHECK]), deferred_output=deferred) == [
        UpdateCheck("service:web", "critical", "new output")]


def test_partial_sync_looks_only_at_changed_entries() -> None:
    scope = Scope(frozenset({"web"}), frozenset())
    ops = plan(desired([WEB], [NODE_CHECK]), remote([DB]), scope=scope)
    assert ops == [RegisterService(WEB)]
    scope = Scope(frozenset({"db"}), frozenset({"disk"}))
    assert plan(desired([WEB], [NODE_CHECK]), remote([DB]), scope=scope) == [DeregisterService("db"),
                                                                            RegisterCheck(NODE_CHECK)]


def test_a_check_brings_its_missing_service_along() -> None:
    scope = Scope(frozenset(), frozenset({"service:web"}))
    assert plan(desired([WEB], [WEB_CHECK]), remote(), scope=scope) == [RegisterService(WEB), RegisterCheck(WEB_CHECK)]


def test_ids_compare_case_insensitively_as_the_catalog_stores_them() -> None:
    upper = msgspec.structs.replace(WEB, id="WEB")
    assert plan(desired([WEB]), remote([upper])) == [RegisterService(WEB)]
    assert plan(desired([upper]), remote([upper])) == []


def test_ops_become_state_commands() -> None:
    reg = to_command(RegisterService(WEB), NODE)
    assert isinstance(reg, NodeRegister) and reg.skip_node_update and reg.service == WEB and reg.address == "10.0.0.1"
    node = to_command(RegisterNode(), NODE)
    assert isinstance(node, NodeRegister) and not node.skip_node_update and node.service is None
    assert to_command(UpdateCheck("c", "warning", "o"), NODE) == CheckUpdate(node="n1", check_id="c", status="warning",
                                                                             output="o")
    assert to_command(DeregisterService("web"), NODE) == NodeDeregister(node="n1", service_id="web")
    assert to_command(DeregisterCheck("c"), NODE) == NodeDeregister(node="n1", check_id="c")
