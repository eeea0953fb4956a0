"""The ``[[workloads]]`` of a scenario file, one msgspec Struct per ``kind``.

What lives here: `Workload`, the tagged union over ``kind``:

- ``kv-register``: ``clients`` doing read/write/cas on ``keys`` through ``/v1/kv`` (unique values per
  write), at ``rate`` ops/s in total (0: as fast as they can), in the proportions of ``mix``; recorded as
  a history for the linearizability checker; ``consistency`` picks the read mode; ``dc`` sends every
  request to that datacenter's KV (``?dc=``) through the targets, which may be in another datacenter;
- ``watch``: ``watchers`` blocking queries on a ``key``, ``prefix`` or ``service``, counting wakeups and
  index regressions;
- ``services``: ``count`` services with TTL checks registered on the targets, their checks flipped
  between passing and critical every ``flip_every`` (and deregistered/re-registered with ``churn``);
- ``events``: user events fired at ``rate``;
- ``dns``: ``clients`` sending ``query``/``type`` to the targets' DNS ports over UDP, at ``rate`` queries/s
  in total (0: as fast as they can), measuring rcodes and latency (a benchmark for the DNS interface).

Common keys: ``name`` (default ``<kind>-<index>``), ``targets`` (the nodes the clients talk to, default
every node), ``start`` (offset from the start of the run) and ``duration`` (default: until the timeline
is over and the scenario's ``duration`` has passed).

What must never live here: running a workload (``workloads/``).
"""

from __future__ import annotations

from typing import Literal, Union

import msgspec

from .schema_types import Duration, PositiveInt, Probability, Table, Target


class Mix(Table, kw_only=True):
    read: Probability = 0.5
    write: Probability = 0.3
    cas: Probability = 0.2


class WorkloadBase(Table, tag_field="kind", kw_only=True):
    name: str | None = None
    targets: Target = "*"
    start: Duration = 0
    duration: Duration | None = None


class KVRegister(WorkloadBase, tag="kv-register", kw_only=True):
    keys: PositiveInt | list[str] = 5
    key_prefix: str = "scenario/"
    clients: PositiveInt = 5
    rate: float = 0.0
    mix: Mix = msgspec.field(default_factory=Mix)
    timeout: Duration = 2
    consistency: Literal["default", "consistent", "stale"] = "default"
    dc: str | None = None


class Watch(WorkloadBase, tag="watch", kw_only=True):
    key: str | None = None
    prefix: str | None = None
    service: str | None = None
    watchers: PositiveInt = 2
    wait: Duration = 5


class Services(WorkloadBase, tag="services", kw_only=True):
    count: PositiveInt = 3
    prefix: str = "demo"
    ttl: Duration = 10
    flip_every: Duration = 2
    churn: bool = False


class Events(WorkloadBase, tag="events", kw_only=True):
    event: str = "scenario"
    rate: float = 1.0
    payload: str = ""


class Dns(WorkloadBase, tag="dns", kw_only=True):
    query: str = "consul.service.consul"
    type: str = "A"
    clients: PositiveInt = 4
    rate: float = 0.0
    timeout: Duration = 2


Workload = Union[KVRegister, Watch, Services, Events, Dns]
WORKLOAD_KINDS = tuple(cls.__struct_config__.tag for cls in Workload.__args__)  # type: ignore[attr-defined]


def workload_name(workload: Workload, index: int) -> str:
    return workload.name or f"{workload.__struct_config__.tag}-{index}"
