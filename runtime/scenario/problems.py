"""What is wrong with a scenario file: `Problem` (key path, message, line) and `ScenarioError` (all of them).

What lives here: the two types, path rendering in msgspec's style (``$.timeline[2].do``) and the one
formatting rule every report follows: ``FILE:LINE: $.path: what was expected``.

What must never live here: finding problems (``shape.py``, ``validate.py``) or line numbers (``lines.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

Segment = str | int
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def render_path(segments: tuple[Segment, ...] | list[Segment]) -> str:
    out = "$"
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif _PLAIN_KEY.match(seg):
            out += f".{seg}"
        else:
            out += f"[{seg!r}]"
    return out


@dataclass(frozen=True)
class Problem:
    path: tuple[Segment, ...]
    message: str
    line: int | None = None

    @property
    def where(self) -> str:
        return render_path(self.path)

    def format(self, filename: str) -> str:
        loc = f"{filename}:{self.line}" if self.line else filename
        return f"{loc}: {self.where}: {self.message}"


@dataclass
class ScenarioError(Exception):
    """Every problem found in one file, reported together."""

    filename: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{self.filename}: {count} problem{'s' if count != 1 else ''}"
        return "\n".join([head, *("  " + p.format(self.filename) for p in self.problems)])
