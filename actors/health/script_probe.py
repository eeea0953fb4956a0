"""The script check: run ``Args`` (no shell), exit 0 is passing, 1 is warning, anything else critical.

The process gets no stdin; stdout and stderr are captured together, keeping only the last
``OutputMaxSize`` bytes (with Consul's "Captured N of M bytes" note when more was written), so a chatty
script cannot grow the agent's memory. It runs in its own process group; on timeout (30 s unless
``Timeout`` says otherwise) the whole group is killed and the result is critical
``Timed out (<timeout>) running check``. A program that cannot be started is critical
``Failed to invoke: <error>``.

Whether script checks are allowed at all is decided at registration (``enable_script_checks``).

What must never live here: scheduling, status folding, or state.
"""

from __future__ import annotations

import os
import signal
import subprocess
from functools import partial

import trio

from actors.local.records import CheckSpec
from actors.state.durations import format_duration_ns

from .result import ProbeResult, critical, passing, warning


class TailBuffer:
    """Keeps the last ``limit`` bytes written and counts them all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.total = 0

    def write(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.data += chunk
        if len(self.data) > self.limit:
            del self.data[: len(self.data) - self.limit]

    def text(self) -> str:
        out = self.data.decode("utf-8", errors="replace")
        if self.total > len(self.data):
            return f"Captured {len(self.data)} of {self.total} bytes\n...\n{out}"
        return out


async def _kill_group(process: trio.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def exit_status(code: int) -> str:
    if code == 0:
        return "passing"
    if code == 1:
        return "warning"
    return "critical"


async def script_probe(spec: CheckSpec, timeout: float) -> ProbeResult:
    output = TailBuffer(spec.output_limit)
    process: trio.Process | None = None
    failure: OSError | None = None
    with trio.move_on_after(timeout) as scope:
        try:
            async with trio.open_nursery() as nursery:
                process = await nursery.start(partial(
                    trio.run_process, list(spec.args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, check=False, start_new_session=True, deliver_cancel=_kill_group))
                assert process is not None and process.stdout is not None
                async for chunk in process.stdout:
                    output.write(chunk)
        except* OSError as group:
            failure = group.exceptions[0]  # type: ignore[assignment]
    if failure is not None:
        return critical(f"Failed to invoke: {failure}")
    if scope.cancelled_caught or process is None or process.returncode is None:
        return critical(f"Timed out ({format_duration_ns(round(timeout * 1e9))}) running check")
    result = {"passing": passing, "warning": warning}.get(exit_status(process.returncode), critical)
    return result(output.text())
