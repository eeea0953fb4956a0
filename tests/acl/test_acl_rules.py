"""ACL rule parsing: every resource, every HCL1 spelling, JSON equivalence, errors with positions, fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.acl.rules import (
    EMPTY_RULES,
    GLOBAL_MANAGEMENT_RULES,
    NAMED_RESOURCES,
    SCALAR_RESOURCES,
    PolicyRules,
    Rule,
    RulesError,
    parse_rules,
)


def rules_of(text: str) -> tuple[Rule, ...]:
    return parse_rules(text).rules


# -- accepted input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", sorted(NAMED_RESOURCES))
@pytest.mark.parametrize("policy", ["read", "write", "deny"])
def test_every_named_resource_parses(word, policy):
    resource, prefix = NAMED_RESOURCES[word]
    assert rules_of(f'{word} "some/name" {{ policy = "{policy}" }}') == (Rule(resource, "some/name", prefix, policy),)


@pytest.mark.parametrize("word", SCALAR_RESOURCES)
@pytest.mark.parametrize("policy", ["read", "write", "deny"])
def test_every_scalar_resource_parses(word, policy):
    assert rules_of(f'{word} = "{policy}"') == (Rule(word, "", False, policy),)


def test_prefix_words_map_to_prefix_rules():
    assert NAMED_RESOURCES["key_prefix"] == ("key", True)
    assert NAMED_RESOURCES["key"] == ("key", False)
    assert set(SCALAR_RESOURCES) == {"acl", "keyring", "mesh", "operator", "peering"}
    assert {r for r, _ in NAMED_RESOURCES.values()} == {"agent", "event", "key", "node", "query", "service", "session"}


@pytest.mark.parametrize("word", ["key", "key_prefix"])
def test_list_is_a_key_disposition(word):
    assert rules_of(f'{word} "a/" {{ policy = "list" }}')[0].policy == "list"


@pytest.mark.parametrize("text", ["", "   \n\t ", "# only a comment\n", "// c\n/* c */"])
def test_empty_text_means_no_rules(text):
    assert parse_rules(text) == EMPTY_RULES


def test_empty_scalar_means_no_rule():
    assert rules_of('operator = ""\nacl = "read"') == (Rule("acl", "", False, "read"),)


def test_comments_and_layout():
    text = """
    # hash comment
    key_prefix "app/" {   // slash comment
        policy = "write"  /* block */
    }
    /* a block comment
       over lines */ key "x" { policy = "read" }, operator = "read"
    service "web" { policy = "read", }
    """
    assert rules_of(text) == (
        Rule("key", "app/", True, "write"),
        Rule("key", "x", False, "read"),
        Rule("operator", "", False, "read"),
        Rule("service", "web", False, "read"),
    )


SAME_RULE_SPELLINGS = [
    'key_prefix "app/" { policy = "write" }',
    'key_prefix "app/" {\n  policy = "write"\n}',
    'key_prefix { "app/" { policy = "write" } }',
    'key_prefix = { "app/" = { policy = "write" } }',
    'key_prefix = { "app/" { policy = "write" } }',
    '"key_prefix" "app/" { "policy" = "write" }',
    'KEY_PREFIX "app/" { Policy = "WRITE" }',
    'key_prefix = [{ "app/" = { policy = "write" } }]',
    '{"key_prefix": {"app/": {"policy": "write"}}}',
    '  \n {"key_prefix": [{"app/": {"policy": "write"}}]}',
    '{"Key_Prefix": {"app/": {"Policy": "Write"}}}',
]


@pytest.mark.parametrize("text", SAME_RULE_SPELLINGS)
def test_hcl_and_json_spellings_are_equivalent(text):
    assert rules_of(text) == (Rule("key", "app/", True, "write"),)


def test_identifier_names_are_accepted_like_hcl1():
    assert rules_of("service web { policy = \"read\" }") == (Rule("service", "web", False, "read"),)


def test_service_intentions():
    got = rules_of('service "web" { policy = "read" intentions = "write" }\nservice_prefix "" { policy = "deny" }')
    assert got == (Rule("service", "web", False, "read", "write"), Rule("service", "", True, "deny", ""))


def test_several_blocks_for_one_name_are_all_kept():
    got = rules_of('key "a" { policy = "read" }\nkey "a" { policy = "deny" }')
    assert got == (Rule("key", "a", False, "read"), Rule("key", "a", False, "deny"))


def test_string_escapes_and_interpolation_text():
    got = rules_of(r'key "tab\there\u00e9\x41\101\"q\\" { policy = "read" }' + '\nkey "${a "b"}" { policy = "read" }')
    assert [r.name for r in got] == ['tab\there\u00e9AA"q\\', '${a "b"}']


def test_global_management_rules():
    got = rules_of(GLOBAL_MANAGEMENT_RULES)
    assert {(r.resource, r.name, r.prefix, r.policy) for r in got} == {
        ("acl", "", False, "write"),
        ("keyring", "", False, "write"),
        ("operator", "", False, "write"),
        ("mesh", "", False, "write"),
        ("peering", "", False, "write"),
        *{(res, "", True, "write") for res in ("agent", "event", "key", "node", "query", "service", "session")},
    }
    assert Rule("service", "", True, "write", "write") in got


def test_rules_are_frozen_msgspec_values():
    import msgspec

    rules = parse_rules('key "a" { policy = "read" }')
    assert msgspec.json.decode(msgspec.json.encode(rules), type=PolicyRules) == rules
    with pytest.raises(AttributeError):
        rules.rules[0].policy = "write"  # type: ignore[misc]


def test_non_text_is_a_type_error():
    with pytest.raises(TypeError):
        parse_rules(b'key "a" { policy = "read" }')  # type: ignore[arg-type]


# -- errors -------------------------------------------------------------------------------------------


def error_of(text: str) -> str:
    with pytest.raises(RulesError) as info:
        parse_rules(text)
    return str(info.value)


def test_bad_disposition_names_resource_and_position():
    text = 'key_prefix "a/" {\n  policy = "write"\n}\n\n/* comment\n spanning */ service "web" {\n  policy = "bogus"\n}\n'
    msg = error_of(text)
    assert msg.startswith('Invalid service policy: At 7:3: service "web": "bogus" is not a valid access level')
    assert '"read", "write", "deny"' in msg and '"list"' not in msg


@pytest.mark.parametrize(
    "text, expected",
    [
        ('service "s" { policy = "list" }', 'Invalid service policy: At 1:15: service "s": "list" is only valid'),
        ('node_prefix "" { policy = "list" }', "Invalid node_prefix policy: At 1:18:"),
        ('operator = "list"', 'Invalid operator policy: At 1:1: "list" is only valid'),
        ('acl = "manage"', 'Invalid acl policy: At 1:1: "manage" is not a valid access level'),
        ('key "a" { }', 'Invalid key policy: At 1:5: key "a": missing policy'),
        ('key "a" { policy = "" }', 'Invalid key policy: At 1:11: key "a": missing policy'),
        ('key "a" { policy = true }', 'Invalid key policy: At 1:11: key "a": policy must be a string'),
        ('service "a" { policy = "read" intentions = "list" }', "Invalid service policy: At 1:31:"),
        ('{"key": {"a": {"policy": 1}}}', 'Invalid key policy: key "a": policy must be a string'),
        ('{"event_prefix": {"": {"policy": "nope"}}}', 'Invalid event_prefix policy: event_prefix "": "nope"'),
    ],
)
def test_invalid_policies(text, expected):
    assert error_of(text).startswith(expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('\n  keys "a" { policy = "read" }', 'At 2:3: unknown ACL resource "keys"'),
        ('namespace "ns" { key "a" { policy = "read" } }', 'At 1:1: unknown ACL resource "namespace"'),
        ('key_prefix "a" { polcy = "read" }', 'At 1:18: key_prefix "a": unknown field "polcy"'),
        ('key "a" { policy = "read" intentions = "read" }', 'At 1:27: key "a": unknown field "intentions"'),
        ('key "a" {\n  policy = "read"\n  policy = "write"\n}', 'The argument "policy" at 3:3 was already set'),
        ('operator = "read"\noperator = "write"', 'The argument "operator" at 2:1 was already set'),
        ('operator = "read"\nOPERATOR = "write"', 'At 2:1: the argument "operator" was already set'),
        ('{"key": {"a": {"policy": "read", "policy": "deny"}}}', 'key "a": the argument "policy" was already set'),
        ('operator { policy = "read" }', 'At 1:1: operator must be a string such as "read", got an object'),
        ('operator = 5', "got the number 5"),
        ('key_prefix = "app/"', "At 1:1: key_prefix must be followed by a name and a block"),
        ('key "a" = { policy = "read" }', "At 1:9: expected '{' after string 'a', got '='"),
        ('key "a" "b" { policy = "read" }', 'key "a": unknown field "b"'),
        ('key "a" { policy = "read"', "At 1:26: unexpected end of input: '{' opened at 1:9 is never closed"),
        ('key "a" {\n policy = "read\n}', "At 2:11: string literal not terminated"),
        ('/* never closed', "At 1:1: comment not terminated"),
        ('key "a\\q" { policy = "read" }', "At 1:7: invalid escape sequence"),
        ('key "\\ud800" { policy = "read" }', "is not a valid Unicode code point"),
        ('key "\\U00110000" { policy = "read" }', "is not a valid Unicode code point"),
        ('key "a" { policy = <<EOF\nwrite\nEOF\n}', "At 1:20: heredoc strings are not accepted"),
        ("key @", "At 1:5: illegal character '@'"),
        ('= "read"', "At 1:1: expected a key"),
        ("operator", "At 1:9: expected '=' or '{' after identifier operator, got end of input"),
        ('operator = ', "At 1:12: expected a value"),
        ('operator = ["read"', "never closed"),
        ('operator = ["read" "write"]', "At 1:20: expected ',' or ']' in list"),
        ("a = " + "[" * 100, "nesting deeper than 64 levels"),
        ('{"key": ', "At 1:9: Expecting value"),
        ('{"key": {}} trailing', "At 1:13: Extra data"),
        ('{"a":' + "[" * 100_000, "JSON nested too deeply"),
    ],
)
def test_syntax_errors_say_what_and_where(text, expected):
    msg = error_of(text)
    assert msg.startswith("Failed to parse ACL rules: "), msg
    assert expected in msg, msg


# -- properties ---------------------------------------------------------------------------------------

WORD_OF = {v: k for k, v in NAMED_RESOURCES.items()}
names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def rule_lists(draw) -> list[Rule]:
    rules: list[Rule] = []
    for word in draw(st.lists(st.sampled_from(sorted(NAMED_RESOURCES)), max_size=8)):
        resource, prefix = NAMED_RESOURCES[word]
        allowed = ["read", "write", "deny"] + (["list"] if resource == "key" else [])
        intentions = draw(st.sampled_from(["", "read", "write", "deny"])) if resource == "service" else ""
        rules.append(Rule(resource, draw(names), prefix, draw(st.sampled_from(allowed)), intentions))
    for scalar in draw(st.lists(st.sampled_from(SCALAR_RESOURCES), unique=True, max_size=5)):
        rules.insert(draw(st.integers(0, len(rules))), Rule(scalar, "", False, draw(st.sampled_from(["read", "write", "deny"]))))
    return rules


def hcl_quote(text: str) -> str:
    out = []
    for c in text:
        if c.isascii() and c.isalnum():
            out.append(c)
        elif ord(c) <= 0xFFFF:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def to_hcl(rules: list[Rule]) -> str:
    lines = []
    for r in rules:
        if r.resource in SCALAR_RESOURCES:
            lines.append(f'{r.resource} = "{r.policy}"')
        else:
            extra = f' intentions = "{r.intentions}"' if r.intentions else ""
            lines.append(f'{WORD_OF[(r.resource, r.prefix)]} {hcl_quote(r.name)} {{ policy = "{r.policy}"{extra} }}')
    return "\n".join(lines)


def to_json(rules: list[Rule]) -> str:
    parts = []
    for r in rules:
        if r.resource in SCALAR_RESOURCES:
            parts.append(f'"{r.resource}": "{r.policy}"')
        else:
            body = {"policy": r.policy, **({"intentions": r.intentions} if r.intentions else {})}
            parts.append(f"{json.dumps(WORD_OF[(r.resource, r.prefix)])}: {{{json.dumps(r.name)}: {json.dumps(body)}}}")
    return "{" + ", ".join(parts) + "}"


@settings(max_examples=200, deadline=None)
@given(rule_lists())
def test_hcl_and_json_round_trip_to_the_same_rules(rules):
    assert rules_of(to_hcl(rules)) == tuple(rules)
    assert rules_of(to_json(rules)) == tuple(rules)


TOKEN_SOUP = [
    "key", "key_prefix", "service", "operator", "acl", "policy", "intentions", " ", "\n", "=", "{", "}", "[", "]",
    ",", ":", '"', '"read"', '"write"', '"list"', '"deny"', '"a/"', "#", "//", "/*", "*/", "\\", "\\u", "${",
    "<<", "true", "1", "-", "null", "é", "\x00",
]  # fmt: skip


def only_rules_errors(text: str) -> None:
    try:
        result = parse_rules(text)
    except RulesError as err:
        assert str(err).startswith(("Failed to parse ACL rules: ", "Invalid ")), str(err)
    else:
        assert isinstance(result, PolicyRules)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_fuzz_arbitrary_text_only_raises_rules_error(text):
    only_rules_errors(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKEN_SOUP), max_size=40).map("".join))
def test_fuzz_token_soup_only_raises_rules_error(text):
    only_rules_errors(text)
    only_rules_errors("{" + text)
