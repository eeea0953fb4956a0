"""Unit tests for the lenient request decoding and the query-string helpers."""

from __future__ import annotations

import pytest

from actors.api.decode import ANY, BASE64, DURATION, ListOf, MapOf, Obj, normalize, read_json
from actors.api.ids import new_uuid, node_id_error, session_id_error
from actors.api.query import parse_go_bool, parse_uint
from actors.api.self_register import self_registration
from runtime.http import HTTPError
from tests.api.conftest import Local

P = "Request decode failed: "


def test_keys_match_case_insensitively_and_snake_case() -> None:
    spec = Obj(ServiceID=ANY, TaggedAddresses=MapOf(), Tags=ListOf(ANY))
    raw = {"service_id": "a", "TAGGEDADDRESSES": {"Lan_IPv4": "x"}, "tags": None, "other": 1}
    assert normalize(raw, spec, P) == {"ServiceID": "a", "TaggedAddresses": {"Lan_IPv4": "x"}}


def test_durations_and_base64() -> None:
    spec = Obj(Interval=DURATION, Value=BASE64)
    assert normalize({"interval": "90s", "value": "aGk="}, spec, P) == {"Interval": "1m30s", "Value": b"hi"}
    assert normalize({"interval": 1_500_000_000}, spec, P) == {"Interval": "1.5s"}
    assert normalize({"interval": "0s"}, spec, P) == {}
    with pytest.raises(HTTPError) as err:
        normalize({"interval": "10 s"}, spec, P)
    assert err.value.status == 400 and err.value.message == P + 'time: invalid duration "10 s"'
    with pytest.raises(HTTPError) as err:
        normalize({"interval": True}, spec, P)
    assert err.value.message == P + "expected a duration, got bool at $.Interval"


def test_shape_errors_name_the_path() -> None:
    spec = Obj(Checks=ListOf(Obj(Name=ANY)))
    with pytest.raises(HTTPError) as err:
        normalize({"checks": [{"name": "a"}, "b"]}, spec, P)
    assert err.value.message == P + "expected an object, got string at $.Checks[1]"
    with pytest.raises(HTTPError) as err:
        read_json(b"  ", P)
    assert err.value.message == P + "EOF"


def test_go_number_parsing() -> None:
    assert parse_uint("0") == 0 and parse_uint("18446744073709551615") == 2**64 - 1
    for bad in ("", " 1", "+1", "1_0", "0x10", "-0"):
        with pytest.raises(HTTPError):
            parse_uint(bad)
    assert parse_go_bool("T") and not parse_go_bool("False")
    with pytest.raises(ValueError):
        parse_go_bool("yes")


def test_ids() -> None:
    import random

    a, b = new_uuid(random.Random(1)), new_uuid(random.Random(1))
    assert a == b and session_id_error(a) is None and node_id_error(a) is None
    assert session_id_error("abc") == "failed session lookup: index error: UUID must be 36 characters"
    assert node_id_error("x" * 36) == "Bad node ID: uuid is improperly formatted"


async def test_self_registration_is_idempotent(local: Local) -> None:
    from actors.api.state_api import register_self

    before = await local.json("GET", "/v1/catalog/node/n1")
    await register_self(local.ctx)
    after = await local.json("GET", "/v1/catalog/node/n1")
    assert before == after
    cmd = self_registration(local.ctx)
    assert cmd.service is not None and cmd.service.tags == [] and cmd.service.port == 8300
    assert [c.check_id for c in cmd.checks] == ["serfHealth"]


async def test_dev_agent_pretty_prints(local: Local) -> None:
    resp = await local.call("GET", "/v1/catalog/datacenters")
    assert resp.body == b'[\n    "dc1"\n]\n'
    local.ctx.config = __import__("msgspec").structs.replace(local.ctx.config, dev=False)
    assert (await local.call("GET", "/v1/catalog/datacenters")).body == b'["dc1"]'
    assert (await local.call("GET", "/v1/catalog/datacenters?pretty")).body == b'[\n    "dc1"\n]\n'
