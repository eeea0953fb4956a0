"""The ``[[timeline]]`` steps of a scenario file, one msgspec Struct per ``do`` value.

What lives here: `Step`, the tagged union over ``do`` (process faults ``kill``/``stop``/``start``/
``restart``/``pause``/``resume``, ``crash-actor``, network faults ``partition``/``heal``/``delay``/
``loss``/``duplicate``, ``kv-put``, and ``check``, an inline assertion), and `STEP_KINDS`.

Every step has an optional ``name`` (default ``step-<index>``) and a trigger: ``at = "10s"`` after the
start of the run, or ``after = "<step name>"`` (then ``at`` is an extra offset from that step's end).

What must never live here: executing steps (``steps.py``), scheduling (``timeline.py``) or cross-checks
against the cluster (``validate.py``).
"""

from __future__ import annotations

from typing import Literal, Union

import msgspec

from .schema_checks import CheckSpec
from .schema_types import Duration, Probability, Table, Target


class StepBase(Table, tag_field="do", kw_only=True):
    name: str | None = None
    at: Duration | None = None
    after: str | None = None


class Kill(StepBase, tag="kill", kw_only=True):
    """SIGKILL the target's process."""

    target: Target


class Stop(StepBase, tag="stop", kw_only=True):
    """SIGTERM the target and wait for it to exit (SIGKILL after the grace period)."""

    target: Target


class Start(StepBase, tag="start", kw_only=True):
    """Start a stopped or killed node again: same data dir, same ports; waits until its HTTP answers."""

    target: Target


class Restart(StepBase, tag="restart", kw_only=True):
    """Stop (``signal`` TERM or KILL), wait ``down``, start again."""

    target: Target
    signal: Literal["TERM", "KILL"] = "TERM"
    down: Duration = 0


class Pause(StepBase, tag="pause", kw_only=True):
    """SIGSTOP the target: alive but silent."""

    target: Target


class Resume(StepBase, tag="resume", kw_only=True):
    """SIGCONT a paused target."""

    target: Target


class CrashActor(StepBase, tag="crash-actor", kw_only=True):
    """``PUT /v1/agent/actors/<op>?path=`` on the target; ``{node}`` in ``path`` is the target's name."""

    target: Target
    path: str
    op: Literal["crash", "stop", "restart"] = "crash"


class Partition(StepBase, tag="partition", kw_only=True):
    """Cut the cluster into ``groups`` (each a list of targets; ``"*"`` is everyone not named elsewhere).

    Symmetric by default; with ``oneway`` only traffic from the first group to the others is dropped.
    """

    groups: list[list[str]]
    oneway: bool = False


class Heal(StepBase, tag="heal", kw_only=True):
    """Remove every network fault (partitions, delay, loss, duplication) from every agent."""


class LinkFault(StepBase, kw_only=True):
    """A fault on the links from ``from`` to ``to`` (both ways unless ``oneway``)."""

    src: Target = msgspec.field(name="from")
    to: Target = "*"
    oneway: bool = False


class Delay(LinkFault, tag="delay", kw_only=True):
    delay: Duration
    jitter: Duration = 0


class Loss(LinkFault, tag="loss", kw_only=True):
    rate: Probability


class Duplicate(LinkFault, tag="duplicate", kw_only=True):
    rate: Probability


class KVPut(StepBase, tag="kv-put", kw_only=True):
    """Write ``value`` at ``key`` through the target (default: a random live node)."""

    key: str
    value: str
    target: Target | None = None


class CheckStep(StepBase, tag="check", kw_only=True):
    """Assert something at this point of the timeline; eventual checks get ``within`` to hold."""

    check: CheckSpec


Step = Union[Kill, Stop, Start, Restart, Pause, Resume, CrashActor, Partition, Heal, Delay, Loss, Duplicate,
             KVPut, CheckStep]
STEP_KINDS = tuple(cls.__struct_config__.tag for cls in Step.__args__)  # type: ignore[attr-defined]
PROCESS_STEPS = ("kill", "stop", "start", "restart", "pause", "resume")
NETWORK_STEPS = ("partition", "heal", "delay", "loss", "duplicate")
