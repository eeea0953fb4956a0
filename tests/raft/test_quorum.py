"""Majority arithmetic, by table and against deliberately naive versions (Hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.raft.quorum import committed_index, majority, vote_result


def naive_committed(match: dict[str, int], voters: list[str]) -> int:
    """Try every candidate index; keep the largest one more than half of the voters hold."""
    if not voters:
        return 0
    best = 0
    for candidate in {0, *match.values()}:
        holders = sum(1 for v in voters if match.get(v, 0) >= candidate)
        if holders * 2 > len(voters):
            best = max(best, candidate)
    return best


def naive_vote(votes: dict[str, bool], voters: list[str]) -> str:
    """Enumerate every way the missing votes could go."""
    if not voters:
        return "lost"
    missing = [v for v in voters if v not in votes]
    outcomes = set()
    for mask in range(2 ** len(missing)):
        filled = dict(votes)
        for bit, v in enumerate(missing):
            filled[v] = bool(mask >> bit & 1)
        yes = sum(1 for v in voters if filled[v])
        outcomes.add(yes * 2 > len(voters))
    if outcomes == {True}:
        return "won"
    if outcomes == {False}:
        return "lost"
    return "pending"


def test_majority_sizes() -> None:
    assert [majority(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


def test_committed_index_table() -> None:
    assert committed_index({"a": 5, "b": 4, "c": 1}, ["a", "b", "c"]) == 4
    assert committed_index({"a": 5, "b": 1, "c": 1}, ["a", "b", "c"]) == 1
    assert committed_index({"a": 5, "b": 4, "c": 3, "d": 1}, ["a", "b", "c", "d"]) == 3
    assert committed_index({"a": 7}, ["a"]) == 7
    assert committed_index({"a": 7, "learner": 9}, ["a", "b", "c"]) == 0
    assert committed_index({}, []) == 0


def test_vote_result_table() -> None:
    voters = ["a", "b", "c"]
    assert vote_result({"a": True}, voters) == "pending"
    assert vote_result({"a": True, "b": True}, voters) == "won"
    assert vote_result({"a": True, "b": False}, voters) == "pending"
    assert vote_result({"a": True, "b": False, "c": False}, voters) == "lost"
    assert vote_result({"a": True, "x": True}, voters) == "pending"  # non-voters do not count
    assert vote_result({"a": True}, ["a"]) == "won"
    assert vote_result({}, []) == "lost"


names = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])


@given(
    voters=st.lists(names, unique=True, max_size=7),
    match=st.dictionaries(names, st.integers(min_value=0, max_value=20)),
)
def test_committed_index_matches_naive(voters: list[str], match: dict[str, int]) -> None:
    assert committed_index(match, voters) == naive_committed(match, voters)


@given(
    voters=st.lists(names, unique=True, max_size=7),
    votes=st.dictionaries(names, st.booleans()),
)
def test_vote_result_matches_naive(voters: list[str], votes: dict[str, bool]) -> None:
    assert vote_result(votes, voters) == naive_vote(votes, voters)
