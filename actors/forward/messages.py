"""Wire messages of the "http" protocol on the server port: one HTTP API request and its answer.

What lives here: `HttpCall` (method, target with query, headers, body, and the node the request came
in at) and `HttpAnswer` (status, headers, body). Client agents hold no replica of the state, so they
send the whole API request to a server, which answers it through its own router exactly as if it
had arrived on its HTTP port. Tags are wire format: add, never rename.

`ApplyCommand`/`NodeView` serve a client's catalog syncer: it commits its own node's registrations
through a server and reads back what the catalog holds for its node. Both carry the ACL token the
syncer acts with (Consul's anti-entropy tokens: see ``actors/catalog/tokens.py``); ``""`` means no
token (the server judges it as ``anonymous``, never by its own default token). With ACLs enabled the
server authorizes them as ``/v1/catalog/register``/``deregister`` and filters the node view as a read;
a refusal comes back as data (``ApplyOutcome.error`` / ``NodeViewResult.error`` of kind
`ACL_REFUSED`). `ACLResolve` lets a client agent resolve a token secret through a server
(``actors/acl/remote_resolver.py``): it answers only about the secret it is given.

What must never live here: behaviour.
"""

from __future__ import annotations

from actors.state.models import HealthCheck, NodeServices
from runtime.messages import Error, Message

ACL_REFUSED = "acl.refused"  # `Error.kind` of an ACL refusal ("Permission denied: ..." / "ACL not found")


class HttpCall(Message, tag="forward.http_call"):
    method: str
    target: str
    headers: list[tuple[str, str]] = []
    body: bytes = b""
    origin_node: str = ""


class HttpAnswer(Message, tag="forward.http_answer"):
    status: int
    headers: list[tuple[str, str]] = []
    body: bytes = b""


class ApplyCommand(Message, tag="forward.apply_command"):
    """A client agent's own state command (anti-entropy), to be committed by the servers."""

    command: bytes
    token: str = ""  # the ACL secret the syncer acts with; "" for none (peers without the field send none)


class ApplyOutcome(Message, tag="forward.apply_outcome"):
    index: int
    error: Error | None = None


class NodeView(Message, tag="forward.node_view"):
    """The catalog's record of one node: its services and its checks (what anti-entropy compares)."""

    node: str
    token: str = ""  # as `ApplyCommand.token`: the view holds only what this token may read


class NodeViewResult(Message, tag="forward.node_view_result"):
    index: int
    services: NodeServices | None = None
    checks: list[HealthCheck] = []
    error: Error | None = None  # the view was refused (kind `ACL_REFUSED`: an unknown token)


class DnsCall(Message, tag="forward.dns_call"):
    """A DNS query a client agent received, answered by a server's DNS interface as its own."""

    packet: bytes
    transport: str = "udp"
    token: str = ""  # the client agent's DNS token ("" for none: the server's own tokens apply)


class DnsAnswer(Message, tag="forward.dns_answer"):
    packet: bytes = b""  # empty: the server dropped the query (as it would a malformed packet)


class ACLResolve(Message, tag="forward.acl_resolve"):
    """A client agent asks a server what a token secret may do (it holds no ACL tables itself)."""

    secret: str


class ACLResolved(Message, tag="forward.acl_resolved"):
    """The answer: ``found`` False for an unknown or expired secret; ``disabled`` when the server runs
    without ACLs. ``policies`` are (policy ID, ModifyIndex, rules text) for the client to parse."""

    found: bool
    disabled: bool = False
    accessor_id: str = ""
    management: bool = False
    policies: list[tuple[str, int, str]] = []
    expiration_time_ns: int = 0


ForwardRequest = HttpCall | ApplyCommand | NodeView | DnsCall | ACLResolve
ForwardResponse = HttpAnswer | ApplyOutcome | NodeViewResult | DnsAnswer | ACLResolved
