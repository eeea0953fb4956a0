"""The operator's way back in: ``<data_dir>/acl-bootstrap-reset`` holding the current reset index.

What lives here: `read_reset_index` (the number at the start of the file, as Go's ``Sscanf("%d")``
reads it; 0 when the file is missing, unreadable or not a number, or when the agent has no data dir)
and `remove_reset_file`. Consul removes the file as soon as it has been read with the right index,
whether the bootstrap then succeeds or not, so that a later snapshot restore cannot re-open
bootstrapping by accident.

What must never live here: deciding whether a bootstrap is allowed (the state store's) or HTTP.
"""

from __future__ import annotations

import os
import re

RESET_FILE = "acl-bootstrap-reset"
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


def reset_path(data_dir: str | None) -> str | None:
    return os.path.join(data_dir, RESET_FILE) if data_dir else None


def read_reset_index(data_dir: str | None) -> int:
    path = reset_path(data_dir)
    if path is None:
        return 0
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(256)
    except OSError:
        return 0
    match = _LEADING_INT.match(text)
    if match is None:
        return 0
    value = int(match.group(1))
    return value if value > 0 else 0


def remove_reset_file(data_dir: str | None) -> None:
    path = reset_path(data_dir)
    if path is None:
        return
    try:
        os.remove(path)
    except OSError:
        pass
