"""Serf queries, sans-IO: de-duplicating what arrives, and collecting the answers to what we sent.

What lives here: `query_timeout` (Serf's ``GossipInterval * QueryTimeoutMult * ceil(log10(N + 1))``),
`SeenQueries` (the last ``size`` query ids, so a query gossiped back to us is handled once) and
`QueryTracker` with `QueryResult`: one pending query per id, complete when every member expected to
answer has answered, or at its deadline with whatever arrived.

What must never live here: what a query does when handled (``serf_core``), clocks, or IO.
"""

from __future__ import annotations

import math

import msgspec

QUERY_TIMEOUT_MULT = 16  # Serf QueryTimeoutMult
QUERY_BUFFER = 512  # Serf QueryBuffer


def query_timeout(gossip_interval: float, n: int, mult: int = QUERY_TIMEOUT_MULT) -> float:
    return gossip_interval * mult * math.ceil(math.log10(max(1, n) + 1))


class QueryResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answers to one query by member name, and how many members were asked."""

    id: int
    name: str
    responses: dict[str, bytes]
    expected: int
    timed_out: bool


class SeenQueries:
    """Recently handled (ltime, id) pairs, oldest forgotten first."""

    def __init__(self, size: int = QUERY_BUFFER) -> None:
        self.size = size
        self._seen: dict[tuple[int, int], None] = {}

    def first_time(self, ltime: int, qid: int) -> bool:
        key = (ltime, qid)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self.size:
            del self._seen[next(iter(self._seen))]
        return True


class _Pending:
    __slots__ = ("name", "expected", "responses", "deadline")

    def __init__(self, name: str, expected: set[str], deadline: float) -> None:
        self.name = name
        self.expected = expected
        self.responses: dict[str, bytes] = {}
        self.deadline = deadline


class QueryTracker:
    """Queries we sent and their answers so far."""

    def __init__(self) -> None:
        self._pending: dict[int, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def start(self, qid: int, name: str, expected: set[str], deadline: float) -> None:
        self._pending[qid] = _Pending(name, set(expected), deadline)

    def answer(self, qid: int, member: str, payload: bytes) -> QueryResult | None:
        """Record an answer; the result once every expected member has answered."""
        pending = self._pending.get(qid)
        if pending is None or member in pending.responses:
            return None
        pending.responses[member] = payload
        if pending.expected <= set(pending.responses):
            del self._pending[qid]
            return self._result(qid, pending, timed_out=False)
        return None

    def expire(self, now: float) -> list[QueryResult]:
        done = [qid for qid, p in self._pending.items() if p.deadline <= now]
        return [self._result(qid, self._pending.pop(qid), timed_out=True) for qid in done]

    def deadline(self) -> float | None:
        return min((p.deadline for p in self._pending.values()), default=None)

    @staticmethod
    def _result(qid: int, pending: _Pending, *, timed_out: bool) -> QueryResult:
        return QueryResult(id=qid, name=pending.name, responses=dict(pending.responses),
                           expected=len(pending.expected), timed_out=timed_out)
