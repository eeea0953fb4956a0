"""Parsing of ``filter=`` expressions: tree shapes, precedence, quoting, and positioned errors."""

from __future__ import annotations

import pytest

from actors.api.filter import (
    And,
    FilterError,
    Match,
    MatchOp,
    Not,
    Or,
    Selector,
    Value,
    compile_filter,
    parse,
    to_text,
)


def m(sel: str, op: MatchOp, value: str | None = None, pointer: bool = False) -> Match:
    path = tuple(sel.strip("/").split("/")) if pointer else tuple(sel.split("."))
    return Match(op, Selector(path, pointer), None if value is None else Value(value))


A = m("A", MatchOp.EQUAL, "1")
B = m("B", MatchOp.EQUAL, "2")
C = m("C", MatchOp.EQUAL, "3")


@pytest.mark.parametrize(
    "text,tree",
    [
        ("A == 1", A),
        ("A == 1 and B == 2", And(A, B)),
        ("A == 1 or B == 2 and C == 3", Or(A, And(B, C))),
        ("A == 1 and B == 2 or C == 3", Or(And(A, B), C)),
        ("A == 1 or B == 2 or C == 3", Or(A, Or(B, C))),  # right-nested, as go-bexpr
        ("A == 1 and B == 2 and C == 3", And(A, And(B, C))),
        ("(A == 1 or B == 2) and C == 3", And(Or(A, B), C)),
        ("not A == 1 and B == 2", And(Not(A), B)),
        ("not (A == 1 and B == 2)", Not(And(A, B))),
        ("not not A == 1", Not(Not(A))),
        ("not A == 1 or not B == 2", Or(Not(A), Not(B))),
        ("((A == 1))", A),
        ("(A == 1) and ((B == 2) or (C == 3))", And(A, Or(B, C))),
        ("A != 1", m("A", MatchOp.NOT_EQUAL, "1")),
        ("x in A", m("A", MatchOp.IN, "x")),
        ("A contains x", m("A", MatchOp.IN, "x")),  # same node as `in`, as go-bexpr
        ("x not in A", m("A", MatchOp.NOT_IN, "x")),
        ("A not contains x", m("A", MatchOp.NOT_IN, "x")),
        ("A is empty", m("A", MatchOp.IS_EMPTY)),
        ("A is not empty", m("A", MatchOp.IS_NOT_EMPTY)),
        ("A is nil", m("A", MatchOp.IS_NIL)),
        ("A is not nil", m("A", MatchOp.IS_NOT_NIL)),
        ("A matches `^a\\d+$`", m("A", MatchOp.MATCHES, "^a\\d+$")),
        ('A not matches "^a\\\\d+$"', m("A", MatchOp.NOT_MATCHES, "^a\\d+$")),
        ("A.B.C == 1", m("A.B.C", MatchOp.EQUAL, "1")),
        ('Meta["a b"] == 1', Match(MatchOp.EQUAL, Selector(("Meta", "a b")), Value("1"))),
        ('Meta["x"].y == 1', Match(MatchOp.EQUAL, Selector(("Meta", "x", "y")), Value("1"))),
        ("Checks.0.Status == 1", Match(MatchOp.EQUAL, Selector(("Checks", "0", "Status")), Value("1"))),
        ('"/Service/Tags" is empty', m("/Service/Tags", MatchOp.IS_EMPTY, pointer=True)),
        ('"/a~1b/c~0d" == 1', Match(MatchOp.EQUAL, Selector(("a/b", "c~d"), True), Value("1"))),
        ('x in "/Tags"', m("/Tags", MatchOp.IN, "x", pointer=True)),
        # values: bare words (dotted too), numbers, quoted and raw strings, escapes
        ("A == foo.bar", m("A", MatchOp.EQUAL, "foo.bar")),
        ("A == -1.25", m("A", MatchOp.EQUAL, "-1.25")),
        ("A == 0", m("A", MatchOp.EQUAL, "0")),
        ("A == true", m("A", MatchOp.EQUAL, "true")),
        ('A == "a \\"quoted\\" \\t\\u00e9\\x41\\101"', m("A", MatchOp.EQUAL, 'a "quoted" \té' + "AA")),
        ("A == `raw \\n \"x\"`", m("A", MatchOp.EQUAL, 'raw \\n "x"')),
        ('A == ""', m("A", MatchOp.EQUAL, "")),
        ('"a b" in A', m("A", MatchOp.IN, "a b")),
        ("3 in A", m("A", MatchOp.IN, "3")),
        # whitespace
        ("A==1", A),
        ("  A  ==  1  ", A),
        ("(A == 1)and(B == 2)", And(A, B)),
        ("A == 1\nand\tB == 2", And(A, B)),
        # keywords are only keywords where an operator is expected
        ("not == 1", m("not", MatchOp.EQUAL, "1")),
        ("not not is empty", Not(m("not", MatchOp.IS_EMPTY))),
        ("is is not empty", m("is", MatchOp.IS_NOT_EMPTY)),
        ("and == or or or == and", Or(m("and", MatchOp.EQUAL, "or"), m("or", MatchOp.EQUAL, "and"))),
        ("in in in", m("in", MatchOp.IN, "in")),
        ("not in in A", Not(m("A", MatchOp.IN, "in"))),
        ("contains contains contains", m("contains", MatchOp.IN, "contains")),
    ],
)
def test_parse_tree(text: str, tree) -> None:
    assert parse(text) == tree
    assert parse(to_text(parse(text))) == tree


@pytest.mark.parametrize(
    "text,offset,detail",
    [
        ("foo", 3, 'no match found, expected: "!=", "==", "contains", "in", "is", "matches", "not"'),
        ("Address == 10.10.10.10", 16, 'rule "number": Invalid number literal'),
        ("A == 01", 6, 'rule "number": Invalid number literal'),
        ("A == 1abc", 6, 'rule "number": Invalid number literal'),
        ("A == 0x1F", 6, 'rule "number": Invalid number literal'),
        ("A == - 1", 5, 'rule "number": Invalid number literal'),
        ('A == "abc', 5, 'rule "string": Unterminated string literal'),
        ("A == `abc", 5, 'rule "string": Unterminated string literal'),
        ('A == "abc\\', 5, 'rule "string": Unterminated string literal'),
        ('A == "a\\qb"', 7, "invalid escape sequence \\q"),
        ("Meta[x] == 1", 4, 'rule "index": Invalid index'),
        ('Meta["x" == 1', 4, 'rule "index": Unclosed index expression'),
        ("(A == 1", 0, 'rule "grouping": Unmatched parentheses'),
        ("A == 1)", 6, 'rule "grouping": Unmatched parentheses'),
        ("(A == 1 B == 2)", 8, 'no match found, expected: ")", "and" or "or"'),
        ("x in 5", 5, 'rule "match": Invalid selector'),
        ('x in "plain"', 5, 'rule "match": Invalid selector'),
        ("A == 1 and", 10, 'no match found, expected: selector, value, "(" or "not"'),
        ("A == 1 or or", 12, "no match found"),
        ("A == 1 B == 2", 7, 'no match found, expected: "and", "or" or end of input'),
        ("A ==", 4, "no match found, expected: value"),
        ("A is", 4, 'no match found, expected: "empty", "nil" or "not"'),
        ("A is not full", 9, 'no match found, expected: "empty" or "nil"'),
        ("A not equals x", 6, 'no match found, expected: "contains", "in" or "matches"'),
        ("A = 1", 2, 'unexpected "="'),
        ("A == 1 && B == 2", 7, "unexpected character '&'"),
        ("A.", 2, "expected a field name or list index after '.'"),
        ("A == node-1", 9, 'unexpected "-"'),
        ("5 == A", 0, "expected a selector before '==' but found a number"),
        ('"x" is empty', 0, "expected a selector before 'is' but found a string"),
        ("5 contains A", 0, "expected a selector before 'contains'"),
        ("5 A", 2, 'no match found, expected: "in" or "not in"'),
        ("", 0, "no match found"),
        ("   ", 3, "no match found"),
        ("not", 3, "no match found"),
        ("()", 1, "no match found"),
        ('"/a//b" == 1', 0, "error validating json pointer"),
        ("A == 1 and\n  B = 2", 15, 'unexpected "="'),
    ],
)
def test_parse_errors_point_at_the_problem(text: str, offset: int, detail: str) -> None:
    with pytest.raises(FilterError) as info:
        parse(text)
    err = info.value
    assert err.offset == offset, str(err)
    assert detail in err.detail
    assert str(err) == f"Failed to create boolean expression evaluator: {err.line}:{err.column} ({offset}): {err.detail}"


def test_error_line_and_column() -> None:
    with pytest.raises(FilterError) as info:
        parse("A == 1 and\n  B = 2")
    err = info.value
    assert (err.line, err.column, err.offset) == (2, 5, 15)
    assert err.caret() == "  B = 2\n    ^"
    assert str(err).startswith("Failed to create boolean expression evaluator: 2:5 (15): ")


def test_consul_error_wording() -> None:
    # The two messages seen from real Consul servers (hashicorp/consul#7338 and #9441).
    with pytest.raises(FilterError) as info:
        compile_filter("foo")
    assert str(info.value).startswith("Failed to create boolean expression evaluator: 1:4 (3): no match found, expected: ")
    with pytest.raises(FilterError) as info:
        compile_filter("Address == 10.10.10.10 ")
    assert str(info.value) == 'Failed to create boolean expression evaluator: 1:17 (16): rule "number": Invalid number literal'


def test_regex_errors_at_compile_time() -> None:
    with pytest.raises(FilterError) as info:
        compile_filter('A == 1 and Name matches "(unclosed"')
    assert str(info.value).startswith(
        'Failed to create boolean expression evaluator: Failed to compile regular expression "(unclosed"'
    )
    assert info.value.offset == 11


def test_deep_nesting_is_bounded() -> None:
    deep = "(" * 101 + "A == 1" + ")" * 101
    with pytest.raises(FilterError, match="nested more than 100"):
        parse(deep)
    ok = "(" * 100 + "A == 1" + ")" * 100
    assert parse(ok) == A


def test_long_chains_do_not_recurse() -> None:
    text = " or ".join(f"A == {i}" for i in range(3000))
    f = compile_filter(text)
    assert f.matches({"A": 2999})
    assert not f.matches({"A": 3000})
    assert parse(to_text(f.ast)) == f.ast
    text = " and ".join(f"not B == {i}" for i in range(3000))
    assert compile_filter(text).matches({"B": -1})


def test_canonical_text() -> None:
    f = compile_filter("(Tags contains v1)and not(Meta.x == 1)")
    assert f.canonical() == "v1 in Tags and not Meta.x == 1"
