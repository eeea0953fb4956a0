"""Recursive-descent parser for Consul ``filter=`` expressions, producing the tree of `ast`.

What lives here: `parse(text) -> Expr`. The grammar is go-bexpr's (PEG) grammar, restated:

    input      := or_expr EOF
    or_expr    := and_expr ("or" or_expr)?             -- right-nested, loosest
    and_expr   := not_expr ("and" and_expr)?
    not_expr   := "not" not_expr | primary             -- ordered choice, see below
    primary    := "(" or_expr ")" | match
    match      := selector ("==" | "!=") value
                | selector ("contains" | "not" "contains" | "matches" | "not" "matches") value
                | selector "is" ["not"] ("empty" | "nil")
                | value ("in" | "not" "in") selector
    selector   := PATH | "\\"/json/pointer\\""
    value      := PATH (its dotted text) | NUMBER | STRING

Keywords are not reserved: ``not == 1`` compares a field named ``not``. Like the PEG, a run of ``not``
words is read as as many negations as still leave a parseable primary (the PEG tries the negation
first and falls back to reading ``not`` as a selector or value); only the last two ``not`` words can
ever be part of the primary, so at most three readings are tried.

Divergences from go-bexpr, both deliberate: ``is nil``/``is not nil`` and JSON Pointer selectors come
from go-bexpr 0.1.3+ (Consul vendors 0.1.2, which has neither); and a double-quoted *value* such as
``"/a/b"`` is the string it spells (go-bexpr parses it as a pointer and uses ``a/b``).

Errors are `FilterError`s positioned at the offending token, phrased like go-bexpr's where it has a
phrase ("Invalid number literal", "Unterminated string literal", "Invalid index",
"Unclosed index expression", "Unmatched parentheses", "Invalid selector", "no match found, expected:").

What must never live here: evaluation, field schemas, caching.
"""

from __future__ import annotations

import re

from .ast import And, Expr, Match, MatchOp, Not, Or, Selector, Value
from .errors import FilterError
from .lexer import Kind, Token, tokenize

MAX_DEPTH = 100  # parentheses nesting limit; keeps evaluation recursion bounded

_SELECTOR_OPS = '"!=", "==", "contains", "in", "is", "matches", "not"'


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.toks = tokens
        self.i = 0
        self.depth = 0

    # -- helpers
    def peek(self, k: int = 0) -> Token:
        j = min(self.i + k, len(self.toks) - 1)
        return self.toks[j]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind is not Kind.EOF:
            self.i += 1
        return tok

    def error(self, detail: str, pos: int) -> FilterError:
        return FilterError(detail, expression=self.text, offset=pos)

    def unexpected(self, tok: Token, expected: str) -> FilterError:
        return self.error(f"no match found, expected: {expected}; got {tok.describe()}", tok.pos)

    # -- grammar
    def parse(self) -> Expr:
        expr = self.or_expr()
        tok = self.peek()
        if tok.kind is not Kind.EOF:
            if tok.kind is Kind.RPAREN:
                raise self.error('rule "grouping": Unmatched parentheses', tok.pos)
            raise self.unexpected(tok, '"and", "or" or end of input')
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.peek().is_word("or"):
            self.advance()
            items.append(self.and_expr())
        expr = items[-1]
        for left in reversed(items[:-1]):
            expr = Or(left, expr)
        return expr

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.peek().is_word("and"):
            self.advance()
            items.append(self.not_expr())
        expr = items[-1]
        for left in reversed(items[:-1]):
            expr = And(left, expr)
        return expr

    def not_expr(self) -> Expr:
        start = self.i
        k = 0
        while self.peek(k).is_word("not"):
            k += 1
        if k == 0:
            return self.primary()
        depth = self.depth
        best_error: FilterError | None = None
        for j in range(k, max(-1, k - 3), -1):
            self.i = start + j
            self.depth = depth
            try:
                expr = self.primary()
            except FilterError as exc:
                if best_error is None or (exc.offset or 0) > (best_error.offset or 0):
                    best_error = exc
                continue
            for _ in range(j):
                expr = Not(expr)
            return expr
        assert best_error is not None
        raise best_error

    def primary(self) -> Expr:
        tok = self.peek()
        if tok.kind is Kind.LPAREN:
            self.advance()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"expression nested more than {MAX_DEPTH} parentheses deep", tok.pos)
            expr = self.or_expr()
            close = self.peek()
            if close.kind is not Kind.RPAREN:
                if close.kind is Kind.EOF:
                    raise self.error('rule "grouping": Unmatched parentheses', tok.pos)
                raise self.unexpected(close, '")", "and" or "or"')
            self.advance()
            self.depth -= 1
            return expr
        return self.match()

    def match(self) -> Match:
        left = self.advance()
        if left.kind not in (Kind.PATH, Kind.STRING, Kind.NUMBER):
            raise self.unexpected(left, 'selector, value, "(" or "not"')
        op_tok = self.peek()

        if op_tok.kind in (Kind.EQ, Kind.NE):
            sel = self.as_selector(left, op_tok.text)
            self.advance()
            op = MatchOp.EQUAL if op_tok.kind is Kind.EQ else MatchOp.NOT_EQUAL
            return Match(op, sel, self.value(), left.pos)

        if op_tok.is_word("is"):
            sel = self.as_selector(left, "is")
            self.advance()
            negated = False
            if self.peek().is_word("not"):
                self.advance()
                negated = True
            what = self.advance()
            if what.is_word("empty"):
                op = MatchOp.IS_NOT_EMPTY if negated else MatchOp.IS_EMPTY
            elif what.is_word("nil"):
                op = MatchOp.IS_NOT_NIL if negated else MatchOp.IS_NIL
            else:
                raise self.unexpected(what, '"empty" or "nil"' if negated else '"empty", "nil" or "not"')
            return Match(op, sel, None, left.pos)

        negated = False
        word_tok = op_tok
        if op_tok.is_word("not"):
            word_tok = self.peek(1)
            if not (word_tok.is_word("in") or word_tok.is_word("contains") or word_tok.is_word("matches")):
                raise self.unexpected(word_tok, '"contains", "in" or "matches"')
            negated = True

        if word_tok.is_word("in"):
            value = self.as_value(left)
            self.i += 2 if negated else 1
            sel_tok = self.advance()
            sel = self.selector_from(sel_tok)
            if sel is None:
                raise self.error('rule "match": Invalid selector', sel_tok.pos)
            return Match(MatchOp.NOT_IN if negated else MatchOp.IN, sel, value, left.pos)

        if word_tok.is_word("contains") or word_tok.is_word("matches"):
            sel = self.as_selector(left, word_tok.text)
            self.i += 2 if negated else 1
            if word_tok.text == "contains":
                op = MatchOp.NOT_IN if negated else MatchOp.IN
            else:
                op = MatchOp.NOT_MATCHES if negated else MatchOp.MATCHES
            return Match(op, sel, self.value(), left.pos)

        if left.kind is Kind.NUMBER or (left.kind is Kind.STRING and self.selector_from(left) is None):
            raise self.unexpected(op_tok, '"in" or "not in"')
        raise self.unexpected(op_tok, _SELECTOR_OPS)

    def selector_from(self, tok: Token) -> Selector | None:
        if tok.kind is Kind.PATH:
            return Selector(tok.value, False, tok.pos)
        if tok.kind is Kind.STRING and tok.quote == '"' and tok.value.startswith("/"):
            return Selector(self.pointer_path(tok), True, tok.pos)
        return None

    def pointer_path(self, tok: Token) -> tuple[str, ...]:
        parts = []
        for seg in tok.value[1:].split("/"):
            if seg == "":
                raise self.error("error validating json pointer: empty path segment", tok.pos)
            if re.search(r"~(?![01])", seg):
                raise self.error("error validating json pointer: '~' must be followed by 0 or 1", tok.pos)
            parts.append(seg.replace("~1", "/").replace("~0", "~"))
        return tuple(parts)

    def as_selector(self, tok: Token, op_text: str) -> Selector:
        sel = self.selector_from(tok)
        if sel is None:
            what = "a number" if tok.kind is Kind.NUMBER else "a string"
            raise self.error(
                f"expected a selector before {op_text!r} but found {what} "
                '(JSON Pointer selectors are double-quoted and start with "/")',
                tok.pos,
            )
        return sel

    def as_value(self, tok: Token) -> Value:
        if tok.kind is Kind.PATH:
            return Value(".".join(tok.value), "word")
        if tok.kind is Kind.NUMBER:
            return Value(tok.value, "number")
        return Value(tok.value, "string")

    def value(self) -> Value:
        tok = self.advance()
        if tok.kind not in (Kind.PATH, Kind.NUMBER, Kind.STRING):
            raise self.unexpected(tok, "value (a bare word, a number or a quoted string)")
        return self.as_value(tok)


def parse(text: str) -> Expr:
    """Parse `text` into an expression tree; raises `FilterError` with a position on any error."""
    if not text.strip():
        raise FilterError(
            "no match found, expected: selector, value, \"(\" or \"not\"; got end of input",
            expression=text,
            offset=len(text),
        )
    return _Parser(text, tokenize(text)).parse()
