"""The shape every check has: `BaseCheck.probe(ctx) -> Verdict`, and the result a run reports.

What lives here: `Verdict` (``ok`` True / False / None for "could not decide", a one-line ``detail``, an
optional multi-line ``report`` such as a failing-window table), `CheckResult` (a verdict with its name,
kind, phase and timing), `BaseCheck` (name, kind, the spec, and `guarded_probe`: a missing endpoint or
an error answer is a failed verdict saying so, an unreachable agent an undecided one), and `first_live`.

What must never live here: when checks run (``phases.py``) or any particular check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..agent_api import AgentError, MissingEndpoint
from ..context import RunContext
from ..http_client import HttpClientError
from ..schema_checks import Check, check_name
from ..targets import TargetError


@dataclass
class Verdict:
    ok: bool | None
    detail: str
    report: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckResult:
    name: str
    kind: str
    phase: str
    ok: bool | None
    detail: str
    at: float | None = None
    elapsed: float | None = None
    report: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return {True: "PASS", False: "FAIL", None: "UNKNOWN"}[self.ok]


class BaseCheck:
    #: probed repeatedly in the safety phase (False: judged once, at the end)
    continuous = True

    def __init__(self, spec: Check) -> None:
        self.spec = spec
        self.name = check_name(spec)
        self.kind: str = spec.__struct_config__.tag  # type: ignore[assignment]

    async def probe(self, ctx: RunContext) -> Verdict:
        raise NotImplementedError

    async def guarded_probe(self, ctx: RunContext) -> Verdict:
        try:
            return await self.probe(ctx)
        except MissingEndpoint as exc:
            return Verdict(False, str(exc), data={"missing_endpoint": True})
        except (AgentError, TargetError) as exc:
            return Verdict(False, str(exc))
        except HttpClientError as exc:  # unreachable is no observation, not a violation
            return Verdict(None, str(exc))


def first_live(ctx: RunContext, servers_first: bool = True) -> str | None:
    nodes = [n for n in ctx.launcher.nodes.values() if n.up]
    if servers_first:
        nodes.sort(key=lambda n: not n.spec.is_server)
    return nodes[0].name if nodes else None
