"""Majority arithmetic: commit index from match indexes, and vote tallies.

What lives here: pure functions over plain mappings, small enough to check against a naive version
with Hypothesis (tests/raft/test_quorum.py).

What must never live here: state, roles, or knowledge of messages. Only voters count; a learner's
entries in the mappings are ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

VoteOutcome = Literal["won", "lost", "pending"]


def majority(n_voters: int) -> int:
    """Smallest number of voters that forms a quorum: floor(n/2) + 1."""
    return n_voters // 2 + 1


def committed_index(match: Mapping[str, int], voters: Collection[str]) -> int:
    """The largest index held by a majority of ``voters`` (a missing voter holds 0).

    Sorting the voters' match indexes in descending order, the entry at position floor(n/2) is
    held by that voter and every voter before it: floor(n/2) + 1 voters. No voters: 0.
    """
    n = len(voters)
    if n == 0:
        return 0
    ordered = sorted((match.get(v, 0) for v in voters), reverse=True)
    return ordered[n // 2]


def vote_result(votes: Mapping[str, bool], voters: Collection[str]) -> VoteOutcome:
    """``won`` once a majority granted, ``lost`` once a majority can no longer grant, else
    ``pending``. An empty voter set can elect nobody: ``lost``."""
    n = len(voters)
    if n == 0:
        return "lost"
    granted = sum(1 for v in voters if votes.get(v) is True)
    refused = sum(1 for v in voters if votes.get(v) is False)
    need = majority(n)
    if granted >= need:
        return "won"
    if n - refused < need:
        return "lost"
    return "pending"
