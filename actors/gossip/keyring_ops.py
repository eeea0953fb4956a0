"""Keyring operations across the cluster: which Serf query to send, and how to read the answers.

Consul applies ``install``/``use``/``remove``/``list`` to every member through a Serf query per pool (WAN
first on servers, then LAN) and reports, per pool, how many nodes hold each key. What lives here:
`query_name`, `summarise` (one pool's answers as Consul's ``KeyringResponse`` JSON plus the errors to
report) and `KeyringFailed`.

What must never live here: sending the queries (the facade) or changing a keyring (``serf_core``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.gossip.queries import QueryResult
from actors.gossip.serf_messages import KeyringOp, KeyringReply

NOT_ENABLED = "No keyring to modify (encryption not enabled)"

_QUERY_NAMES: dict[str, str] = {"list": "_serf_list-keys", "install": "_serf_install-key",
                                "use": "_serf_use-key", "remove": "_serf_remove-key"}
_reply_decoder = msgspec.msgpack.Decoder(KeyringReply)


class KeyringFailed(Exception):
    """Some members failed the operation or did not answer; the text lists them."""


def query_name(op: KeyringOp) -> str:
    return _QUERY_NAMES[op]


def summarise(result: QueryResult, *, wan: bool, datacenter: str) -> tuple[dict[str, Any], list[str]]:
    """Consul's ``KeyringResponse`` for one pool, and one line per problem (empty when all is well)."""
    keys: dict[str, int] = {}
    primaries: dict[str, int] = {}
    messages: dict[str, str] = {}
    for node, raw in sorted(result.responses.items()):
        try:
            reply = _reply_decoder.decode(raw)
        except msgspec.DecodeError:
            messages[node] = "undecodable keyring reply"
            continue
        if not reply.ok:
            messages[node] = reply.message
        for key in reply.keys:
            keys[key] = keys.get(key, 0) + 1
        if reply.primary:
            primaries[reply.primary] = primaries.get(reply.primary, 0) + 1
    pool = "WAN" if wan else f"{datacenter} (LAN)"
    problems = []
    if messages:
        detail = "; ".join(f"{node}: {msg}" for node, msg in messages.items())
        problems.append(f"{pool}: {len(messages)}/{result.expected} nodes reported failure: {detail}")
    if len(result.responses) < result.expected:
        problems.append(f"{pool}: {len(result.responses)}/{result.expected} nodes answered before the timeout")
    doc = {
        "WAN": wan,
        "Datacenter": datacenter,
        "Segment": "",
        "Messages": messages,
        "Keys": keys,
        "PrimaryKeys": primaries,
        "NumNodes": result.expected,
    }
    return doc, problems
