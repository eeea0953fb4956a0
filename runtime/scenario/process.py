"""One child process of a run, started and signalled by PID, never by name.

What lives here: `ChildProcess`: `start()` (``subprocess.Popen`` in the calling thread, its own session so
a terminal's Ctrl-C reaches the runner only, stdout/stderr appended to files, and on Linux a parent-death
signal so the child dies with the runner even if the runner is killed outright), `signal`, `pause`/`resume`,
`wait_exit` (pidfd when the kernel has it, else bounded polling), `terminate` (SIGTERM, grace, SIGKILL)
and `kill_now` (synchronous, for emergency cleanup).

Popen runs in the caller's thread on purpose: Linux delivers the parent-death signal when the *thread*
that forked exits, and trio's own ``open_process`` forks in a worker thread that may retire at any time.

What must never live here: what the process is (an agent is one use), readiness, or HTTP.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import trio

PR_SET_PDEATHSIG = 1
POLL_INTERVAL = 0.02


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


class ChildProcess:
    def __init__(self, argv: Sequence[str], stdout: Path, stderr: Path, env: dict[str, str] | None = None,
                 cwd: str | None = None) -> None:
        self.argv = list(argv)
        self.stdout = stdout
        self.stderr = stderr
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False
        self._pidfd: int | None = None
        self._wait_lock = trio.Lock()

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def start(self) -> int:
        if self.running:
            raise RuntimeError(f"process {self.pid} is still running")
        self._close_pidfd()
        with open(self.stdout, "ab") as out, open(self.stderr, "ab") as err:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=self.env, cwd=self.cwd,
                start_new_session=True, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.paused = False
        try:
            self._pidfd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            self._pidfd = None
        return self.proc.pid

    def signal(self, sig: int) -> bool:
        """Send `sig` to our child if it is still running; False if it had already exited."""
        if not self.running or self.proc is None:
            return False
        try:
            self.proc.send_signal(sig)
        except ProcessLookupError:
            return False
        return True

    def pause(self) -> bool:
        done = self.signal(signal.SIGSTOP)
        self.paused = self.paused or done
        return done

    def resume(self) -> bool:
        done = self.signal(signal.SIGCONT)
        self.paused = False
        return done

    async def wait_exit(self, timeout: float) -> bool:
        """True once the process has exited (and been reaped), False if `timeout` passed first."""
        if self.proc is None:
            return True
        with trio.move_on_after(timeout):
            async with self._wait_lock:
                while self.proc.poll() is None:
                    if self._pidfd is not None:
                        await trio.lowlevel.wait_readable(self._pidfd)
                    else:
                        await trio.sleep(POLL_INTERVAL)
        done = self.proc.poll() is not None
        if done:
            self._close_pidfd()
        return done

    async def terminate(self, grace: float) -> int | None:
        """SIGTERM (and SIGCONT, in case it is paused), then SIGKILL after `grace` seconds."""
        if self.signal(signal.SIGTERM):
            if self.paused:
                self.resume()
            if not await self.wait_exit(grace):
                self.signal(signal.SIGKILL)
                await self.wait_exit(grace)
        self.paused = False
        return self.returncode

    async def kill(self, timeout: float = 10.0) -> int | None:
        if self.signal(signal.SIGKILL):
            await self.wait_exit(timeout)
        self.paused = False
        return self.returncode

    def kill_now(self) -> None:
        """Synchronous SIGKILL and reap: the last resort when no event loop is left."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self._close_pidfd()

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            fd, self._pidfd = self._pidfd, None
            try:
                trio.lowlevel.notify_closing(fd)
            except RuntimeError:  # no trio run active (kill_now from plain code)
                pass
            os.close(fd)
