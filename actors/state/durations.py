"""Go duration strings ("10s", "1m30s", "1.5h", "250ms") to integer nanoseconds.

What lives here: one parser, so the state store can turn a session's ``TTL`` into a number without
depending on the HTTP layer. What must never live here: range policy (the 10 s … 86400 s TTL window is
the API's business) or any reading of the clock.
"""

from __future__ import annotations

import re

_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}

_INT64_MAX = 2**63 - 1
_INT64_DIGITS = len(str(_INT64_MAX))
_FRACTION_DIGITS = 24

# One "<number><unit>" piece; a duration is one or more of them back to back.
_PIECE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration_ns(text: str) -> int:
    """Parse a Go duration string into nanoseconds (truncating fractions of a nanosecond).

    Accepts an optional sign and ``"0"`` on its own, like Go's ``time.ParseDuration``. Raises
    `ValueError` with Go's wording for anything else, including the empty string and durations that
    overflow Go's int64 nanoseconds.
    """
    s = text
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0
    pos = 0
    while pos < len(s):
        m = _PIECE.match(s, pos)
        if m is None:
            if re.match(r"(\d+(?:\.\d*)?|\.\d+)$", s[pos:]):
                raise ValueError(f'time: missing unit in duration "{text}"')
            raise ValueError(f'time: invalid duration "{text}"')
        number, unit = m.group(1), m.group(2)
        whole, _, frac = number.partition(".")
        if len(whole.lstrip("0")) > _INT64_DIGITS:  # overflows anyway; int() would refuse > 4300 digits
            raise ValueError(f'time: invalid duration "{text}"')
        frac = frac[:_FRACTION_DIGITS]  # digits past these change nothing at nanosecond precision
        scale = _UNIT_NS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // (10 ** len(frac))
        pos = m.end()
    if total > _INT64_MAX + (sign < 0):  # Go's time.Duration is an int64
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


def format_duration_ns(ns: int) -> str:
    """A short Go-style rendering (``"15s"``, ``"1m30s"``, ``"250ms"``) used in messages and tests."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, scale in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= scale and ns % scale == 0:
                return f"{sign}{ns // scale}{unit}"
        return f"{sign}{ns}ns"
    hours, rest = divmod(ns, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    seconds = rest / 1_000_000_000
    out = sign
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    out += f"{seconds:g}s"
    return out
