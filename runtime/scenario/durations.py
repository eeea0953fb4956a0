"""Durations as scenario files write them: Go-style strings ("10s", "1m30s", "250ms") or plain seconds.

What lives here: `parse_duration` (text or number -> seconds, `ValueError` with the expected form),
`format_duration` (seconds -> the shortest readable text), used by the schema checks, the timeline and
the reports, and `parse_moment`: a point of the run written as a duration from its start (``"25s"``), a
timeline step's name (when it started: ``"cut-wan"``) or a step plus an offset (``"cut-wan+15s"``).

What must never live here: clocks or sleeping; this is arithmetic on literals only.
"""

from __future__ import annotations

import math
import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
EXPECTED = "a duration such as '10s', '1m30s' or '250ms' (or a number of seconds)"


def parse_duration(value: str | int | float) -> float:
    """Seconds in `value`; negative or malformed durations raise `ValueError` naming the expected form."""
    if isinstance(value, bool):
        raise ValueError(f"expected {EXPECTED}, got a boolean")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = value.strip()
        if text in ("0", ""):
            if text == "":
                raise ValueError(f"expected {EXPECTED}, got an empty string")
            return 0.0
        pos, seconds = 0, 0.0
        while pos < len(text):
            match = _PART.match(text, pos)
            if match is None:
                raise ValueError(f"expected {EXPECTED}, got {value!r}")
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
    if seconds < 0 or math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"expected {EXPECTED}, got {value!r}")
    return seconds


def parse_moment(value: str | int | float) -> tuple[str | None, float]:
    """(step name or None for the start of the run, offset in seconds); `ValueError` if malformed."""
    if isinstance(value, str) and not value.strip()[:1].isdigit() and not value.strip().startswith("."):
        step, plus, offset = value.strip().partition("+")
        if not step.strip():
            raise ValueError(f"expected a step name, a duration or '<step>+<duration>', got {value!r}")
        return step.strip(), parse_duration(offset) if plus else 0.0
    return None, parse_duration(value)


def format_duration(seconds: float) -> str:
    """``1.5`` -> ``"1.5s"``, ``0.25`` -> ``"250ms"``, ``90`` -> ``"1m30s"``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.3g}s" if seconds < 10 else f"{seconds:.1f}s".replace(".0s", "s")
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if rest else f"{int(minutes)}m"
