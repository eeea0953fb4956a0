"""Workloads: traffic a scenario runs against its cluster while faults happen.

What lives here: `make_workload(ctx, spec, name)`, the table from ``kind`` to class. Each workload is in
its own module (``kv_register``, ``watch``, ``services``, ``events``, ``dns``) on `base.BaseWorkload`.

What must never live here: checks over what the workloads recorded (``checks/``).
"""

from __future__ import annotations

from ..context import RunContext
from ..schema_workloads import Dns, Events, KVRegister, Services, Watch, Workload
from .base import BaseWorkload
from .dns import DnsWorkload
from .events import EventsWorkload
from .kv_register import KVRegisterWorkload
from .services import ServicesWorkload
from .watch import WatchWorkload

_CLASSES: dict[type, type[BaseWorkload]] = {
    KVRegister: KVRegisterWorkload,
    Watch: WatchWorkload,
    Services: ServicesWorkload,
    Events: EventsWorkload,
    Dns: DnsWorkload,
}


def make_workload(ctx: RunContext, spec: Workload, name: str) -> BaseWorkload:
    return _CLASSES[type(spec)](ctx, spec, name)


__all__ = ["BaseWorkload", "KVRegisterWorkload", "make_workload"]
