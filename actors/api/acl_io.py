"""The ACL endpoints' request bodies and JSON answers, shaped as Consul's.

What lives here:

* decoding: `read_token_body` and `read_policy_body` (lenient keys as everywhere in the API, Go's
  error texts under Consul's prefixes ``Token decoding failed: `` / ``Policy decoding failed: ``);
  ``ExpirationTime`` as RFC3339, ``ExpirationTTL`` as a Go duration or nanoseconds. Roles, service
  and node identities, templated policies and auth methods are not supported: asking for them is a 400
  rather than a token that silently lacks them.
* rendering: `token_json` / `token_stub_json` / `policy_json` / `policy_stub_json` with Consul's field
  names and order, policy links resolved to ``{"ID", "Name"}`` against the current tables (links to
  deleted policies are dropped), ``Hash`` in base64, ``CreateTime``/``ExpirationTime`` as RFC3339 in
  UTC with Go's trimmed nanoseconds, and ``SecretID`` shown as ``<hidden>`` when the reader lacks
  ``acl:write``.
* `rfc3339` / `parse_rfc3339`: the time formats.

What must never live here: endpoint flow, permission checks or store writes (``acl``).
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from actors.api.decode import DecodeFailure, duration_ns, fold_key, json_type, read_json
from actors.state.acl_models import ACLPolicy, ACLToken
from actors.state.store import StateStore
from runtime.http import HTTPError

TOKEN_PREFIX = "Token decoding failed: "
POLICY_PREFIX = "Policy decoding failed: "
REDACTED = "<hidden>"

TOKEN_FIELDS = ("AccessorID", "SecretID", "Description", "Policies", "Local", "ExpirationTime", "ExpirationTTL",
                "Roles", "ServiceIdentities", "NodeIdentities", "TemplatedPolicies", "AuthMethod", "Namespace",
                "Partition", "CreateTime", "Hash", "CreateIndex", "ModifyIndex")
POLICY_FIELDS = ("ID", "Name", "Description", "Rules", "Datacenters", "Namespace", "Partition", "Hash",
                 "CreateIndex", "ModifyIndex")
UNSUPPORTED = ("Roles", "ServiceIdentities", "NodeIdentities", "TemplatedPolicies")

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


# -- times ----------------------------------------------------------------------------------------


def rfc3339(ns: int) -> str:
    """Go's ``time.Time`` JSON (RFC3339 with nanoseconds, trailing zeros trimmed), in UTC."""
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = (_EPOCH + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        stamp += "." + f"{frac:09d}".rstrip("0")
    return stamp + "Z"


def parse_rfc3339(text: str) -> int:
    """RFC3339 (any offset, optional fraction up to nanoseconds) to Unix nanoseconds."""
    head, dot, rest = text.partition(".")
    frac_ns = 0
    if dot:
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        if not digits or len(digits) > 9:
            raise ValueError(f"parsing time {text!r} as RFC3339")
        frac_ns = int(digits.ljust(9, "0"))
        head += rest
    head = head[:-1] + "+00:00" if head.endswith(("Z", "z")) else head
    try:
        moment = datetime.datetime.fromisoformat(head)
    except ValueError:
        raise ValueError(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse') from None
    if moment.tzinfo is None or "T" not in head.upper():
        raise ValueError(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse')
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + frac_ns


# -- decoding -------------------------------------------------------------------------------------


def _canonical(body: Any, fields: tuple[str, ...], prefix: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise HTTPError(400, f"{prefix}json: cannot unmarshal {json_type(body)} into Go value of type object")
    lookup = {fold_key(f): f for f in fields}
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = lookup.get(fold_key(key))
        if name is not None and value is not None:
            out[name] = value
    return out


def _typed(body: dict[str, Any], name: str, kind: type, prefix: str, default: Any) -> Any:
    value = body.get(name, default)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise HTTPError(400, f"{prefix}json: cannot unmarshal {json_type(value)} into Go struct field .{name}")
    return value


def _strings(body: dict[str, Any], name: str, prefix: str) -> list[str]:
    value = _typed(body, name, list, prefix, [])
    if not all(isinstance(v, str) for v in value):
        raise HTTPError(400, f"{prefix}json: cannot unmarshal into Go struct field .{name} of type string")
    return value


def read_token_body(raw: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    """The token fields of a create/update/clone body, canonical names, checked types."""
    if allow_empty and not raw.strip():
        return {}
    body = _canonical(read_json(raw, TOKEN_PREFIX), TOKEN_FIELDS, TOKEN_PREFIX)
    out: dict[str, Any] = {}
    for name in ("AccessorID", "SecretID", "Description", "AuthMethod"):
        if name in body:
            out[name] = _typed(body, name, str, TOKEN_PREFIX, "")
    if "Local" in body:
        out["Local"] = _typed(body, "Local", bool, TOKEN_PREFIX, False)
    links = []
    for link in _typed(body, "Policies", list, TOKEN_PREFIX, []):
        link = _canonical(link, ("ID", "Name"), TOKEN_PREFIX)
        links.append((_typed(link, "ID", str, TOKEN_PREFIX, ""), _typed(link, "Name", str, TOKEN_PREFIX, "")))
    out["Policies"] = links
    if "ExpirationTime" in body:
        text = _typed(body, "ExpirationTime", str, TOKEN_PREFIX, "")
        try:
            out["ExpirationTime"] = parse_rfc3339(text)
        except ValueError as err:
            raise HTTPError(400, f"{TOKEN_PREFIX}{err}") from None
    if "ExpirationTTL" in body:
        try:
            out["ExpirationTTL"] = duration_ns(body["ExpirationTTL"], "$.ExpirationTTL")
        except DecodeFailure as err:
            raise HTTPError(400, f"{TOKEN_PREFIX}{err}") from None
    for name in UNSUPPORTED:
        if body.get(name):
            raise HTTPError(400, f"{TOKEN_PREFIX}{name} are not supported by proconsul")
    if out.get("AuthMethod"):
        raise HTTPError(400, "AuthMethod field is disallowed outside of Login")
    return out


def read_policy_body(raw: bytes) -> dict[str, Any]:
    """The policy fields of a create/update body, canonical names, checked types."""
    body = _canonical(read_json(raw, POLICY_PREFIX), POLICY_FIELDS, POLICY_PREFIX)
    out: dict[str, Any] = {}
    for name in ("ID", "Name", "Description", "Rules"):
        out[name] = _typed(body, name, str, POLICY_PREFIX, "")
    out["Datacenters"] = _strings(body, "Datacenters", POLICY_PREFIX)
    return out


# -- rendering ------------------------------------------------------------------------------------


def policy_links(store: StateStore, ids: list[str]) -> list[dict[str, str]]:
    links = []
    for pid in ids:
        _, policy = store.acl_policy_by_id(pid)
        if policy is not None:
            links.append({"ID": policy.id, "Name": policy.name})
    return links


def _token_fields(token: ACLToken, store: StateStore, redact: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AccessorID": token.accessor_id,
        "SecretID": REDACTED if redact else token.secret_id,
        "Description": token.description,
    }
    links = policy_links(store, token.policies)
    if links:
        out["Policies"] = links
    out["Local"] = token.local
    if token.expiration_time_ns:
        out["ExpirationTime"] = rfc3339(token.expiration_time_ns)
    out["CreateTime"] = rfc3339(token.create_time_ns)
    out["Hash"] = base64.b64encode(token.hash).decode()
    out["CreateIndex"] = token.create_index
    out["ModifyIndex"] = token.modify_index
    return out


def token_json(token: ACLToken, store: StateStore, *, redact: bool = False) -> dict[str, Any]:
    return _token_fields(token, store, redact)


def token_stub_json(token: ACLToken, store: StateStore, *, redact: bool = False) -> dict[str, Any]:
    """A ``GET /v1/acl/tokens`` entry (Consul's ACLTokenListStub: the same fields here)."""
    return _token_fields(token, store, redact)


def bootstrap_json(token: ACLToken, store: StateStore) -> dict[str, Any]:
    """``PUT /v1/acl/bootstrap``: the token with the deprecated ``ID`` (= SecretID) in front."""
    return {"ID": token.secret_id, **_token_fields(token, store, False)}


def policy_json(policy: ACLPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ID": policy.id,
        "Name": policy.name,
        "Description": policy.description,
        "Rules": policy.rules,
    }
    if policy.datacenters:
        out["Datacenters"] = list(policy.datacenters)
    out["Hash"] = base64.b64encode(policy.hash).decode()
    out["CreateIndex"] = policy.create_index
    out["ModifyIndex"] = policy.modify_index
    return out


def policy_stub_json(policy: ACLPolicy) -> dict[str, Any]:
    """A ``GET /v1/acl/policies`` entry: no ``Rules``; ``Datacenters`` always present (null if none)."""
    return {
        "ID": policy.id,
        "Name": policy.name,
        "Description": policy.description,
        "Datacenters": list(policy.datacenters) or None,
        "Hash": base64.b64encode(policy.hash).decode(),
        "CreateIndex": policy.create_index,
        "ModifyIndex": policy.modify_index,
    }
