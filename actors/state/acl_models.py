"""The ACL records the state store keeps: tokens and policies, and the built-ins every cluster has.

What lives here: `ACLToken` and `ACLPolicy` (frozen Structs, snake_case, times as integer nanoseconds
of the Unix epoch: the store never formats a time), and the built-in identities Consul reserves:
the ``global-management`` policy (ID ``...0001``) and the anonymous token (AccessorID ``...0002``,
SecretID ``anonymous``), with their descriptions and rules text.

A token stores its policy links as policy IDs only, as Consul does ("the policy could be renamed"):
readers resolve the names, and links to deleted policies simply stop resolving.

These records are *not* the JSON Consul answers with: times must become RFC3339 strings and names must
be resolved, which is the API's job (``actors/api/acl_io.py``).

What must never live here: behaviour, validation, or anything that reads a clock.
"""

from __future__ import annotations

import msgspec

GLOBAL_MANAGEMENT_ID = "00000000-0000-0000-0000-000000000001"
GLOBAL_MANAGEMENT_NAME = "global-management"
GLOBAL_MANAGEMENT_DESCRIPTION = "Builtin Policy that grants unlimited access"
# Consul's text for the built-in policy (acl.ACLPolicyGlobalManagement, tab-indented), equal to
# actors.acl.rules.GLOBAL_MANAGEMENT_RULES (a test checks). A token linked to this policy ID resolves
# straight to the management authorizer; the text is never evaluated.
GLOBAL_MANAGEMENT_RULES = """
acl = "write"
agent_prefix "" {
	policy = "write"
}
event_prefix "" {
	policy = "write"
}
key_prefix "" {
	policy = "write"
}
keyring = "write"
node_prefix "" {
	policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
	policy = "write"
}
service_prefix "" {
	policy = "write"
	intentions = "write"
}
session_prefix "" {
	policy = "write"
}"""

ANONYMOUS_ACCESSOR_ID = "00000000-0000-0000-0000-000000000002"
ANONYMOUS_SECRET_ID = "anonymous"
ANONYMOUS_DESCRIPTION = "Anonymous Token"

BOOTSTRAP_DESCRIPTION = "Bootstrap Token (Global Management)"
INITIAL_MANAGEMENT_DESCRIPTION = "Initial Management Token"

RESERVED_PREFIX = "00000000-0000-0000-0000-0000000000"  # Consul reserves these UUIDs for built-ins


class ACLToken(msgspec.Struct, frozen=True, kw_only=True):
    """One token. ``expiration_time_ns`` 0 means "never expires"."""

    accessor_id: str
    secret_id: str
    description: str = ""
    policies: list[str] = []  # policy IDs, in the order given, without duplicates
    local: bool = False
    create_time_ns: int = 0
    expiration_time_ns: int = 0
    hash: bytes = b""
    create_index: int = 0
    modify_index: int = 0

    def expired(self, now_ns: int) -> bool:
        return self.expiration_time_ns > 0 and now_ns >= self.expiration_time_ns


class ACLPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """One policy. ``name`` is unique across policies; ``rules`` is the HCL/JSON text as given."""

    id: str
    name: str
    description: str = ""
    rules: str = ""
    datacenters: list[str] = []
    hash: bytes = b""
    create_index: int = 0
    modify_index: int = 0
