"""Local state on disk: what is persisted, its file format, and a crash-safe write.

What lives here: `PersistedState` (the API-registered services and checks, maintenance checks included,
plus the last status of every TTL check with its wall-clock expiry, like Consul's ``checks/state``),
`snapshot` (state → PersistedState, pure), `restore_records` (which persisted records to bring back,
pure), `write_atomic` (temp file, fsync, rename, fsync of the directory: a crash leaves either the old or
the new file, never a torn one) and `read_file`.

Config-file definitions are not persisted: they are read from the config again at start and on reload.
Probe results of non-TTL checks are not persisted either; such checks restart from their initial status.

What must never live here: Trio or decisions about *when* to write (``local_agent`` does that).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import msgspec

from actors.state.models import CRITICAL

from .records import SOURCE_API, LocalCheck, LocalService
from .state import LocalState

STATE_DIR = "local"
STATE_FILE = "state.json"
FORMAT_VERSION = 1


class TTLState(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    output: str = ""
    expires: float  # Unix seconds; a state read back after this is ignored


class PersistedState(msgspec.Struct, frozen=True, kw_only=True):
    version: int = FORMAT_VERSION
    services: list[LocalService] = []
    checks: list[LocalCheck] = []
    ttl: dict[str, TTLState] = {}


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(PersistedState)


def state_path(data_dir: str) -> Path:
    return Path(data_dir) / STATE_DIR / STATE_FILE


def snapshot(state: LocalState, wall_of: Callable[[float], float]) -> PersistedState:
    """What to write for ``state``. ``wall_of`` turns a state timestamp into Unix seconds."""
    services = [s for s in state.services.values() if s.source == SOURCE_API]
    checks = [
        msgspec.structs.replace(c, status=c.initial_status or CRITICAL, output="")
        for c in state.checks.values()
        if c.source == SOURCE_API
    ]
    ttl: dict[str, TTLState] = {}
    for c in state.checks.values():
        if c.spec is not None and c.spec.ttl > 0:
            touched = state.marks[c.id].touched_at
            ttl[c.id] = TTLState(status=c.status, output=c.output, expires=wall_of(touched + c.spec.ttl))
    return PersistedState(services=services, checks=checks, ttl=ttl)


def encode(ps: PersistedState) -> bytes:
    return _encoder.encode(ps)


def decode(data: bytes) -> PersistedState:
    return _decoder.decode(data)


def restore_records(ps: PersistedState, existing_services: set[str], existing_checks: set[str]
                    ) -> tuple[list[LocalService], list[LocalCheck]]:
    """Persisted records to bring back; definitions already loaded from the config win, as in Consul."""
    services = [s for s in ps.services if s.id not in existing_services]
    known = existing_services | {s.id for s in services}
    checks = [
        c for c in ps.checks
        if c.id not in existing_checks and (not c.service_id or c.service_id in known)
    ]
    return services, checks


def live_ttl_states(ps: PersistedState, now_wall: float) -> dict[str, TTLState]:
    return {cid: st for cid, st in ps.ttl.items() if st.expires > now_wall}


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash at any point leaves the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_file(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
