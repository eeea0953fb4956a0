"""Evaluation of ``filter=`` expressions against sample Consul records (table driven)."""

from __future__ import annotations

import copy

import msgspec
import pytest

from actors.api.filter import (
    FieldSchema,
    FilterError,
    FilterEvaluationError,
    cache_info,
    compile_filter,
    fields_from_struct,
)

# /v1/catalog/service/:name entry
CATALOG_NODE = {
    "ID": "40e4a748-2192-161a-0510-9bf59fe950b5",
    "Node": "node-1",
    "Address": "10.0.0.1",
    "Datacenter": "dc1",
    "TaggedAddresses": {"lan": "10.0.0.1", "wan": "198.18.0.1"},
    "NodeMeta": {"env": "prod", "rack": "r1", "key with space": "yes"},
    "ServiceKind": "",
    "ServiceID": "web-1",
    "ServiceName": "web",
    "ServiceTags": ["v1", "primary"],
    "ServiceAddress": "",
    "ServiceWeights": {"Passing": 10, "Warning": 1},
    "ServiceMeta": {"version": "1.2"},
    "ServicePort": 8080,
    "ServiceEnableTagOverride": False,
    "ServiceProxy": {"DestinationServiceName": "", "Upstreams": []},
    "CreateIndex": 10,
    "ModifyIndex": 12,
}

# /v1/health/checks/:service entry
HEALTH_CHECK = {
    "Node": "node-1",
    "CheckID": "service:web-1",
    "Name": "Service 'web' check",
    "Status": "passing",
    "Notes": "",
    "Output": "HTTP GET http://10.0.0.1:8080/health: 200 OK",
    "ServiceID": "web-1",
    "ServiceName": "web",
    "ServiceTags": ["v1", "primary"],
    "Type": "http",
    "Definition": {"Interval": "10s", "Timeout": "1s"},
    "CreateIndex": 11,
    "ModifyIndex": 11,
}

# /v1/agent/services value
AGENT_SERVICE = {
    "Kind": "",
    "ID": "redis-1",
    "Service": "redis",
    "Tags": ["cache", "v7"],
    "Meta": {"redis_version": "7.0"},
    "Port": 6379,
    "Address": "",
    "Weights": {"Passing": 1, "Warning": 1},
    "EnableTagOverride": True,
    "Datacenter": "dc1",
    "Proxy": None,
    "Ratio": 0.5,
}

# /v1/health/service/:name entry (nested objects and a list of checks)
HEALTH_ENTRY = {
    "Node": {"Node": "node-2", "Address": "10.0.0.2", "Meta": {"env": "staging"}},
    "Service": {"ID": "web-2", "Service": "web", "Tags": [], "Port": 8081, "Meta": {}},
    "Checks": [
        {"CheckID": "serfHealth", "Status": "passing", "ServiceName": ""},
        {"CheckID": "service:web-2", "Status": "critical", "ServiceName": "web"},
    ],
}

RECORDS = {"catalog": CATALOG_NODE, "check": HEALTH_CHECK, "agent": AGENT_SERVICE, "entry": HEALTH_ENTRY}

CASES = [
    # ==, != with bare words, quoted strings and raw strings
    ("catalog", "ServiceName == web", True),
    ("catalog", 'ServiceName == "web"', True),
    ("catalog", "ServiceName == `web`", True),
    ("catalog", "ServiceName==web", True),
    ("catalog", "ServiceName != web", False),
    ("catalog", "ServiceName == Web", False),  # values are case-sensitive
    ("catalog", 'Address == "10.0.0.1"', True),
    ("check", "Status == passing", True),
    ("check", "Status != critical", True),
    ("check", 'Name == "Service \'web\' check"', True),
    ("check", 'Output == "HTTP GET http://10.0.0.1:8080/health: 200 OK"', True),
    # numbers: literal coerced to the field's type
    ("catalog", "ServicePort == 8080", True),
    ("catalog", 'ServicePort == "8080"', True),
    ("catalog", "ServicePort != 8080", False),
    ("catalog", 'ServicePort == "0x1F90"', True),  # Go ParseInt base 0
    ("catalog", 'ServicePort == "017620"', True),  # leading zero: octal, as Go
    ("catalog", "ServiceWeights.Passing == 10", True),
    ("agent", "Ratio == 0.5", True),
    ("agent", 'Ratio == "5e-1"', True),
    ("agent", "Ratio == 1", False),
    ("agent", "Port == -1", False),
    # bools
    ("agent", "EnableTagOverride == true", True),
    ("agent", "EnableTagOverride == True", True),
    ("agent", 'EnableTagOverride == "1"', True),
    ("agent", "EnableTagOverride == false", False),
    ("catalog", "ServiceEnableTagOverride == false", True),
    ("catalog", "ServiceEnableTagOverride != true", True),
    # string fields compare as strings whatever the literal looks like
    ("agent", "Meta.redis_version == 7.0", True),
    # in / contains on lists
    ("catalog", "v1 in ServiceTags", True),
    ("catalog", '"primary" in ServiceTags', True),
    ("catalog", "ServiceTags contains v1", True),
    ("catalog", "ServiceTags contains v2", False),
    ("catalog", "v2 not in ServiceTags", True),
    ("catalog", "ServiceTags not contains v1", False),
    ("catalog", "prim in ServiceTags", False),  # element equality, not substring
    # in / contains on maps: key membership
    ("catalog", "env in NodeMeta", True),
    ("catalog", "prod in NodeMeta", False),
    ("catalog", "NodeMeta contains rack", True),
    ("catalog", '"key with space" in NodeMeta', True),
    ("catalog", "lan not in TaggedAddresses", False),
    # in / contains on strings: substring
    ("check", "Output contains 200", True),
    ("check", '"200 OK" in Output', True),
    ("check", "Output not contains 500", True),
    ("check", '"" in Notes', True),
    # map selectors
    ("catalog", "NodeMeta.env == prod", True),
    ("catalog", 'NodeMeta["env"] == prod', True),
    ("catalog", "NodeMeta[`env`] == prod", True),
    ('catalog', 'NodeMeta["key with space"] == yes', True),
    ("catalog", 'NodeMeta[ "rack" ] == r1', True),
    ("catalog", "NodeMeta.env != staging", True),
    ("catalog", "NodeMeta.missing == x", False),  # missing key: nothing equals it
    ("catalog", "NodeMeta.missing != x", True),
    ("catalog", "x in NodeMeta.missing", False),
    ("catalog", "x not in NodeMeta.missing", True),
    ("catalog", "NodeMeta.missing is empty", True),
    ("catalog", "NodeMeta.missing is not empty", False),
    ("catalog", "NodeMeta.missing matches x", False),
    ("catalog", "NodeMeta.missing not matches x", True),
    ("catalog", "NodeMeta.missing is nil", True),
    # JSON Pointer selectors
    ("catalog", '"/NodeMeta/env" == prod', True),
    ("catalog", '"/ServiceTags" contains primary', True),
    ("catalog", 'v1 in "/ServiceTags"', True),
    ("catalog", '"/ServiceWeights/Passing" == 10', True),
    ("entry", '"/Checks/1/Status" == critical', True),
    # emptiness
    ("catalog", "ServiceTags is not empty", True),
    ("catalog", "ServiceAddress is empty", True),
    ("catalog", "ServiceProxy.Upstreams is empty", True),
    ("catalog", "NodeMeta is empty", False),
    ("entry", "Service.Tags is empty", True),
    ("entry", "Service.Meta is empty", True),
    ("agent", "Proxy is empty", True),  # None counts as empty (a nil Go map/slice)
    ("agent", "Proxy is nil", True),
    ("agent", "Meta is not nil", True),
    ("agent", "Proxy.DestinationServiceName == x", False),  # through a None: not present
    ("agent", "Proxy.DestinationServiceName != x", True),
    # regular expressions: unanchored search
    ("catalog", "ServiceName matches we", True),
    ("catalog", 'ServiceName matches "^w.b$"', True),
    ("catalog", 'ServiceName not matches "^api"', True),
    ("catalog", 'NodeMeta.env matches "^(prod|staging)$"', True),
    ("check", 'CheckID matches "^service:"', True),
    # nested objects, lists of objects (implicit "any"), list indexes
    ("entry", 'Node.Node == "node-2"', True),
    ("entry", "Node.Meta.env == staging", True),
    ("entry", "Checks.Status == critical", True),
    ("entry", "Checks.Status == warning", False),
    ("entry", "Checks.Status != passing", True),  # some check is not passing
    ("entry", "Checks.ServiceName == web and Checks.Status == critical", True),
    ("entry", "Checks.0.Status == passing", True),
    ("entry", "Checks.1.Status == passing", False),
    ("entry", "Checks.7.Status == passing", False),
    ("entry", "Checks.CheckID matches serf", True),
    # logic and precedence: not > and > or
    ("catalog", "ServiceName == web and ServicePort == 8080", True),
    ("catalog", "ServiceName == web and ServicePort == 1", False),
    ("catalog", "ServiceName == api or ServicePort == 8080", True),
    ("catalog", "ServiceName == api or ServicePort == 1", False),
    ("catalog", "not ServiceName == api", True),
    ("catalog", "not not ServiceName == web", True),
    ("catalog", "not ServiceName == web", False),
    ("catalog", "ServiceName == api and ServicePort == 1 or ServiceName == web", True),  # (F and F) or T
    ("catalog", "ServiceName == web or ServiceName == api and ServicePort == 1", True),  # T or (T and F)
    ("catalog", "(ServiceName == web or ServiceName == api) and ServicePort == 1", False),
    ("catalog", "not ServiceName == web or ServicePort == 8080", True),  # (not T) or T
    ("catalog", "not (ServiceName == web or ServicePort == 8080)", False),
    ("catalog", "not ServiceName == api and ServicePort == 8080", True),  # (not F) and T
    ("catalog", "((ServiceName == web))", True),
    ("catalog", "( ServiceName == web )", True),
    ("catalog", "\n\tServiceName == web\n", True),
    ("catalog", "ServiceName == web and not (v9 in ServiceTags or NodeMeta.env == dev)", True),
    # keywords are not reserved: fields named like operators still work
    ("agent", "not == x", False),
    # empty expression keeps everything
    ("catalog", "", True),
]


@pytest.mark.parametrize("record,expression,expected", CASES)
def test_expression_table(record: str, expression: str, expected: bool) -> None:
    assert compile_filter(expression).matches(RECORDS[record]) is expected


def test_keyword_named_fields() -> None:
    rec = {"not": "a", "and": "b", "in": ["x"], "is": "", "or": {"k": 1}}
    assert compile_filter("not == a").matches(rec)
    assert compile_filter("not not == a").matches(rec) is False
    assert compile_filter("and == b and is is empty").matches(rec)
    assert compile_filter("x in in").matches(rec)
    assert compile_filter("k in or or not == z").matches(rec)
    assert compile_filter("not is is empty").matches(rec) is False


def test_apply_list_and_map() -> None:
    services = [
        {"Service": "web", "Tags": ["v1"], "Port": 80},
        {"Service": "api", "Tags": ["v1", "v2"], "Port": 81},
        {"Service": "db", "Tags": [], "Port": 5432},
    ]
    f = compile_filter("v1 in Tags and Port != 81")
    assert f.apply(services) == [services[0]]
    assert compile_filter("Tags is empty or Service == api").apply(services) == services[1:]
    assert compile_filter("").apply(services) == services
    by_id = {"web-1": services[0], "api-1": services[1]}
    assert compile_filter("Service == api").apply(by_id) == {"api-1": services[1]}


def test_does_not_mutate_records() -> None:
    rec = copy.deepcopy(HEALTH_ENTRY)
    compile_filter("Checks.Status == passing and Node.Meta.env == staging").matches(rec)
    assert rec == HEALTH_ENTRY


class _Check(msgspec.Struct):
    CheckID: str
    Status: str


class _Entry(msgspec.Struct):
    Node: str
    Meta: dict[str, str]
    Checks: list[_Check]


class _Weights(msgspec.Struct):
    Passing: int
    Warning: int


class _SvcCheck(msgspec.Struct):
    Status: str
    Name: str = msgspec.field(name="CheckName", default="")


class _Svc(msgspec.Struct):
    Service: str
    Tags: list[str]
    Meta: dict[str, str]
    Weights: _Weights
    Checks: list[_SvcCheck]
    Proxy: _Weights | None = None
    Parent: _Svc | None = None  # recursive types must not loop


def test_msgspec_struct_records() -> None:
    e = _Entry("n1", {"env": "prod"}, [_Check("a", "passing")])
    assert compile_filter("Meta.env == prod and Checks.Status == passing").matches(e)
    assert compile_filter("Checks.Status == critical").apply([e]) == []


@pytest.mark.parametrize(
    "expression,record,message",
    [
        ("ServicePort == abc", CATALOG_NODE, 'Failed to coerce value "abc" for selector "ServicePort"'),
        ("ServicePort == 80.5", CATALOG_NODE, 'Failed to coerce value "80.5" for selector "ServicePort"'),
        ("EnableTagOverride == yes", AGENT_SERVICE, "strconv.ParseBool"),
        ("ServiceTags == v1", CATALOG_NODE, 'Invalid match operator "Equal" for selector "ServiceTags"'),
        ("ServicePort contains 8", CATALOG_NODE, "Cannot perform in/contains operations on type int"),
        ("ServicePort is empty", CATALOG_NODE, "cannot perform is-empty operations on type int"),
        ("ServicePort matches 8", CATALOG_NODE, 'Match operator "Matches" cannot be used'),
        ("ServiceName.Sub == x", CATALOG_NODE, 'Value at selector "ServiceName" with type string'),
        ('ServicePort == "99999999999999999999"', CATALOG_NODE, "value out of range"),
    ],
)
def test_evaluation_errors(expression: str, record: dict, message: str) -> None:
    f = compile_filter(expression)
    with pytest.raises(FilterEvaluationError) as info:
        f.matches(record)
    assert message in str(info.value)
    assert isinstance(info.value, FilterError)  # the API can treat both alike


def test_in_on_mixed_lists_skips_uncoercible_elements() -> None:
    rec = {"Values": ["a", 3, True, 2.5, None, {"x": 1}]}
    assert compile_filter("3 in Values").matches(rec)
    assert compile_filter("true in Values").matches(rec)
    assert compile_filter("2.5 in Values").matches(rec)
    assert compile_filter("a in Values").matches(rec)
    assert not compile_filter("b in Values").matches(rec)
    assert compile_filter("1 in Values").matches(rec)  # "1" coerces to True for the bool element, as Go does


SCHEMA = FieldSchema(
    [
        "Node",
        "Address",
        "NodeMeta.*",
        "ServiceName",
        "ServiceTags",
        "ServicePort",
        "ServiceWeights.Passing",
        "ServiceWeights.Warning",
        "Checks.Status",
    ]
)


@pytest.mark.parametrize(
    "expression,bad",
    [
        ("Nope == 1", "Nope"),
        ("ServiceName == web and Nope is empty", "Nope"),
        ("serviceName == web", "serviceName"),  # selectors are case-sensitive
        ("ServiceWeights.Critical == 1", "ServiceWeights.Critical"),
        ("ServicePort.Sub == 1", "ServicePort.Sub"),
        ("x in Checks.Nope", "Checks.Nope"),
        ('"/Nope/x" == 1', "/Nope"),
    ],
)
def test_unknown_selectors_rejected_with_schema(expression: str, bad: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(expression, SCHEMA)
    assert str(info.value) == f'Failed to create boolean expression evaluator: Selector "{bad}" is not valid'
    err = info.value  # the position is kept on the error, though Consul's wording does not show it
    assert err.offset == (expression.index('"' + bad) if bad.startswith("/") else expression.index(bad))
    assert err.caret().splitlines()[1].index("^") == err.offset


def test_schema_accepts_known_selectors_and_map_keys() -> None:
    f = compile_filter('NodeMeta["any key"] != x and ServiceWeights.Passing == 10 or Checks.Status == ok', SCHEMA)
    assert f.matches(CATALOG_NODE)
    assert compile_filter("ServiceWeights is not empty", SCHEMA).matches(CATALOG_NODE)
    # a plain iterable of paths works too, and so does no schema at all
    assert compile_filter('Node == "node-1"', ["Node"]).matches(CATALOG_NODE)
    assert compile_filter("Nope == 1").matches(CATALOG_NODE) is False


def test_schema_from_msgspec_struct() -> None:
    schema = fields_from_struct(_Svc)
    for ok in ["Service", "Tags", "Meta", "Meta.anything", "Weights.Passing", "Checks.Status",
               "Checks.CheckName", "Proxy.Warning"]:
        assert schema.invalid_prefix(tuple(ok.split("."))) is None, ok
    assert schema.invalid_prefix(("Weights", "Critical")) == ("Weights", "Critical")
    assert schema.invalid_prefix(("Checks", "Name")) == ("Checks", "Name")  # encoded names only
    with pytest.raises(FilterError, match='Selector "Servic" is not valid'):
        compile_filter("Servic == x", schema)


def test_compiled_filters_are_cached() -> None:
    text = "ServiceName == cached_web_check and ServicePort == 1"
    before = cache_info()
    f1 = compile_filter(text)
    f2 = compile_filter(text)
    assert f1 is f2
    assert cache_info().hits >= before.hits + 1
    assert compile_filter(text, SCHEMA) is not f1  # the schema is part of the key


def test_many_records_quickly() -> None:
    records = [
        {"Node": f"n{i}", "ServiceTags": [f"t{i % 7}", "x"], "NodeMeta": {"env": "prod" if i % 2 else "dev"}}
        for i in range(20000)
    ]
    f = compile_filter('t3 in ServiceTags and NodeMeta.env == prod or Node matches "^n1$"')
    out = f.apply(records)
    assert len(out) == sum(1 for i in range(20000) if (i % 7 == 3 and i % 2) or i == 1)
