"""The checks of a scenario file (``[checks] safety = [...]``, ``liveness = [...]``, ``do = "check"`` steps).

What lives here: `Check`, the tagged union over ``kind``; `CheckSpec` (a bare kind name such as
``"linearizable"`` or a table); `Checks` (the two lists); and the two families the validator enforces:

- `EVENTUAL_KINDS` hold *eventually*, within a budget (``within``): only in ``liveness`` or a timeline
  ``check`` step (``leader-within``, ``members-converge-within``, ``member-failed-within``);
- `FINAL_KINDS` judge the whole run once, at the end (``linearizable``, ``no-acknowledged-write-lost``,
  ``metric``): only in ``safety``;
- the rest (``kv-equals``, ``health-is``, ``dns-answers``, ``actor-restarts``) are conditions: in
  ``safety`` they must hold throughout (polled, and once more at the end), in ``liveness`` they must come
  to hold within ``within``.

What must never live here: how a check is evaluated (``checks/``) or when (``runner.py``).
"""

from __future__ import annotations

from typing import Literal, Union

from .schema_types import Duration, NonNegativeInt, PositiveInt, Table, Target


class CheckBase(Table, tag_field="kind", kw_only=True):
    name: str | None = None
    within: Duration | None = None


class LeaderWithin(CheckBase, tag="leader-within", kw_only=True):
    """Every live server (of ``dc``, or of every datacenter; minus ``exclude``, e.g. ``"@isolate"`` for a
    partitioned minority) reports the same non-empty leader."""

    dc: str | None = None
    exclude: Target | None = None


class MembersConvergeWithin(CheckBase, tag="members-converge-within", kw_only=True):
    """Every live node's ``/v1/agent/members`` shows exactly the live nodes of its datacenter as alive
    (nodes in ``exclude`` neither asked nor expected). ``wan = true``: the WAN pool instead, every live
    server's ``/v1/agent/members?wan=1`` shows exactly the live servers of every datacenter
    (``<node>.<dc>``)."""

    dc: str | None = None
    exclude: Target | None = None
    wan: bool = False


class MemberFailedWithin(CheckBase, tag="member-failed-within", kw_only=True):
    """Every other live node of its datacenter reports ``node`` as failed (``wan = true``: every live
    server of the other datacenters reports it failed in the WAN pool)."""

    node: str
    wan: bool = False


class KVEquals(CheckBase, tag="kv-equals", kw_only=True):
    """A consistent read of ``key`` returns ``value`` (``absent = true``: the key does not exist)."""

    key: str
    value: str | None = None
    absent: bool = False
    target: str | None = None


class Linearizable(CheckBase, tag="linearizable", kw_only=True):
    """The history of a kv-register workload (default: all of them) is linearizable, key by key."""

    workload: str | None = None
    timeout: Duration = 30


class NoAcknowledgedWriteLost(CheckBase, tag="no-acknowledged-write-lost", kw_only=True):
    """After restarting every node (unless ``restart = false``), every key's value is one a linearizable
    history allows: no acknowledged write is lost."""

    workload: str | None = None
    restart: bool = True


class HealthIs(CheckBase, tag="health-is", kw_only=True):
    """Every instance of ``service`` (on ``node``, if given) has aggregated status ``status``."""

    service: str
    status: Literal["passing", "warning", "critical"] = "passing"
    node: str | None = None
    instances: NonNegativeInt | None = None


class DNSAnswers(CheckBase, tag="dns-answers", kw_only=True):
    """The target's DNS interface answers ``name`` (``type`` A or SRV) with at least ``count`` records."""

    query: str
    type: Literal["A", "SRV"] = "A"
    count: PositiveInt = 1
    target: str | None = None


class ActorRestarts(CheckBase, tag="actor-restarts", kw_only=True):
    """The actor at ``path`` (``{node}`` = the node's name) on ``node`` has restarted as many times as said."""

    node: str
    path: str
    equals: NonNegativeInt | None = None
    at_least: NonNegativeInt | None = None
    at_most: NonNegativeInt | None = None


class Metric(CheckBase, tag="metric", kw_only=True):
    """A workload measurement within bounds. Latencies (``p50``, ``p90``, ``p99``, ``max``) are in
    milliseconds, ``throughput`` in ok ops per second; ``op`` narrows to one operation (``read``...);
    ``fail_p99``/``fail_max``... are the latencies of the ops that did not succeed (how fast a refusal
    comes back). ``since``/``until`` judge only the ops that ended in that window of the run: each a
    duration from the start (``"25s"``), a step's name (when it started) or ``"<step>+<duration>"``."""

    workload: str
    metric: Literal["throughput", "p50", "p90", "p99", "max", "ok", "fail", "info", "errors", "wakeups",
                    "regressions", "fail_p50", "fail_p90", "fail_p99", "fail_max"]
    op: str | None = None
    min: float | None = None
    max: float | None = None
    since: str | None = None
    until: str | None = None


Check = Union[LeaderWithin, MembersConvergeWithin, MemberFailedWithin, KVEquals, Linearizable,
              NoAcknowledgedWriteLost, HealthIs, DNSAnswers, ActorRestarts, Metric]
CheckSpec = Union[str, Check]
CHECK_KINDS = tuple(cls.__struct_config__.tag for cls in Check.__args__)  # type: ignore[attr-defined]
CHECK_BY_KIND = {cls.__struct_config__.tag: cls for cls in Check.__args__}  # type: ignore[attr-defined]
EVENTUAL_KINDS = ("leader-within", "members-converge-within", "member-failed-within")
FINAL_KINDS = ("linearizable", "no-acknowledged-write-lost", "metric")
DEFAULT_WITHIN = {"leader-within": 10.0}
DEFAULT_WITHIN_ANY = 30.0


class Checks(Table, kw_only=True):
    safety: list[CheckSpec] = []
    liveness: list[CheckSpec] = []
    poll: Duration = 1


def as_check(spec: CheckSpec) -> Check:
    """A bare kind name as its table with defaults (the validator has made sure it needs no fields)."""
    return CHECK_BY_KIND[spec]() if isinstance(spec, str) else spec  # type: ignore[call-arg]


def check_name(check: Check) -> str:
    return check.name or check.__struct_config__.tag  # type: ignore[return-value]
