"""Counters for stream traffic, shared by every connection of one owner (a listener, a link, a client).

What lives here: `StreamCounters`: frames and bytes each way, and errors by reason (the ``reason`` of a
`FrameError`, or a short word such as ``handler_error``). Connections add to them as they go, so the owner's
statistics are always current without asking each connection.

What must never live here: decisions based on the counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class StreamCounters:
    __slots__ = ("frames_in", "frames_out", "bytes_in", "bytes_out", "errors")

    def __init__(self) -> None:
        self.frames_in = 0
        self.frames_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.errors: Counter[str] = Counter()

    def error(self, reason: str) -> None:
        self.errors[reason] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "errors": dict(sorted(self.errors.items())),
        }
