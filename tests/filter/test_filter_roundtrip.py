"""Property tests: random trees print to text that re-parses to the same tree; logic laws hold."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.api.filter import And, Match, MatchOp, Not, Or, Selector, Value, compile_filter, parse, to_text
from actors.api.filter.evaluate import compile_expr

KEYWORDS = ["and", "or", "in", "contains", "is", "empty", "nil", "matches"]
# A selector may not *start* with the word "not": "not not matches x" is ambiguous in go-bexpr's grammar
# too (it reads as a negation), so no printer can round-trip it.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
identifiers = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(LETTERS),
    st.text(LETTERS + "0123456789_", max_size=6),
).filter(lambda s: s != "not")
later_parts = st.one_of(
    identifiers,
    st.just("not"),
    st.sampled_from(KEYWORDS),
    st.integers(0, 999).map(str),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=6),  # printed as ["..."] index syntax
)
bexpr_selectors = st.builds(
    lambda first, rest: Selector((first, *rest)),
    st.one_of(identifiers, st.sampled_from(KEYWORDS)),
    st.lists(later_parts, max_size=3),
)
pointer_selectors = st.builds(
    lambda parts: Selector(tuple(parts), pointer=True),
    st.lists(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6), min_size=1, max_size=3),
)
selectors = st.one_of(bexpr_selectors, bexpr_selectors, pointer_selectors)

numbers = st.builds(
    lambda neg, whole, frac: ("-" if neg else "") + str(whole) + ("" if frac is None else "." + frac),
    st.booleans(),
    st.integers(0, 10**6),
    st.none() | st.text("0123456789", min_size=1, max_size=3),
)
words = st.builds(
    lambda parts: ".".join(parts),
    st.lists(st.one_of(identifiers, st.sampled_from(KEYWORDS + ["not"])), min_size=1, max_size=3),
)
values = st.one_of(
    st.builds(lambda r: Value(r, "word"), words),
    st.builds(lambda r: Value(r, "number"), numbers),
    st.builds(lambda r: Value(r, "string"), st.text(st.characters(exclude_categories=["Cs"]), max_size=8)),
)
valued_ops = [MatchOp.EQUAL, MatchOp.NOT_EQUAL, MatchOp.IN, MatchOp.NOT_IN]
unary_ops = [MatchOp.IS_EMPTY, MatchOp.IS_NOT_EMPTY, MatchOp.IS_NIL, MatchOp.IS_NOT_NIL]
regexes = st.sampled_from(["^a", "b$", "a|b", "[0-9]+", "x.*y", ""])

matches = st.one_of(
    st.builds(Match, st.sampled_from(valued_ops), selectors, values),
    st.builds(lambda op, sel: Match(op, sel, None), st.sampled_from(unary_ops), selectors),
    st.builds(
        lambda op, sel, r: Match(op, sel, Value(r)),
        st.sampled_from([MatchOp.MATCHES, MatchOp.NOT_MATCHES]),
        selectors,
        regexes,
    ),
)
trees = st.recursive(
    matches,
    lambda kids: st.one_of(st.builds(Not, kids), st.builds(And, kids, kids), st.builds(Or, kids, kids)),
    max_leaves=12,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_printed_trees_reparse_to_the_same_tree(tree) -> None:
    text = to_text(tree)
    reparsed = parse(text)
    assert reparsed == tree, text
    assert to_text(reparsed) == text  # printing is canonical


# -- logic laws over random records --------------------------------------------------------------

field_values = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.sampled_from(["", "a", "b", "ab", "1"]),
    st.booleans(),
    st.lists(st.sampled_from(["a", "b", "1"]), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["a", "1"]), max_size=2),
)
records = st.fixed_dictionaries({}, optional={"A": field_values, "B": field_values, "C": field_values})
safe_matches = st.builds(
    lambda op, name, raw: Match(op, Selector((name,)), None if op in unary_ops[:2] else Value(raw)),
    st.sampled_from([MatchOp.IN, MatchOp.NOT_IN, MatchOp.IS_EMPTY, MatchOp.IS_NOT_EMPTY]),
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from(["a", "1", "b"]),
)


def _safe(record: dict) -> dict:
    # `in` and `is empty` are defined for str, list, dict and None; make every present field one of those.
    return {k: (v if v is None or isinstance(v, (str, list, dict)) else str(v)) for k, v in record.items()}


@settings(max_examples=150, deadline=None)
@given(safe_matches, safe_matches, safe_matches, records)
def test_boolean_laws(x: Match, y: Match, z: Match, record: dict) -> None:
    rec = _safe(record)

    def ev(tree) -> bool:
        return compile_expr(tree)(rec)

    assert ev(Not(And(x, y))) == ev(Or(Not(x), Not(y)))
    assert ev(Not(Or(x, y))) == ev(And(Not(x), Not(y)))
    assert ev(And(x, Or(y, z))) == ev(Or(And(x, y), And(x, z)))
    assert ev(Not(Not(x))) == ev(x)
    # negated operators are exact complements, present or not
    flip = {
        MatchOp.IN: MatchOp.NOT_IN,
        MatchOp.NOT_IN: MatchOp.IN,
        MatchOp.IS_EMPTY: MatchOp.IS_NOT_EMPTY,
        MatchOp.IS_NOT_EMPTY: MatchOp.IS_EMPTY,
    }
    assert ev(Match(flip[x.op], x.selector, x.value)) == (not ev(x))
    # text round trip evaluates the same
    assert compile_filter(to_text(And(x, Or(y, Not(z))))).matches(rec) == ev(And(x, Or(y, Not(z))))
