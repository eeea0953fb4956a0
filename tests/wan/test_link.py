"""`DcLink.forward`: which server is tried, when another one is, and how failures feed the breaker."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.forward.messages import HttpAnswer, HttpCall
from actors.wan.breaker import OPEN, Breaker
from actors.wan.link import DcLink, ForwardFailed, NoPath
from runtime.messages import Error
from runtime.transport.errors import RpcRemoteError, RpcTimeout, RpcUnreachable

A, B = ("127.0.0.1", 1), ("127.0.0.1", 2)
CALL = HttpCall(method="GET", target="/v1/kv/x")


class FakeClient:
    def __init__(self, outcomes: dict[tuple[str, int], Any]) -> None:
        self.outcomes = outcomes
        self.tried: list[tuple[str, int]] = []

    async def call(self, address: tuple[str, int], request: Any, timeout: float) -> Any:
        self.tried.append(address)
        outcome = self.outcomes[address]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def statistics(self) -> dict[str, Any]:
        return {"connections": [], "timeouts": 0, "unreachable": 0}


def link_with(outcomes: dict[tuple[str, int], Any], threshold: int = 3) -> tuple[DcLink, FakeClient]:
    link = DcLink(dc="dc2", node="s1", local_dc="dc1", rng=random.Random(7), breaker=Breaker(threshold=threshold))
    fake = FakeClient(outcomes)
    link.client = fake  # type: ignore[assignment]
    return link, fake


async def test_unreachable_server_is_skipped_and_marked_down() -> None:
    ok = HttpAnswer(status=200, body=b"[]")
    link, fake = link_with({A: RpcUnreachable("refused"), B: ok})
    for _ in range(5):
        assert await link.forward(CALL, [A, B], 1.0) is ok
    assert fake.tried.count(A) == 1  # tried once, then last for a while
    assert link.last_rtt is not None and link.errors == 0
    assert link.statistics()["breaker"] == "closed"


async def test_a_request_that_may_have_been_delivered_is_not_resent() -> None:
    link, fake = link_with({A: RpcTimeout("slow"), B: RpcTimeout("slow")})
    with pytest.raises(ForwardFailed, match="timeout"):
        await link.forward(CALL, [A, B], 1.0)
    assert len(fake.tried) == 1
    link, fake = link_with({A: RpcRemoteError(Error(origin_node="t1", origin_dc="dc2", kind="X", message="boom"))})
    with pytest.raises(ForwardFailed, match="boom"):
        await link.forward(CALL, [A], 1.0)


async def test_remote_http_errors_come_back_unchanged() -> None:
    answer = HttpAnswer(status=500, body=b"No cluster leader")
    link, _ = link_with({A: answer})
    assert await link.forward(CALL, [A], 1.0) is answer
    assert link.breaker.failures == 0


async def test_dead_datacenter_opens_the_breaker_then_fails_without_trying() -> None:
    link, fake = link_with({A: RpcUnreachable("refused"), B: RpcUnreachable("refused")}, threshold=2)
    for _ in range(2):
        with pytest.raises(NoPath):
            await link.forward(CALL, [A, B], 1.0)
    assert link.breaker.state == OPEN
    tried = len(fake.tried)
    with pytest.raises(NoPath, match="circuit open"):
        await link.forward(CALL, [A, B], 1.0)
    assert len(fake.tried) == tried
    with pytest.raises(NoPath):
        await link.forward(CALL, [], 1.0)
    assert link.statistics()["errors"] == 4
