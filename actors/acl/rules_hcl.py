"""The HCL1 grammar for ACL rules: tokens in, a neutral `rules_tree.Obj` out.

What lives here: `decode_hcl(text)`. The grammar is HCL1's: a body is a sequence of items, optionally
comma-separated; an item is one or more keys (identifiers or strings) followed by ``= value`` (one key
only) or ``{ body }``. ``a "b" { ... }`` means ``a = { "b" = { ... } }``, so every spelling of a rule
HCL1 accepts produces the same tree. Values: strings, numbers, bools, lists, objects. As in Consul's
HCL parser (hcl ``DecodeErrorOnDuplicates``), an argument (``key = value``) set twice in one body is an
error; repeated blocks are not. Nesting deeper than `MAX_DEPTH` is refused instead of overflowing the stack.
What must never live here: character scanning (`rules_hcl_lex`) or ACL meaning (`rules`).
"""

from __future__ import annotations

from .rules_errors import syntax_error
from .rules_hcl_lex import (
    ASSIGN,
    BOOL,
    COMMA,
    EOF,
    IDENT,
    LBRACE,
    LBRACK,
    NUMBER,
    RBRACE,
    RBRACK,
    STRING,
    Token,
    tokenize,
)
from .rules_tree import Item, Number, Obj, Value

MAX_DEPTH = 64


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = tokenize(text)
        self.tok: Token = next(self._tokens)
        self.depth = 0

    def advance(self) -> Token:
        tok = self.tok
        self.tok = next(self._tokens)
        return tok

    def body(self, opener: Token | None) -> tuple[Item, ...]:
        """Items up to EOF (top level, ``opener`` None) or up to the '}' closing ``opener``."""
        items: list[Item] = []
        arguments: dict[str, tuple[int, int]] = {}
        while True:
            tok = self.tok
            if opener is None and tok.kind == EOF:
                break
            if opener is not None and tok.kind == RBRACE:
                break
            if tok.kind == EOF:
                line, col = opener.pos  # type: ignore[union-attr]
                raise syntax_error(tok.pos, f"unexpected end of input: '{{' opened at {line}:{col} is never closed")
            item, is_argument = self.item()
            if is_argument:
                if item.key in arguments:
                    line, col = item.pos  # type: ignore[misc]
                    raise syntax_error(
                        None,
                        f'The argument "{item.key}" at {line}:{col} was already set. '
                        "Each argument can only be defined once",
                    )
                arguments[item.key] = item.pos  # type: ignore[assignment]
            items.append(item)
            if self.tok.kind == COMMA:
                self.advance()
        return tuple(items)

    def item(self) -> tuple[Item, bool]:
        keys: list[Token] = []
        while self.tok.kind in (IDENT, STRING):
            keys.append(self.advance())
        tok = self.tok
        if not keys:
            raise syntax_error(tok.pos, f"expected a key (identifier or quoted string), got {tok.describe()}")
        if tok.kind == ASSIGN:
            if len(keys) > 1:
                raise syntax_error(tok.pos, f"expected '{{' after {keys[-1].describe()}, got '='")
            self.advance()
            value = self.value()
        elif tok.kind == LBRACE:
            value = self.object()
        else:
            raise syntax_error(tok.pos, f"expected '=' or '{{' after {keys[-1].describe()}, got {tok.describe()}")
        for key in reversed(keys[1:]):
            value = Obj((Item(str(key.value), value, key.pos),), key.pos)
        return Item(str(keys[0].value), value, keys[0].pos), len(keys) == 1 and tok.kind == ASSIGN

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == STRING:
            self.advance()
            return str(tok.value)
        if tok.kind == BOOL:
            self.advance()
            return bool(tok.value)
        if tok.kind == NUMBER:
            self.advance()
            return Number(str(tok.value))
        if tok.kind == LBRACE:
            return self.object()
        if tok.kind == LBRACK:
            return self.list()
        raise syntax_error(tok.pos, f"expected a value (string, number, bool, list or object), got {tok.describe()}")

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise syntax_error(tok.pos, f"nesting deeper than {MAX_DEPTH} levels")

    def object(self) -> Obj:
        opener = self.advance()
        self.enter(opener)
        items = self.body(opener)
        self.advance()  # the '}' body() stopped at
        self.depth -= 1
        return Obj(items, opener.pos)

    def list(self) -> tuple:
        opener = self.advance()
        self.enter(opener)
        values: list[Value] = []
        while self.tok.kind != RBRACK:
            if self.tok.kind == EOF:
                line, col = opener.pos
                raise syntax_error(self.tok.pos, f"unexpected end of input: '[' opened at {line}:{col} is never closed")
            values.append(self.value())
            if self.tok.kind == COMMA:
                self.advance()
            elif self.tok.kind not in (RBRACK, EOF):
                raise syntax_error(self.tok.pos, f"expected ',' or ']' in list, got {self.tok.describe()}")
        self.advance()
        self.depth -= 1
        return tuple(values)


def decode_hcl(text: str) -> Obj:
    """Parse HCL1 ``text`` into a tree. Raises `RulesError` ("Failed to parse ACL rules: At L:C: ...")."""
    parser = _Parser(text)
    return Obj(parser.body(None), (1, 1))
