"""The one exception type of the filter package, and how it renders a position.

What lives here: `FilterError` (raised for any expression that cannot be compiled: lexical errors,
grammar errors, unknown selectors, bad regular expressions) and `FilterEvaluationError` (raised while
running a compiled filter over a record whose data does not fit the expression, e.g. a literal that
cannot be coerced to the field's type). Both carry the offending expression and a character offset so
that callers can point at the problem.

The rendered message follows Consul, which wraps go-bexpr's parser errors as
``Failed to create boolean expression evaluator: <line>:<col> (<offset>): <detail>`` and its selector
checks as ``Failed to create boolean expression evaluator: Selector "Nope" is not valid``. The HTTP layer
returns ``str(err)`` as a plain-text 400 body.

What must never live here: parsing, evaluation, or anything that knows about HTTP.
"""

from __future__ import annotations

CREATE_PREFIX = "Failed to create boolean expression evaluator: "


class FilterError(ValueError):
    """A filter expression that cannot be compiled.

    ``detail`` is the bare reason, ``offset`` the 0-based character offset in ``expression`` it refers to
    (None when no single place is to blame), ``line``/``column`` the 1-based position of that offset.
    ``positional`` says whether the rendered message embeds ``line:col (offset)`` the way go-bexpr's
    parser errors do; selector and regular-expression errors keep Consul's exact wording and carry the
    position only as attributes (see `caret`).
    """

    prefix = CREATE_PREFIX

    def __init__(
        self,
        detail: str,
        *,
        expression: str | None = None,
        offset: int | None = None,
        positional: bool = True,
    ) -> None:
        self.detail = detail
        self.expression = expression
        self.offset = offset
        self.positional = positional and offset is not None
        self.line, self.column = _line_col(expression or "", offset)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.positional:
            return f"{self.prefix}{self.line}:{self.column} ({self.offset}): {self.detail}"
        return f"{self.prefix}{self.detail}"

    def __str__(self) -> str:
        return self.message

    def caret(self) -> str:
        """The offending line of the expression with a ``^`` under the blamed character."""
        if self.expression is None or self.offset is None:
            return self.expression or ""
        lines = self.expression.split("\n")
        text = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        return f"{text}\n{' ' * (self.column - 1)}^"


class FilterEvaluationError(FilterError):
    """A compiled filter met a record it cannot be evaluated against (go-bexpr's evaluation errors)."""

    prefix = ""

    def __init__(self, detail: str, *, expression: str | None = None, offset: int | None = None) -> None:
        super().__init__(detail, expression=expression, offset=offset, positional=False)


def _line_col(text: str, offset: int | None) -> tuple[int, int]:
    if offset is None:
        return 0, 0
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1
