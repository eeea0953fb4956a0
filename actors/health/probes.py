"""Which probe runs which kind of check: the `PROBES` table from check kind to an async probe function.

A probe is ``async def probe(spec, timeout) -> ProbeResult``. It never raises for the failures it exists
to detect (refused connections, timeouts, bad exit codes): those are critical results. Anything it does
raise is a bug and crashes the check actor, whose supervisor restarts it and whose status then shows the
error. Kinds missing from the table (gRPC, H2PING, UDP, Docker, OSService) are accepted at registration
but not run: such checks keep their initial status.

What must never live here: scheduling, status folding, or state updates.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from actors.local.records import CheckSpec

from .http_probe import http_probe
from .result import ProbeResult
from .script_probe import script_probe
from .tcp_probe import tcp_probe

ProbeFn = Callable[[CheckSpec, float], Awaitable[ProbeResult]]

PROBES: dict[str, ProbeFn] = {"http": http_probe, "tcp": tcp_probe, "script": script_probe}
