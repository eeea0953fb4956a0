"""The state-store commands of the ACL system: bootstrap, built-ins, token and policy writes.

What lives here: one tagged `StateCommand` per ACL intent (tags are wire format: add, never rename).
As for every command, whatever is not deterministic is decided before proposing: accessor and secret
IDs and policy IDs are drawn at the API edge, and the creation time of a token is the leader's
``now_ns``. The `Command` union and the codec in ``commands`` include these.

Results (``Applied.value``): the stored `ACLToken` for `ACLBootstrap` / `ACLTokenSet`, the stored
`ACLPolicy` for `ACLPolicySet`, ``True`` for the deletes and `ACLInitBuiltins`, and the number of tokens
deleted for `ACLTokenReap`.

What must never live here: validation or behaviour (``acl_tables`` decides what a command means).
"""

from __future__ import annotations

from .acl_models import ACLPolicy
from .command_base import StateCommand


class ACLBootstrap(StateCommand, tag="state.acl_bootstrap"):
    """``PUT /v1/acl/bootstrap``: create the first management token, once.

    ``reset_index`` is what the operator wrote to ``acl-bootstrap-reset`` (0: none); it must equal the
    index of the previous bootstrap for a second one to be accepted. Also creates the built-ins if the
    leader has not yet done so.
    """

    accessor_id: str
    secret_id: str
    reset_index: int = 0


class ACLInitBuiltins(StateCommand, tag="state.acl_init_builtins"):
    """What a new leader proposes: the ``global-management`` policy and the anonymous token, if
    missing, and the configured ``initial_management`` token if its secret is not in use yet (which
    also marks the cluster bootstrapped when it was not). Idempotent."""

    initial_management_accessor: str = ""
    initial_management_secret: str = ""


class ACLTokenSet(StateCommand, tag="state.acl_token_set"):
    """Create (``create``) or update a token. Policy links are IDs (names resolved by the API).

    On create, ``now_ns`` becomes the CreateTime and ``expiration_ttl_ns`` (if any) sets the
    ExpirationTime relative to it. On update, an empty ``secret_id`` keeps the stored one; CreateTime,
    ExpirationTime and Local never change.
    """

    accessor_id: str
    secret_id: str = ""
    description: str = ""
    policies: list[str] = []
    local: bool = False
    expiration_time_ns: int = 0
    expiration_ttl_ns: int = 0
    create: bool = True


class ACLTokenDelete(StateCommand, tag="state.acl_token_delete"):
    """Delete a token by AccessorID (an unknown one is not an error)."""

    accessor_id: str


class ACLTokenReap(StateCommand, tag="state.acl_token_reap"):
    """What the leader's token reaper proposes: delete these tokens if they are expired at ``now_ns``.

    The leader picks a bounded batch of AccessorIDs (``actors/acl/token_reaper``); apply re-checks each
    against the command's ``now_ns`` (never a replica's clock), so a token whose expiry is not reached
    or that is gone already is skipped, the anonymous token never goes, and every replica agrees.
    """

    accessor_ids: list[str] = []


class ACLPolicySet(StateCommand, tag="state.acl_policy_set"):
    """Create (``create``) or update a policy; ``policy``'s hash and indexes are set by the store."""

    policy: ACLPolicy
    create: bool = True


class ACLPolicyDelete(StateCommand, tag="state.acl_policy_delete"):
    """Delete a policy by ID (an unknown one is not an error)."""

    id: str
