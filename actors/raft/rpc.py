"""Server-to-server RPC messages of the Raft subsystem (carried on the server port as protocol "rpc").

What lives here: the requests a follower sends its leader and their answers: `ForwardWrite` (a state
command, msgpack-encoded, to be stamped and proposed by the leader; the answer is the index it was
applied at, so the follower reads the result from its own replica once it has applied that index —
the state machine is deterministic, so both replicas computed the same result), and `LeaderCommit`
(for ``default``-consistency reads on a follower: the leader's commit index, so the follower can wait
until it has caught up to the leader's state).

What must never live here: behaviour. Tags are wire format: add, never rename.
"""

from __future__ import annotations

from runtime.messages import Message


class ForwardWrite(Message, tag="raft.rpc.forward_write"):
    command: bytes


class ForwardResult(Message, tag="raft.rpc.forward_result"):
    index: int


class LeaderCommit(Message, tag="raft.rpc.leader_commit"):
    pass


class LeaderCommitResult(Message, tag="raft.rpc.leader_commit_result"):
    index: int


class MembershipChange(Message, tag="raft.rpc.membership"):
    """Ask the leader to change the configuration (``op``: add_voter, add_learner, remove)."""

    op: str
    node: str


class TransferLeadership(Message, tag="raft.rpc.transfer"):
    """Ask the leader to hand leadership to ``to`` (empty: the most up-to-date other voter)."""

    to: str = ""


class Done(Message, tag="raft.rpc.done"):
    index: int = 0


RaftRpcRequest = ForwardWrite | LeaderCommit | MembershipChange | TransferLeadership
RaftRpcResponse = ForwardResult | LeaderCommitResult | Done
