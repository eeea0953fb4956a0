"""Service and check definitions: lenient keys, generated check IDs and names, Consul's validation texts."""

from __future__ import annotations

import pytest

from actors.local.definitions import (
    DecodeError,
    DefinitionError,
    check_from_definition,
    parse_check,
    parse_service,
    service_from_definition,
    spec_problem,
)
from actors.local.records import CheckSpec


def service(raw: dict) -> tuple:
    return service_from_definition(parse_service(raw))


def test_lenient_keys_as_python_clients_send_them() -> None:
    svc, checks = service({"name": "web", "id": "web-1", "enabletagoverride": True, "tags": ["a"],
                           "tagged_addresses": {"lan": {"address": "10.0.0.1", "port": 80}},
                           "Meta": {"v": "1"}, "port": 8080, "checks": [{"ttl": "10s"}]})
    assert (svc.id, svc.name, svc.enable_tag_override, svc.tags, svc.port) == ("web-1", "web", True, ["a"], 8080)
    assert svc.tagged_addresses["lan"].address == "10.0.0.1" and svc.meta == {"v": "1"}
    assert [(c.id, c.name, c.service_id, c.type, c.spec.ttl) for c in checks] == [
        ("service:web-1", "Service 'web' check", "web-1", "ttl", 10.0)]


def test_generated_ids_for_several_checks_are_one_based_and_check_comes_first() -> None:
    _, checks = service({"Name": "db", "Check": {"TTL": "5s"},
                         "Checks": [{"tcp": "127.0.0.1:5432", "interval": "10s"},
                                    {"CheckID": "mine", "Name": "own", "ttl": "1m"}]})
    assert [c.id for c in checks] == ["service:db:1", "service:db:2", "mine"]
    assert [c.name for c in checks] == ["Service 'db' check", "Service 'db' check", "own"]
    assert checks[1].spec.interval == 10.0 and checks[2].spec.ttl == 60.0


def test_check_id_defaults_to_name_and_durations_take_nanoseconds() -> None:
    check = check_from_definition(parse_check({"name": "script", "args": ["/bin/true"], "interval": 10}))
    assert check.id == "script" and check.type == "script" and check.spec.interval == 1e-8
    check = check_from_definition(parse_check({"Name": "x", "ID": "y", "serviceid": "s", "TTL": "1s",
                                               "status": "passing", "Notes": "n"}))
    assert (check.id, check.service_id, check.status, check.initial_status, check.notes) == ("y", "s", "passing",
                                                                                           "passing", "n")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"port": 1}, "Missing service name"),
        ({"name": "a", "address": "0.0.0.0"}, "Invalid service address"),
        ({"name": "a", "address": "::"}, "Invalid service address"),
        ({"name": "a", "weights": {"warning": 1}}, "Invalid Weights: Passing must be greater than 0"),
        ({"name": "a", "meta": {"bad key": "v"}},
         "Invalid Service Meta: Couldn't load metadata pair ('bad key', 'v'): Key contains invalid characters"),
        ({"name": "a", "meta": {"consul-x": "v"}},
         "Invalid Service Meta: Couldn't load metadata pair ('consul-x', 'v'): "
         "Key prefix 'consul-' is reserved for internal use"),
        ({"name": "a", "check": {"http": "http://x"}},
         "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"),
        ({"name": "a", "checks": [{"notes": "only notes"}]}, "Invalid check: TTL must be > 0 for TTL checks"),
        ({"name": "a", "check": {"ttl": "1s", "status": "ok"}},
         "Status for checks must 'passing', 'warning', 'critical'"),
    ],
)
def test_service_validation_messages(raw: dict, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        service(raw)
    assert info.value.message == message and info.value.status == 400


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"ttl": "1s"}, "Missing check name"),
        ({"name": "c", "ttl": "1s", "status": "bad"}, "Bad check status"),
        ({"name": "c", "tcp": "127.0.0.1:1"},
         "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"),
        ({"name": "c", "alias_service": "x", "ttl": "1s"}, "Invalid check: TTL must be not be set for Alias checks"),
    ],
)
def test_check_validation_messages(raw: dict, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        check_from_definition(parse_check(raw))
    assert info.value.message == message


def test_decode_errors() -> None:
    with pytest.raises(DecodeError):
        parse_service({"name": "a", "port": "eighty"})
    with pytest.raises(DecodeError) as info:
        check_from_definition(parse_check({"name": "c", "ttl": "ten seconds"}))
    assert "invalid duration" in info.value.message
    with pytest.raises(DecodeError):
        parse_service(["not", "an", "object"])


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (CheckSpec(ttl=1), None),
        (CheckSpec(http="http://x", interval=1), None),
        (CheckSpec(alias_service="web"), None),
        (CheckSpec(alias_service="web", tcp="x:1", interval=1), "Interval cannot be set for Alias checks"),
        (CheckSpec(args=["true"]), "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"),
        (CheckSpec(), "TTL must be > 0 for TTL checks"),
        (CheckSpec(ttl=1, output_max_size=-1), "MaxOutputMaxSize must be positive"),
    ],
)
def test_spec_problem_table(spec: CheckSpec, problem: str | None) -> None:
    assert spec_problem(spec) == problem
