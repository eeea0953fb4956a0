"""Human-readable reports of linearizability failures.

What lives here: `format_ops` (a fixed-width table: client, invoke, complete, op, result) and
`explain_failure`, which renders a failing partition as its minimal failing window: the tail of the
longest linearizable prefix the search found, the model state after it, and the ops that could not be
linearized next with the reason for each.

What must never live here: the search itself, model semantics, printing to a terminal, or any import of
``actors``.
"""

from __future__ import annotations

from typing import Any, Sequence

from .history import Op
from .model import Model
from .search import PartitionResult

PREFIX_TAIL = 8  # how many of the last linearized ops to show before the stuck ones


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "never (info)"
    if float(t).is_integer():
        return str(int(t))
    return f"{t:.6g}"


def format_ops(ops: Sequence[Op], model: Model, marks: dict[int, str] | None = None) -> str:
    """A table of `ops`; `marks` maps op ids to a note shown in a last column."""
    header = ["client", "invoke", "complete", "op", "result"]
    rows = []
    for op in ops:
        row = [
            str(op.client),
            _fmt_time(op.invoke),
            _fmt_time(op.complete),
            model.describe_input(op.input),
            model.describe_output(op.input, op.output),
        ]
        if marks is not None:
            row.append(marks.get(op.id, ""))
        rows.append(row)
    if marks is not None:
        header.append("why")
    widths = [max(len(h), *(len(r[c]) for r in rows)) if rows else len(h) for c, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def explain_failure(res: PartitionResult, model: Model, tail: int = PREFIX_TAIL) -> str:
    key = "" if res.key is None else f" for key {res.key!r}"
    out = [f"history{key} is not linearizable ({res.ops} ops, {res.steps} search steps)."]
    shown = res.prefix[-tail:] if tail else []
    hidden = len(res.prefix) - len(shown)
    out.append(
        f"Longest linearizable prefix: {len(res.prefix)} op(s)"
        + (f" (the first {hidden} not shown)" if hidden else "")
        + f", leaving the state at {model.describe_state(res.state)}:"
    )
    out.append(format_ops(shown, model) if shown else "  (no op could be linearized first)")
    out.append("")
    out.append("None of these could be linearized next:")
    out.append(format_ops(res.stuck, model, res.reasons))
    return "\n".join(out)


def describe(result: Any) -> str:
    """The explanation text of a `CheckResult` (kept for symmetry with `format_ops`)."""
    return result.explanation
