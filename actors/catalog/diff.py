"""The anti-entropy plan: what to write so the catalog's view of this node matches the agent's.

Theory of operation
-------------------
The agent is authoritative for its own node (Consul's ``agent/local`` state sync). `plan` compares the
`Desired` view (built from the local state) with the `Remote` one (read from the catalog) and returns the
operations, in an order the store accepts: the node first if the catalog lacks it (or, on a full sync,
if its facts differ), then deregistrations (checks, then services), then service registrations, then
check registrations and status updates.

* A service or check in the catalog for this node that the agent does not have is deregistered, except
  the ``serfHealth`` check and the ``consul`` service, which the leader owns.
* A missing or different service is registered. With ``EnableTagOverride`` the catalog's tags are
  kept (tags changed on the servers survive; every other field is still reverted).
* A missing check, or one whose definition differs, is registered; one that differs only in status or
  output gets a cheaper `UpdateCheck`. Checks in ``deferred_output`` are compared without their output:
  an output-only change waits for Consul's ``check_update_interval``. A check's service name and tags
  are not compared: the store copies them from the service.
* ``scope`` limits a partial sync to the services and checks that changed locally; None is a full sync.
  A registered check whose service the catalog lacks brings its service along.

Identifiers are compared case-insensitively, as the catalog stores them.

What must never live here: IO, time, or the backend. This module is pure and fully table-tested.
"""

from __future__ import annotations

from typing import NamedTuple

from msgspec.structs import replace

from actors.state.models import SERF_CHECK_ID, HealthCheck, Node, NodeService
from actors.state.watch import fold

from .ops import (
    DeregisterCheck,
    DeregisterService,
    Op,
    RegisterCheck,
    RegisterNode,
    RegisterService,
    UpdateCheck,
)

LEADER_OWNED_SERVICES = frozenset({"consul"})
LEADER_OWNED_CHECKS = frozenset({fold(SERF_CHECK_ID)})


class Desired(NamedTuple):
    node: Node
    services: dict[str, NodeService]
    checks: dict[str, HealthCheck]


class Remote(NamedTuple):
    node: Node | None
    services: dict[str, NodeService]
    checks: dict[str, HealthCheck]


class Scope(NamedTuple):
    """The local IDs that changed since the last successful sync (a partial sync looks at these only)."""

    services: frozenset[str]
    checks: frozenset[str]


def _bare(record: NodeService | HealthCheck | Node) -> object:
    return replace(record, create_index=0, modify_index=0)


def _bare_check(check: HealthCheck, without_output: bool) -> HealthCheck:
    return replace(check, create_index=0, modify_index=0, service_name="", service_tags=[],
                   output="" if without_output else check.output)


def _by_fold(records: dict[str, NodeService] | dict[str, HealthCheck]) -> dict[str, object]:
    return {fold(k): v for k, v in records.items()}


def plan(desired: Desired, remote: Remote, *, scope: Scope | None = None,
         deferred_output: frozenset[str] = frozenset()) -> list[Op]:
    full = scope is None
    service_scope = None if scope is None else {fold(s) for s in scope.services}
    check_scope = None if scope is None else {fold(c) for c in scope.checks}

    def in_services(key: str) -> bool:
        return service_scope is None or key in service_scope

    def in_checks(key: str) -> bool:
        return check_scope is None or key in check_scope

    want_services: dict[str, NodeService] = _by_fold(desired.services)  # type: ignore[assignment]
    have_services: dict[str, NodeService] = _by_fold(remote.services)  # type: ignore[assignment]
    want_checks: dict[str, HealthCheck] = _by_fold(desired.checks)  # type: ignore[assignment]
    have_checks: dict[str, HealthCheck] = _by_fold(remote.checks)  # type: ignore[assignment]
    deferred = {fold(c) for c in deferred_output}

    node_ops: list[Op] = []
    if remote.node is None or (full and _bare(remote.node) != _bare(desired.node)):
        node_ops.append(RegisterNode())

    drop_services = [
        key for key in sorted(have_services)
        if key not in want_services and key not in LEADER_OWNED_SERVICES and in_services(key)
    ]
    dropped = set(drop_services)
    drop_checks = [
        key for key in sorted(have_checks)
        if key not in want_checks and key not in LEADER_OWNED_CHECKS and in_checks(key)
        and fold(have_checks[key].service_id) not in dropped
    ]

    put_services: dict[str, NodeService] = {}
    for key in sorted(want_services):
        if not in_services(key):
            continue
        want, have = want_services[key], have_services.get(key)
        if have is not None and want.enable_tag_override:
            want = replace(want, tags=list(have.tags))
        if have is None or _bare(have) != _bare(want):
            put_services[key] = want

    check_ops: list[Op] = []
    for key in sorted(want_checks):
        if not in_checks(key):
            continue
        want, have = want_checks[key], have_checks.get(key)
        hold = key in deferred
        if have is not None and _bare_check(have, hold) == _bare_check(want, hold):
            continue
        if have is not None and _bare_check(replace(have, status=want.status, output=want.output), False) \
                == _bare_check(want, False):
            check_ops.append(UpdateCheck(want.check_id, want.status, want.output))
            continue
        service_key = fold(want.service_id)
        if want.service_id and service_key not in have_services and service_key not in put_services \
                and service_key in want_services:
            put_services[service_key] = want_services[service_key]
        check_ops.append(RegisterCheck(want))

    return [
        *node_ops,
        *(DeregisterCheck(have_checks[key].check_id) for key in drop_checks),
        *(DeregisterService(have_services[key].id) for key in drop_services),
        *(RegisterService(svc) for _, svc in sorted(put_services.items())),
        *check_ops,
    ]
