"""Typed errors the Raft core raises at its local API (propose, conf change, transfer).

What lives here: small exception classes carrying data (a leader hint, a reason) so the shell can
turn them into `runtime.messages.Error` boxes or redirects without parsing strings.

What must never live here: errors for network input. `RaftCore.step` never raises on a peer message;
bad or stale messages are dropped. An `AssertionError` from the core means a broken invariant and
must stop the node (fail-stop), never be retried.
"""

from __future__ import annotations


class RaftError(Exception):
    """Base of every error the core raises on purpose."""


class NotLeader(RaftError):
    """This server is not the leader. ``leader_hint`` is the leader it last heard from, or None."""

    def __init__(self, leader_hint: str | None) -> None:
        super().__init__(f"not the leader (leader hint: {leader_hint or 'unknown'})")
        self.leader_hint = leader_hint


class ProposalDropped(RaftError):
    """The leader refused the proposal for now (transfer in progress, config change pending, leader
    not yet settled in its term). Retrying later, possibly at another leader, is correct."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidConfChange(RaftError):
    """The membership change makes no sense against the current configuration."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransferRefused(RaftError):
    """Leadership cannot be transferred to that server (not a voter of the current configuration)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
