"""Pure parts around the local state: its tables and change kinds, views, alias, reaping, sync timing."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from actors.catalog.timing import full_sync_delay, scale_factor
from actors.health.alias import alias_result
from actors.health.checker import ttl_expired_output
from actors.health.reap import services_to_reap
from actors.local.local_agent import truncate_output
from actors.local.maintenance import node_maintenance_check
from actors.local.records import CheckSpec, LocalCheck, LocalService
from actors.local.state import Change, LocalState
from actors.local.views import agent_service, aggregated_status

WEB = LocalService(id="web", name="web")


def ttl_check(cid: str = "t", **kw: Any) -> LocalCheck:
    return LocalCheck(id=cid, name=cid, service_id="web", type="ttl", spec=CheckSpec(ttl=10), **kw)


def test_changes_are_reported_by_kind() -> None:
    state, seen = LocalState(), []
    state.subscribe(seen.append)
    state.put_service(WEB, [ttl_check()], now=0)
    state.update_status("t", "passing", "ok", now=1)
    state.update_ttl("t", "passing", "ok", now=2)
    state.remove_service("web")
    assert seen == [Change("service", "web"), Change("check", "t"), Change("status", "t"), Change("ttl", "t"),
                    Change("check", "t"), Change("service", "web")]
    assert state.checks == {} and state.marks == {}


def test_output_only_changes_are_deferred_and_status_changes_are_not() -> None:
    state = LocalState(check_update_interval=300, rng=random.Random(1))
    state.put_service(WEB, [ttl_check()], now=0)
    state.update_status("t", "passing", "one", now=10)
    assert state.deferred(10) == frozenset()
    state.update_status("t", "passing", "two", now=20)
    end = state.next_deferral_end()
    assert end is not None and 20 + 150 <= end <= 20 + 450
    assert state.deferred(21) == {"t"} and state.check("t").output == "two"
    assert state.expire_deferrals(end - 1) == [] and state.expire_deferrals(end) == ["t"]
    state.update_status("t", "passing", "three", now=end + 1)
    state.update_status("t", "critical", "down", now=end + 2)  # a status change ends the deferral at once
    assert state.deferred(end + 3) == frozenset() and state.check("t").status == "critical"


def test_reregistering_keeps_status_unless_given_and_can_replace_checks() -> None:
    state = LocalState()
    state.put_service(WEB, [ttl_check("a"), ttl_check("b")], now=0)
    state.update_status("a", "passing", "fine", now=1)
    state.put_service(WEB, [ttl_check("a")], now=2)
    assert state.check("a").status == "passing" and state.check("b") is not None
    state.put_service(WEB, [ttl_check("a", status="warning", initial_status="warning")], now=3, replace_checks=True)
    assert state.check("a").status == "warning" and state.check("b") is None


def test_critical_since_tracks_the_start_of_the_critical_streak() -> None:
    state = LocalState()
    state.put_service(WEB, [ttl_check()], now=5)
    assert state.marks["t"].critical_since == 5
    state.update_status("t", "critical", "still", now=9)
    assert state.marks["t"].critical_since == 5
    state.update_status("t", "passing", "", now=10)
    assert state.marks["t"].critical_since is None


def test_agent_service_view_is_consuls_exact_shape() -> None:
    doc = msgspec.to_builtins(agent_service(LocalService(id="foo", name="foo"), "dc1"))
    assert doc == {"ID": "foo", "Service": "foo", "Tags": [], "Meta": {}, "Port": 0, "Address": "",
                   "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": False, "Datacenter": "dc1"}
    proxy = msgspec.to_builtins(agent_service(LocalService(id="p", name="p", kind="connect-proxy"), "dc1"))
    assert proxy["Kind"] == "connect-proxy" and proxy["Proxy"] == {}


@pytest.mark.parametrize(
    ("statuses", "aggregate"),
    [([], "passing"), (["passing"], "passing"), (["passing", "warning"], "warning"),
     (["warning", "critical", "passing"], "critical")],
)
def test_aggregated_status(statuses: list[str], aggregate: str) -> None:
    checks = [LocalCheck(id=str(i), name="", status=s) for i, s in enumerate(statuses)]
    assert aggregated_status(checks) == aggregate
    assert aggregated_status(checks + [node_maintenance_check("")]) == "maintenance"


class C(msgspec.Struct):
    name: str
    status: str
    output: str = ""
    service_id: str = ""


@pytest.mark.parametrize(
    ("checks", "service", "exists", "expected"),
    [
        ([], "web", True, ("passing", "No checks found.")),
        ([C("a", "passing", service_id="web")], "web", True, ("passing", "All checks passing.")),
        ([C("a", "warning", "meh", "web"), C("b", "passing", service_id="web")], "web", True,
         ("warning", 'Aliased check "a" failing: meh')),
        ([C("a", "warning", "meh", "web"), C("b", "critical", "down", "web")], "web", True,
         ("critical", 'Aliased check "b" failing: down')),
        ([C("other", "critical", "x", "db"), C("a", "passing", service_id="web")], "web", True,
         ("passing", "All checks passing.")),
        ([C("node", "critical", "disk full")], "web", True, ("critical", 'Aliased check "node" failing: disk full')),
        ([], "ghost", False, ("critical", "Service ghost could not be found on node n1")),
    ],
)
def test_alias_table(checks: list[C], service: str, exists: bool, expected: tuple[str, str]) -> None:
    assert tuple(alias_result(checks, service, exists, "n1")) == expected


def test_reap_rule_has_a_one_minute_floor() -> None:
    state = LocalState()
    spec = CheckSpec(ttl=1, deregister_critical_service_after=10)
    state.put_service(WEB, [LocalCheck(id="t", name="t", service_id="web", spec=spec)], now=0)
    state.put_service(LocalService(id="db", name="db"), [LocalCheck(id="d", name="d", service_id="db",
                                                                     spec=CheckSpec(ttl=1))], now=0)
    checks = list(state.checks.values())
    assert services_to_reap(checks, state.marks, now=30, minimum=60) == []
    assert services_to_reap(checks, state.marks, now=61, minimum=60) == ["web"]
    state.update_status("t", "passing", "", now=62)
    assert services_to_reap(list(state.checks.values()), state.marks, now=200, minimum=60) == []


@pytest.mark.parametrize(("nodes", "factor"), [(1, 1), (128, 1), (129, 2), (256, 2), (257, 3), (1024, 4), (8192, 7)])
def test_anti_entropy_scale_factor(nodes: int, factor: int) -> None:
    assert scale_factor(nodes) == factor


def test_full_sync_delay_is_interval_plus_scaled_stagger() -> None:
    rng = random.Random(3)
    delays = [full_sync_delay(60, 300, rng) for _ in range(200)]
    assert all(60 <= d <= 60 + 3 * 60 for d in delays) and max(delays) > 150


def test_outputs() -> None:
    assert ttl_expired_output("") == "TTL expired"
    assert ttl_expired_output("last words") == "TTL expired (last output before timeout follows): last words"
    assert truncate_output("abcdef", 4) == "abcd ... (captured 4 of 6 bytes)"
    assert truncate_output("abc", 4) == "abc"
