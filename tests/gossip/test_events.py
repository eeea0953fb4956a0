"""Consul's user events: validation and messages, receive-side filters, and the list index."""

from __future__ import annotations

import pytest

from actors.gossip.events import (ConsulEvent, FireError, decode_event, encode_event, event_json, should_process,
                                  uuid_index, validate_fire)


def test_envelope_roundtrip_takes_ltime_from_serf() -> None:
    event = ConsulEvent(id="b54fe110-7af5-cafc-d1fb-afc8ba432b1c", name="deploy", payload=b"v2", node_filter="web")
    name, payload = encode_event(event)
    assert name == "consul:event:deploy"
    back = decode_event(name, payload, 42)
    assert back is not None and back.ltime == 42 and back.payload == b"v2" and back.node_filter == "web"
    assert decode_event("other", payload, 1) is None
    assert decode_event(name, b"\xff\x00garbage", 1) is None


def test_json_shape() -> None:
    doc = event_json(ConsulEvent(id="b54fe110-7af5-cafc-d1fb-afc8ba432b1c", name="deploy"))
    assert doc == {"ID": "b54fe110-7af5-cafc-d1fb-afc8ba432b1c", "Name": "deploy", "Payload": None, "NodeFilter": "",
                   "ServiceFilter": "", "TagFilter": "", "Version": 1, "LTime": 0}
    assert event_json(ConsulEvent(id="x", name="n", payload=b"hi"))["Payload"] == "aGk="


def test_index_is_the_xor_of_the_uuid_halves() -> None:
    assert uuid_index("b54fe110-7af5-cafc-d1fb-afc8ba432b1c") == 0xB54FE1107AF5CAFC ^ 0xD1FBAFC8BA432B1C
    assert uuid_index("garbage") == 1


@pytest.mark.parametrize(
    ("args", "status", "text"),
    [
        (("", "", "", ""), 400, "Missing name"),
        (("_rexec", "", "", ""), 400, "reserved"),
        (("x", "", "", "tag"), 500, "Cannot provide tag filter without service filter"),
        (("x", "(", "", ""), 500, "Invalid node filter"),
        (("x", "", "[", ""), 500, "Invalid service filter"),
    ],
)
def test_fire_validation(args: tuple[str, str, str, str], status: int, text: str) -> None:
    with pytest.raises(FireError) as err:
        validate_fire(*args)
    assert err.value.status == status and text in err.value.message


@pytest.mark.parametrize(
    ("filters", "node", "services", "kept"),
    [
        ({}, "web-1", [], True),
        ({"node_filter": "^web"}, "web-1", [], True),
        ({"node_filter": "^db"}, "web-1", [], False),
        ({"node_filter": "eb"}, "web-1", [], True),  # a search, as Go's MatchString
        ({"service_filter": "api"}, "n", [("api", [])], True),
        ({"service_filter": "api"}, "n", [("db", [])], False),
        ({"service_filter": "api"}, "n", [], False),
        ({"service_filter": "api", "tag_filter": "^v2$"}, "n", [("api", ["v1", "v2"])], True),
        ({"service_filter": "api", "tag_filter": "^v3$"}, "n", [("api", ["v1", "v2"])], False),
        ({"node_filter": "("}, "n", [], False),
    ],
)
def test_receive_filters(filters: dict[str, str], node: str, services: list, kept: bool) -> None:
    assert should_process(ConsulEvent(id="i", name="e", **filters), node, services) is kept
