"""What one run of a check yields: `ProbeResult`, a status and its output text, and its three builders.

What must never live here: probing, scheduling or status folding.
"""

from __future__ import annotations

from typing import NamedTuple

from actors.state.models import CRITICAL, PASSING, WARNING


class ProbeResult(NamedTuple):
    status: str
    output: str


def passing(output: str) -> ProbeResult:
    return ProbeResult(PASSING, output)


def warning(output: str) -> ProbeResult:
    return ProbeResult(WARNING, output)


def critical(output: str) -> ProbeResult:
    return ProbeResult(CRITICAL, output)
