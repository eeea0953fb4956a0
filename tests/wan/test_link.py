"""`DcLink.forward`: which server is tried, when another one is, how long each failure takes, and how
failures feed the breaker. The RPC client is a fake; timing tests run on Trio's autojump `MockClock`, so
a "10 s" wait costs nothing and every bound asserted is exact virtual time.

The fake client models the network: a server's dial can succeed, be refused, or hang (a blackholed SYN);
a sent request can be answered, fail, or hang (a cut route, or a silent long poll); a route check
(`RpcClient.probe`) can succeed, be refused, or hang until its timeout. ``drop`` wakes the requests
hanging on that connection with `RpcConnectionLost`, as the real client does.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import trio

from actors.config import WanForwarding
from actors.forward.messages import HttpAnswer, HttpCall
from actors.wan.breaker import CLOSED, OPEN, Breaker
from actors.wan.link import DcLink, ForwardFailed, NoPath
from runtime.messages import Error
from runtime.transport.errors import RpcConnectionLost, RpcRemoteError, RpcTimeout, RpcUnreachable

A, B = ("127.0.0.1", 1), ("127.0.0.1", 2)
CALL = HttpCall(method="GET", target="/v1/kv/x")
OK = HttpAnswer(status=200, body=b"[]")
HANG = "hang"
SETTINGS = WanForwarding()  # connect 1 s, request 10 s, route check after 0.5 s then every 5 s, 3 failures


class FakeClient:
    def __init__(self, calls: dict[tuple[str, int], Any], *, dials: dict[tuple[str, int], Any] | None = None,
                 probes: dict[tuple[str, int], Any] | None = None) -> None:
        self.calls = calls  # address -> answer, exception or HANG
        self.dials = dials or {}  # address -> None (connects), exception or HANG
        self.probes = probes or {}  # address -> None (route works), exception or HANG
        self.tried: list[tuple[str, int]] = []
        self.dialed: list[tuple[str, int]] = []
        self.probed: list[tuple[tuple[str, int], float]] = []
        self.dropped: list[tuple[str, int]] = []
        self._drops: dict[tuple[str, int], trio.Event] = {}

    async def connect(self, address: tuple[str, int]) -> None:
        self.dialed.append(address)
        outcome = self.dials.get(address)
        if outcome == HANG:
            await trio.sleep_forever()
        if isinstance(outcome, Exception):
            raise outcome

    async def call(self, address: tuple[str, int], request: Any, timeout: float) -> Any:
        self.tried.append(address)
        outcome = self.calls[address]
        if outcome == HANG:
            dropped = self._drops.setdefault(address, trio.Event())
            with trio.move_on_after(timeout):
                await dropped.wait()
                raise RpcConnectionLost(f"connection to {address} lost: dropped")
            raise RpcTimeout(f"no reply within {timeout:g}s")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def probe(self, address: tuple[str, int], timeout: float | None = None) -> None:
        self.probed.append((address, trio.current_time()))
        outcome = self.probes.get(address)
        if outcome == HANG:
            await trio.sleep(timeout or 1.0)
            raise RpcUnreachable("connect timed out")
        if callable(outcome):
            outcome = outcome()
        if isinstance(outcome, Exception):
            raise outcome

    def heard_since(self, address: tuple[str, int], since: float) -> bool:
        return False

    def drop(self, address: tuple[str, int], reason: str) -> bool:
        self.dropped.append(address)
        self._drops.pop(address, trio.Event()).set()
        return True

    def statistics(self) -> dict[str, Any]:
        return {"connections": [], "timeouts": 0, "unreachable": 0, "probes": len(self.probed)}


def link_with(calls: dict[tuple[str, int], Any], threshold: int = 3, **fake: Any) -> tuple[DcLink, FakeClient]:
    link = DcLink(dc="dc2", node="s1", local_dc="dc1", rng=random.Random(7),
                  breaker=Breaker(threshold=threshold, cooldown=SETTINGS.breaker_cooldown, clock=trio.current_time))
    client = FakeClient(calls, **fake)
    link.client = client  # type: ignore[assignment]
    return link, client


async def timed(link: DcLink, servers: list[tuple[str, int]], timeout: float = SETTINGS.request_timeout,
                **kw: Any) -> tuple[float, Any]:
    """(virtual seconds taken, the answer or the exception raised) of one forward."""
    started = trio.current_time()
    try:
        outcome: Any = await link.forward(CALL, servers, timeout, **kw)
    except (NoPath, ForwardFailed) as exc:
        outcome = exc
    return trio.current_time() - started, outcome


# -- which server, and never twice --------------------------------------------------------------------


async def test_unreachable_server_is_skipped_and_marked_down() -> None:
    link, fake = link_with({A: OK, B: OK}, dials={A: RpcUnreachable("refused")})
    for _ in range(5):
        assert await link.forward(CALL, [A, B], 1.0) is OK
    assert fake.dialed.count(A) == 1 and A not in fake.tried  # tried once, then last for a while
    assert link.last_rtt is not None and link.errors == 0
    assert link.statistics()["breaker"] == "closed"


async def test_a_request_that_may_have_been_delivered_is_not_resent() -> None:
    link, fake = link_with({A: RpcConnectionLost("lost"), B: RpcConnectionLost("lost")})
    with pytest.raises(ForwardFailed, match="lost") as info:
        await link.forward(CALL, [A, B], 1.0)
    assert info.value.kind == "lost" and len(fake.tried) == 1
    link, fake = link_with({A: RpcTimeout("slow"), B: RpcTimeout("slow")})
    with pytest.raises(ForwardFailed, match="timeout"):
        await link.forward(CALL, [A, B], 1.0)
    assert len(fake.tried) == 1


async def test_remote_errors_come_back_and_do_not_count_against_the_path() -> None:
    answer = HttpAnswer(status=500, body=b"No cluster leader")
    link, _ = link_with({A: answer})
    assert await link.forward(CALL, [A], 1.0) is answer
    assert link.breaker.failures == 0
    boom = RpcRemoteError(Error(origin_node="t1", origin_dc="dc2", kind="X", message="boom"))
    link, _ = link_with({A: boom}, threshold=1)
    with pytest.raises(ForwardFailed, match="boom"):
        await link.forward(CALL, [A], 1.0)
    assert link.breaker.state == CLOSED  # an answer came back: the datacenter is reachable


# -- a dead or cut datacenter fails fast ----------------------------------------------------------------


async def test_no_reachable_server_opens_the_breaker_at_once_then_requests_fail_without_trying(
        autojump_clock: trio.testing.MockClock) -> None:
    link, fake = link_with({A: OK, B: OK}, dials={A: RpcUnreachable("refused"), B: RpcUnreachable("refused")})
    took, outcome = await timed(link, [A, B])
    assert isinstance(outcome, NoPath) and took == 0
    assert link.breaker.state == OPEN  # one request that reached no server is enough
    dialed = len(fake.dialed)
    for _ in range(10):
        took, outcome = await timed(link, [A, B])
        assert isinstance(outcome, NoPath) and "circuit open" in str(outcome) and took == 0
    assert len(fake.dialed) == dialed
    took, outcome = await timed(link, [])
    assert isinstance(outcome, NoPath)
    stats = link.statistics()
    assert stats["errors"] == 12 and stats["refused"] == 11 and stats["breaker"] == OPEN


async def test_dialing_is_bounded_by_the_connect_timeout_over_all_servers(
        autojump_clock: trio.testing.MockClock) -> None:
    # Blackholed SYNs: every dial hangs. One request spends at most connect_timeout finding a server.
    link, fake = link_with({A: OK, B: OK}, dials={A: HANG, B: HANG})
    took, outcome = await timed(link, [A, B])
    assert isinstance(outcome, NoPath) and "wan.connect_timeout" in str(outcome)
    assert took == pytest.approx(SETTINGS.connect_timeout)
    assert link.breaker.state == OPEN and fake.tried == []


async def test_a_request_on_a_cut_route_fails_at_the_route_check_not_its_timeout(
        autojump_clock: trio.testing.MockClock) -> None:
    # The connection was open before the cut: the request goes out and nothing comes back. The route
    # check (a fresh dial) is refused, as the fault table refuses a partitioned peer.
    link, fake = link_with({A: HANG}, probes={A: RpcUnreachable("s1 -> t1 is partitioned by the fault table")})
    took, outcome = await timed(link, [A])
    assert isinstance(outcome, ForwardFailed) and outcome.kind == "route", outcome
    assert took == pytest.approx(SETTINGS.route_check_after)
    assert fake.dropped == [A]  # the dead connection is closed; the next request dials afresh
    assert link.breaker.state == OPEN  # its only server is down: no path
    took, outcome = await timed(link, [A])
    assert isinstance(outcome, NoPath) and took == 0
    assert link.statistics()["route_failures"] == 1


async def test_a_blackholed_route_fails_within_check_plus_connect_timeout(
        autojump_clock: trio.testing.MockClock) -> None:
    link, fake = link_with({A: HANG}, probes={A: HANG})
    took, outcome = await timed(link, [A])
    assert isinstance(outcome, ForwardFailed) and outcome.kind == "route"
    assert took == pytest.approx(SETTINGS.route_check_after + SETTINGS.connect_timeout)
    assert took < 2.0


async def test_requests_waiting_on_one_server_share_one_route_check(autojump_clock: trio.testing.MockClock) -> None:
    link, fake = link_with({A: HANG}, probes={A: HANG})
    results: list[tuple[float, Any]] = []

    async def one() -> None:
        results.append(await timed(link, [A]))

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(one)
    assert len(fake.probed) == 1
    assert all(isinstance(o, ForwardFailed) and t <= SETTINGS.route_check_after + SETTINGS.connect_timeout
               for t, o in results), results


async def test_a_slow_but_reachable_server_gets_the_whole_request_timeout(
        autojump_clock: trio.testing.MockClock) -> None:
    link, fake = link_with({A: HANG})  # route checks succeed: the server is there, just silent
    took, outcome = await timed(link, [A])
    assert isinstance(outcome, ForwardFailed) and outcome.kind == "timeout"
    assert took == pytest.approx(SETTINGS.request_timeout)
    assert len(fake.probed) == 1  # a plain request's route is checked once
    assert link.breaker.state == CLOSED and link.breaker.failures == 1  # counted at once, not yet open
    for _ in range(2):
        await timed(link, [A])
    assert link.breaker.state == OPEN


async def test_half_open_lets_one_trial_out_and_refuses_the_others_at_once(
        autojump_clock: trio.testing.MockClock) -> None:
    link, fake = link_with({A: OK}, dials={A: RpcUnreachable("refused")})
    await timed(link, [A])
    assert link.breaker.state == OPEN
    await trio.sleep(SETTINGS.breaker_cooldown)
    fake.dials[A] = HANG  # still cut, now blackholed: the trial waits out its dial bound
    results: list[tuple[float, Any]] = []

    async def one() -> None:
        results.append(await timed(link, [A]))

    async with trio.open_nursery() as nursery:
        for _ in range(6):
            nursery.start_soon(one)
    quick = [t for t, o in results if t == 0]
    assert len(quick) == 5 and all(isinstance(o, NoPath) for _, o in results)
    assert max(t for t, _ in results) == pytest.approx(SETTINGS.connect_timeout)
    assert link.breaker.state == OPEN
    # Healed: after the next cooldown one trial goes out, succeeds, and closes the breaker.
    await trio.sleep(SETTINGS.breaker_cooldown)
    fake.dials[A] = None
    took, outcome = await timed(link, [A])
    assert outcome is OK and link.breaker.state == CLOSED


# -- blocking queries: silence is not failure, a dead route is --------------------------------------------


async def test_a_long_poll_waits_its_whole_wait_while_its_route_works(autojump_clock: trio.testing.MockClock) -> None:
    link, fake = link_with({A: HANG})
    took, outcome = await timed(link, [A], timeout=30.0, long_poll=True)
    assert isinstance(outcome, ForwardFailed) and took == pytest.approx(30.0)  # the fake's "remote" never answers
    # Checked after 0.5 s, then every 5 s: at most one dial per interval, never a failure.
    assert 5 <= len(fake.probed) <= 7 and fake.dropped == [A]  # dropped only at the timeout: nothing heard


async def test_a_long_poll_ends_soon_after_its_route_dies(autojump_clock: trio.testing.MockClock) -> None:
    cut_at = 12.0

    def route() -> Exception | None:
        return RpcUnreachable("partitioned") if trio.current_time() >= cut_at else None

    link, fake = link_with({A: HANG}, probes={A: route})
    started = trio.current_time()
    cut_at += started
    took, outcome = await timed(link, [A], timeout=30.0, long_poll=True)
    assert isinstance(outcome, ForwardFailed) and outcome.kind == "route"
    assert cut_at - started < took <= cut_at - started + SETTINGS.route_check_interval + SETTINGS.connect_timeout
