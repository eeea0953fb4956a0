"""Catalog and health: registration, reads and their JSON shape, deregistration cascades."""

from __future__ import annotations

import msgspec
import pytest

from actors.state import (
    CheckUpdate,
    HealthCheck,
    InvalidInput,
    NodeDeregister,
    NodeRegister,
    NodeService,
    NotFound,
    ServiceAddress,
)


def js(obj):
    return msgspec.json.decode(msgspec.json.encode(obj))


def register_web(h):
    h.ok(
        NodeRegister(
            node="n1",
            address="10.0.0.1",
            id="0b1e9e3c-0000-4000-8000-000000000001",
            datacenter="dc1",
            tagged_addresses={"lan": "10.0.0.1", "wan": "1.2.3.4"},
            node_meta={"rack": "r1"},
            service=NodeService(id="web1", service="web", tags=["v1", "primary"], port=80),
            checks=[
                HealthCheck(check_id="serfHealth", name="Serf Health Status", status="passing"),
                HealthCheck(check_id="web-http", name="http", status="passing", service_id="web1"),
            ],
        )
    )


def test_register_and_catalog_nodes_shape(h):
    register_web(h)
    index, nodes = h.store.nodes()
    assert index == 1
    assert js(nodes) == [
        {
            "ID": "0b1e9e3c-0000-4000-8000-000000000001",
            "Node": "n1",
            "Address": "10.0.0.1",
            "Datacenter": "dc1",
            "TaggedAddresses": {"lan": "10.0.0.1", "wan": "1.2.3.4"},
            "Meta": {"rack": "r1"},
            "CreateIndex": 1,
            "ModifyIndex": 1,
        }
    ]


def test_catalog_service_flat_shape(h):
    register_web(h)
    _, rows = h.store.service_nodes("web")
    body = js(rows)
    assert list(body[0]) == [
        "ID",
        "Node",
        "Address",
        "Datacenter",
        "TaggedAddresses",
        "NodeMeta",
        "ServiceKind",
        "ServiceID",
        "ServiceName",
        "ServiceTags",
        "ServiceAddress",
        "ServiceWeights",
        "ServiceMeta",
        "ServicePort",
        "ServiceEnableTagOverride",
        "ServiceProxy",
        "ServiceConnect",
        "CreateIndex",
        "ModifyIndex",
    ]
    assert body[0]["ServiceTags"] == ["v1", "primary"]
    assert body[0]["ServicePort"] == 80
    assert body[0]["NodeMeta"] == {"rack": "r1"}
    assert body[0]["ServiceWeights"] == {"Passing": 1, "Warning": 1}


def test_service_tagged_addresses_present_only_when_set(h):
    h.node()
    h.service("n1", "api", tagged_addresses={"lan": ServiceAddress(address="10.0.0.9", port=9)})
    h.service("n1", "plain")
    row = js(h.store.service_nodes("api")[1])[0]
    assert row["ServiceTaggedAddresses"] == {"lan": {"Address": "10.0.0.9", "Port": 9}}
    assert "ServiceTaggedAddresses" not in js(h.store.service_nodes("plain")[1])[0]


def test_empty_tags_are_a_list(h):
    h.node()
    h.service("n1", "redis")
    assert js(h.store.service_nodes("redis")[1])[0]["ServiceTags"] == []
    assert h.store.services()[1] == {"redis": []}


def test_nested_service_shape_omits_empty_port_and_kind(h):
    h.node()
    h.service("n1", "redis")
    _, ns = h.store.node_services("n1")
    body = js(ns)
    assert list(body) == ["Node", "Services"]
    svc = body["Services"]["redis"]
    assert "Port" not in svc and "Kind" not in svc and "TaggedAddresses" not in svc
    assert svc["ID"] == "redis" and svc["Service"] == "redis" and svc["Tags"] == []


def test_services_union_of_tags(h):
    h.node()
    h.node("n2", "10.0.0.2")
    h.service("n1", "pg", tags=["primary"])
    h.service("n2", "pg", tags=["secondary", "primary"])
    h.service("n1", "consul")
    assert h.store.services()[1] == {"consul": [], "pg": ["primary", "secondary"]}


def test_service_nodes_tag_filter_all_must_match(h):
    h.node()
    h.node("n2", "10.0.0.2")
    h.service("n1", "web", tags=["a", "b"])
    h.service("n2", "web", tags=["a"])
    assert [r.node for r in h.store.service_nodes("web", ["a"])[1]] == ["n1", "n2"]
    assert [r.node for r in h.store.service_nodes("web", ["a", "b"])[1]] == ["n1"]
    assert h.store.service_nodes("web", ["c"])[1] == []
    assert h.store.service_nodes("nothing")[1] == []


def test_node_services_and_list(h):
    register_web(h)
    h.service("n1", "db", sid="db1")
    _, ns = h.store.node_services("N1")
    assert sorted(ns.services) == ["db1", "web1"]
    _, nl = h.store.node_service_list("n1")
    assert [s.id for s in nl.services] == ["db1", "web1"]
    assert h.store.node_services("ghost")[1] is None
    assert h.store.node_service_list("ghost")[1] is None


def test_health_node_and_service_checks(h):
    register_web(h)
    _, checks = h.store.node_checks("n1")
    assert [c.check_id for c in checks] == ["serfHealth", "web-http"]
    body = js(checks)
    assert body[0]["ServiceID"] == "" and body[0]["ServiceName"] == "" and body[0]["ServiceTags"] == []
    assert body[1]["ServiceName"] == "web" and body[1]["ServiceTags"] == ["v1", "primary"]
    assert list(body[0]) == [
        "Node",
        "CheckID",
        "Name",
        "Status",
        "Notes",
        "Output",
        "ServiceID",
        "ServiceName",
        "ServiceTags",
        "Type",
        "Definition",
        "Interval",
        "Timeout",
        "ExposedPort",
        "CreateIndex",
        "ModifyIndex",
    ]
    assert [c.check_id for c in h.store.service_checks("web")[1]] == ["web-http"]


def test_health_service_entries_and_passing_filter(h):
    h.node()
    h.node("n2", "10.0.0.2")
    h.node("n3", "10.0.0.3")
    for n in ("n1", "n2", "n3"):
        h.service(n, "web")
        h.check(n, "web-ok", "passing", service_id="web")
    h.check("n2", "web-ok", "warning", service_id="web")  # service check warning
    h.ok(CheckUpdate(node="n3", check_id="serfHealth", status="critical"))  # node check critical
    _, entries = h.store.service_health("web")
    assert [e.node.node for e in entries] == ["n1", "n2", "n3"]
    assert [c.check_id for c in entries[0].checks] == ["serfHealth", "web-ok"]
    assert list(js(entries[0])) == ["Node", "Service", "Checks"]
    _, passing = h.store.service_health("web", passing_only=True)
    assert [e.node.node for e in passing] == ["n1"]


def test_health_service_checks_only_own_service(h):
    h.node()
    h.service("n1", "web")
    h.service("n1", "db")
    h.check("n1", "db-ok", "critical", service_id="db")
    _, entries = h.store.service_health("web", passing_only=True)
    assert len(entries) == 1 and [c.check_id for c in entries[0].checks] == ["serfHealth"]


def test_checks_in_state(h):
    register_web(h)
    h.check("n1", "disk", "warning")
    assert [c.check_id for c in h.store.checks_in_state("warning")[1]] == ["disk"]
    assert [c.check_id for c in h.store.checks_in_state("passing")[1]] == ["serfHealth", "web-http"]
    assert len(h.store.checks_in_state("any")[1]) == 3
    with pytest.raises(InvalidInput):
        h.store.checks_in_state("sick")


def test_check_status_defaults_to_critical(h):
    h.node()
    h.ok(NodeRegister(node="n1", address="10.0.0.1", checks=[HealthCheck(check_id="c")]))
    assert h.store.node_check("n1", "c").status == "critical"


def test_check_id_defaults_to_name(h):
    h.node()
    h.ok(NodeRegister(node="n1", address="10.0.0.1", checks=[HealthCheck(name="mem", status="passing")]))
    assert h.store.node_check("n1", "mem").name == "mem"


def test_deregister_service_removes_its_checks_only(h):
    register_web(h)
    h.ok(NodeDeregister(node="n1", service_id="web1"))
    assert h.store.service_nodes("web")[1] == []
    assert [c.check_id for c in h.store.node_checks("n1")[1]] == ["serfHealth"]
    assert h.store.services()[1] == {}
    assert h.store.node("n1")[1] is not None


def test_deregister_check(h):
    register_web(h)
    h.ok(NodeDeregister(node="n1", check_id="web-http"))
    assert [c.check_id for c in h.store.node_checks("n1")[1]] == ["serfHealth"]
    assert h.store.service_nodes("web")[1] != []


def test_deregister_node_cascades(h):
    register_web(h)
    h.node("n2", "10.0.0.2")
    h.service("n2", "web", sid="web2")
    h.ok(NodeDeregister(node="n1"))
    assert [n.node for n in h.store.nodes()[1]] == ["n2"]
    assert [r.node for r in h.store.service_nodes("web")[1]] == ["n2"]
    assert h.store.node_checks("n1")[1] == []
    assert h.store.checks_in_state("any")[1] == h.store.node_checks("n2")[1]
    assert h.ok(NodeDeregister(node="n1")) is True  # idempotent


def test_skip_node_update(h):
    h.node("n1", "10.0.0.1")
    h.ok(NodeRegister(node="n1", address="9.9.9.9", skip_node_update=True))
    assert h.store.node("n1")[1].address == "10.0.0.1"
    h.ok(NodeRegister(node="n9", address="9.9.9.9", skip_node_update=True))
    assert h.store.node("n9")[1].address == "9.9.9.9"


def test_node_update_changes_address(h):
    h.node("n1", "10.0.0.1")
    h.node("n1", "10.0.0.7")
    _, node = h.store.node("n1")
    assert (node.address, node.create_index, node.modify_index) == ("10.0.0.7", 1, 2)


def test_reregistering_same_data_bumps_nothing(h):
    register_web(h)
    applied = h.do(
        NodeRegister(
            node="n1",
            address="10.0.0.1",
            id="0b1e9e3c-0000-4000-8000-000000000001",
            datacenter="dc1",
            tagged_addresses={"lan": "10.0.0.1", "wan": "1.2.3.4"},
            node_meta={"rack": "r1"},
            service=NodeService(id="web1", service="web", tags=["v1", "primary"], port=80),
            checks=[
                HealthCheck(check_id="serfHealth", name="Serf Health Status", status="passing"),
                HealthCheck(check_id="web-http", name="http", status="passing", service_id="web1"),
            ],
        )
    )
    assert applied.ok and applied.touched == frozenset()
    assert h.store.service_health("web")[0] == 1


def test_case_insensitive_lookups(h):
    h.node("Node-A")
    h.service("node-a", "Web", sid="Web-1")
    assert h.store.node("NODE-A")[1].node == "Node-A"
    assert [r.service_id for r in h.store.service_nodes("web")[1]] == ["Web-1"]
    assert h.store.node_service("node-a", "web-1").service == "Web"


def test_service_rename_moves_between_names_and_refreshes_checks(h):
    h.node()
    h.service("n1", "old", sid="svc")
    h.check("n1", "svc-ok", "passing", service_id="svc")
    renamed = NodeService(id="svc", service="new", tags=["t"])
    h.ok(NodeRegister(node="n1", address="", skip_node_update=True, service=renamed))
    assert h.store.service_nodes("old")[1] == []
    assert [r.service_id for r in h.store.service_nodes("new")[1]] == ["svc"]
    chk = h.store.node_check("n1", "svc-ok")
    assert (chk.service_name, chk.service_tags) == ("new", ["t"])


def test_service_index_moves_forward_on_deregistration(h):
    h.node()
    h.service("n1", "web")
    first = h.store.service_nodes("web")[0]
    h.ok(NodeDeregister(node="n1", service_id="web"))
    index, rows = h.store.service_nodes("web")
    assert rows == [] and index > first


def test_service_index_follows_node_level_checks(h):
    h.node()
    h.service("n1", "web")
    h.service("n1", "db")
    h.ok(CheckUpdate(node="n1", check_id="serfHealth", status="warning"))
    assert h.store.service_health("web")[0] == h.index
    assert h.store.service_health("db")[0] == h.index


def test_unknown_service_index_falls_back_to_tables(h):
    h.node()
    assert h.store.service_health("ghost")[0] == h.index


@pytest.mark.parametrize(
    "cmd, kind, message",
    [
        (NodeRegister(node="", address="1"), InvalidInput, "Must provide node"),
        (
            NodeRegister(node="x", address=""),
            InvalidInput,
            "Must provide address if SkipNodeUpdate is not set",
        ),
        (NodeRegister(node="x\x00", address="1"), InvalidInput, None),
        (
            NodeRegister(node="x", address="1", service=NodeService(id="only-id")),
            InvalidInput,
            "Must provide service name with ID",
        ),
        (
            NodeRegister(node="x", address="1", checks=[HealthCheck(node="y", check_id="c")]),
            InvalidInput,
            'check node "y" does not match node "x"',
        ),
        (
            NodeRegister(node="x", address="1", checks=[HealthCheck(check_id="c", status="sick")]),
            InvalidInput,
            'failed inserting check on node "x": Invalid check status: "sick"',
        ),
        (
            NodeRegister(node="x", address="1", checks=[HealthCheck(check_id="c", service_id="nope")]),
            NotFound,
            'failed inserting check on node "x": Missing service registration',
        ),
        (CheckUpdate(node="x", check_id="c", status="passing"), NotFound, "Missing check 'c' registration"),
        (NodeDeregister(node=""), InvalidInput, "Must provide node"),
    ],
)
def test_register_rejections_write_nothing(h, cmd, kind, message):
    applied = h.do(cmd)
    assert isinstance(applied.error, kind), applied
    if message:
        assert applied.error.message == message
    assert h.store.nodes()[1] == []
    assert applied.touched == frozenset()


def test_check_update_invalid_status(h):
    h.node()
    applied = h.do(CheckUpdate(node="n1", check_id="serfHealth", status="meh"))
    assert isinstance(applied.error, InvalidInput)
    assert h.store.node_check("n1", "serfHealth").status == "passing"


def test_check_update_sets_output(h):
    h.node()
    h.ok(CheckUpdate(node="n1", check_id="serfHealth", status="passing", output="Agent alive"))
    chk = h.store.node_check("n1", "serfHealth")
    assert (chk.output, chk.modify_index) == ("Agent alive", h.index)
