"""The WAN forwarder's pure parts: the circuit breaker, the server choice, the rewritten target and timeout."""

from __future__ import annotations

import random

from actors.config import WanForwarding
from actors.wan.breaker import CLOSED, HALF_OPEN, OPEN, Breaker, order_servers
from actors.wan.router import forward_timeout, strip_dc
from runtime.http import Request


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = Breaker(threshold=3, cooldown=5.0, clock=Clock())
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    breaker.success()  # a success resets the count
    for _ in range(2):
        breaker.failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.failure()
    assert breaker.state == OPEN and not breaker.allow()
    assert breaker.trips == 1


def test_breaker_half_open_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = Breaker(threshold=1, cooldown=5.0, clock=clock)
    breaker.failure()
    assert not breaker.allow()
    clock.now += 5.0
    assert breaker.state == HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # only one trial at a time
    breaker.failure()  # the trial failed: open again, for a new cooldown
    assert breaker.state == OPEN and not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED and breaker.allow() and breaker.allow()


def test_breaker_trip_opens_at_once_and_half_open_refuses_all_but_one() -> None:
    clock = Clock()
    breaker = Breaker(threshold=3, cooldown=5.0, clock=clock)
    breaker.trip()  # no server reachable at all: no need to wait for three failures
    assert breaker.state == OPEN and not breaker.allow() and breaker.trips == 1
    clock.now += 5.0
    assert [breaker.allow() for _ in range(4)] == [True, False, False, False]
    breaker.trip()  # the trial found it still unreachable: a new cooldown
    assert breaker.state == OPEN and breaker.trips == 2
    clock.now += 4.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED and breaker.failures == 0


def test_breaker_release_frees_the_trial() -> None:
    clock = Clock()
    breaker = Breaker(threshold=1, cooldown=1.0, clock=clock)
    breaker.failure()
    clock.now += 1.0
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()


def test_order_servers_puts_unreachable_last_and_is_random() -> None:
    servers = [("10.0.0.1", 8300), ("10.0.0.2", 8300), ("10.0.0.3", 8300)]
    down = {("10.0.0.1", 8300): 20.0}
    firsts = set()
    for seed in range(30):
        order = order_servers(servers, down, now=10.0, rng=random.Random(seed))
        assert sorted(order) == sorted(servers)
        assert order[-1] == ("10.0.0.1", 8300)
        firsts.add(order[0])
    assert firsts == {("10.0.0.2", 8300), ("10.0.0.3", 8300)}
    # Once the mark expires the server is a candidate like any other.
    assert any(order_servers(servers, down, now=30.0, rng=random.Random(s))[0] == ("10.0.0.1", 8300)
               for s in range(30))


def test_order_servers_limits_the_attempts() -> None:
    servers = [(f"10.0.0.{i}", 8300) for i in range(10)]
    assert len(order_servers(servers, {}, 0.0, random.Random(1), limit=3)) == 3
    assert order_servers([], {}, 0.0, random.Random(1)) == []


def test_strip_dc_keeps_everything_else() -> None:
    assert strip_dc("/v1/kv/a", "dc=dc2") == "/v1/kv/a"
    assert strip_dc("/v1/kv/a", "recurse&dc=dc2&index=5") == "/v1/kv/a?recurse&index=5"
    assert strip_dc("/v1/kv/a%2Fb", "d%63=dc2&dcx=1") == "/v1/kv/a%2Fb?dcx=1"
    assert strip_dc("/v1/kv/a", "") == "/v1/kv/a"


def test_forward_timeout_is_long_only_for_blocking_queries() -> None:
    plain = WanForwarding().request_timeout
    assert forward_timeout(Request("GET", "/v1/kv/a?dc=dc2&wait=1s")) == plain
    assert forward_timeout(Request("GET", "/v1/kv/a?dc=dc2&index=3&wait=16s")) == 16 + 1 + plain
    assert forward_timeout(Request("GET", "/v1/kv/a?index=3&wait=1h")) == 600 + 600 / 16 + plain
    assert forward_timeout(Request("GET", "/v1/kv/a?index=3")) == 300 + 300 / 16 + plain
    # The configured request timeout is the plain bound and the blocking margin.
    short = WanForwarding(request_timeout=2.0)
    assert forward_timeout(Request("GET", "/v1/kv/a"), short) == 2.0
    assert forward_timeout(Request("GET", "/v1/kv/a?index=3&wait=16s"), short) == 16 + 1 + 2.0
