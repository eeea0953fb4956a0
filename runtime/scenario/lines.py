"""Best-effort line numbers for key paths in a TOML file (``tomllib`` keeps no positions).

What lives here: `line_of(text, path)`. It follows the path through table headers (``[checks]``,
``[[timeline]]`` counted by index, ``[cluster.agents.s1]``) and then ``key =`` lines inside the table
reached, returning the deepest line it could pin down, or None. It is a search, not a parser: a key
written inside an inline table on the same line as its parent is found on that line, which is what a
reader needs.

What must never live here: validation, or anything that changes how a file is read.
"""

from __future__ import annotations

import re

from .problems import Segment

_HEADER = re.compile(r"^\s*\[(\[)?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _headers(lines: list[str]) -> list[tuple[int, bool, str]]:
    """(line index, is array-of-tables, dotted name) for every table header."""
    out = []
    for i, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            name = ".".join(part.strip().strip('"\'') for part in match.group(2).split("."))
            out.append((i, bool(match.group(1)), name))
    return out


def _find_key(lines: list[str], key: str, start: int, stop: int) -> int | None:
    pattern = re.compile(r'(^|[{,\s])("?)' + re.escape(key) + r'\2\s*=')
    for i in range(start, stop):
        if pattern.search(lines[i].split("#", 1)[0]):
            return i
    return None


def line_of(text: str, path: tuple[Segment, ...] | list[Segment]) -> int | None:
    """1-based line of the deepest part of `path` found in `text`, or None."""
    lines = text.splitlines()
    headers = _headers(lines)
    start, stop, found = 0, len(lines), None
    dotted: list[str] = []
    segments = list(path)
    i = 0
    while i < len(segments):
        seg = segments[i]
        if isinstance(seg, int):  # an index we could not resolve through a [[header]]: stay on the array
            i += 1
            continue
        dotted.append(seg)
        name = ".".join(dotted)
        index = segments[i + 1] if i + 1 < len(segments) and isinstance(segments[i + 1], int) else None
        region = [h for h in headers if h[2] == name]
        arrays = [h for h in region if h[1]]
        tables = [h for h in region if not h[1]]
        if index is not None and len(arrays) > index:
            line = arrays[index][0]
            start, found = line + 1, line
            stop = next((h[0] for h in headers if h[0] > line), len(lines))
            i += 2
            continue
        if index is None and tables:
            line = tables[0][0]
            start, found = line + 1, line
            stop = next((h[0] for h in headers if h[0] > line and not h[2].startswith(name + ".")), len(lines))
            i += 1
            continue
        line = _find_key(lines, seg, start, stop)
        if line is None:
            if any(h[2].startswith(name + ".") for h in headers):  # only a prefix of deeper [headers]
                i += 1
                continue
            break
        found, start = line, line
        i += 1
    return None if found is None else found + 1
