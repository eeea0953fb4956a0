"""The live view of a run: every event as a line, plus (on a terminal) a status panel kept up to date.

What lives here: `Progress`: `on_event` prints ``[  12.34s] step kill-leader: killed s2 (pid 4242)``;
`run()` redraws, four times a second, the phase and time against the planned duration, the next timeline
step, each node's state (up / down / paused / exited) and PID, the leader (asked once a second, servers
only), and each workload's ok rate over the last second with its ok/fail/info counts. Off a terminal
(pipes, tests) only the event lines are printed.

What must never live here: decisions; this only reads the run's state.
"""

from __future__ import annotations

from typing import Any

import trio
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .context import Event, RunContext

REFRESH = 0.25
LEADER_EVERY = 1.0
_STATE_STYLE = {"up": "green", "paused": "yellow", "down": "red", "exited": "bold red", "new": "dim"}


class Progress:
    def __init__(self, console: Console, ctx: RunContext, planned: float | None, live: bool | None = None) -> None:
        self.console = console
        self.ctx = ctx
        self.planned = planned
        self.live = console.is_terminal if live is None else live
        self.timeline: Any = None
        self.leader = "?"
        ctx.listeners.append(self.on_event)

    def on_event(self, ev: Event) -> None:
        style = "" if ev.ok else "[bold red]"
        end = "[/]" if style else ""
        self.console.print(f"[dim][{ev.t:8.2f}s][/] {style}{ev.kind} {_escape(ev.text)}{end}", highlight=False)

    def render(self) -> Group:
        ctx = self.ctx
        head = Text(f"phase {ctx.phase}   t = {ctx.now():.1f}s" + (f" / {self.planned:g}s" if self.planned else ""))
        if self.timeline is not None:
            head.append(f"   next: {self.timeline.upcoming()}")
        head.append(f"   leader: {self.leader}")
        nodes = Table(box=None, show_header=False, pad_edge=False)
        row = []
        for node in ctx.launcher.nodes.values():
            state = node.state
            row.append(f"[{_STATE_STYLE[state]}]{node.name}[/] {state} {node.process.pid or ''}")
        for i in range(0, len(row), 6):
            nodes.add_row(*row[i:i + 6])
        parts: list[Any] = [head, nodes]
        if ctx.workloads:
            loads = Table(box=None, show_header=True, pad_edge=False)
            for col in ("workload", "ops/s", "ok", "fail", "info"):
                loads.add_column(col)
            for name, w in ctx.workloads.items():
                m = w.stats.summary(w.active_seconds())
                loads.add_row(name, f"{w.live_rate():.0f}", f"{m['ok']:g}", f"{m['fail']:g}", f"{m['info']:g}")
            parts.append(loads)
        return Group(*parts)

    async def run(self) -> None:
        if not self.live:
            return
        has_servers = any(n.spec.is_server for n in self.ctx.launcher.nodes.values())
        next_leader = 0.0
        with Live(self.render(), console=self.console, refresh_per_second=1 / REFRESH, transient=True) as live:
            while True:
                if has_servers and trio.current_time() >= next_leader:
                    next_leader = trio.current_time() + LEADER_EVERY
                    with trio.move_on_after(LEADER_EVERY):
                        self.leader = await self.ctx.launcher.leader() or "none"
                live.update(self.render())
                await trio.sleep(REFRESH)


def _escape(text: str) -> str:
    return escape(text)
