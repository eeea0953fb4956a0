"""``PUT /v1/txn``: Consul's transaction endpoint.

What lives here: the handler and the conversion from Consul's API op format (``{"KV": {...}}``,
``{"Node": ...}``, ``{"Service": ...}``, ``{"Check": ...}``; keys matched leniently, KV values in
base64) into the store's `TxnOp` records. Limits, with Consul's texts: a body above
``max(txn_max_req_len, kv_max_value_size)`` (the route's declared body limit: refused before it is
read) and more than `MAX_TXN_OPS` ops are 413, as is one KV
value above ``kv_max_value_size``; a body that does not parse is 400 ``Failed to parse body: ...``.

A transaction whose ops all read is served like a read, without Raft: the consistency flags are
honoured and ``X-Consul-KnownLeader`` / ``X-Consul-LastContact`` are set, but it never blocks. Any
other transaction is committed as one command. Either way a rolled-back transaction answers 409 with
the same ``{"Results": null, "Errors": [...]}`` body; success is 200 with ``Results``.

ACLs (``txn_acl``): every op is checked like its own endpoint first; refused ops answer 409 with
per-op ``Permission denied`` errors and nothing runs; results the token may not read are left out.

What must never live here: the verbs' semantics (``actors/state/txn.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.acl.enforce import AclFilter, acl_of
from actors.api.blocking import barrier
from actors.api.decode import normalize, read_json, to_struct
from actors.api.headers import leader_headers
from actors.api.query import check_datacenter, parse_query
from actors.api.reply import Api
from actors.api.schemas import TXN
from actors.api.txn_acl import readable_results, refused_ops
from actors.state.commands import Txn, TxnCheckOp, TxnKVOp, TxnNodeOp, TxnOp, TxnServiceOp
from actors.state.errors import quote
from actors.state.models import HealthCheck, Node, NodeService, TxnResponse
from actors.state.txn import is_read_only
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext

MAX_TXN_OPS = 128  # Consul's current limit (64 before 1.x docs raised it)
PREFIX = "Failed to parse body: "
_DOCS = "https://www.consul.io/docs/agent/config/config-files#txn_max_req_len"


def max_txn_len(ctx: "AgentContext") -> int:
    """Consul: ``kv_max_value_size`` stands in when it is the larger (backward compatibility)."""
    limits = ctx.config.limits
    return max(limits.txn_max_req_len, limits.kv_max_value_size)


def too_large(announced: int | None, limit: int) -> str:
    """Consul's 413 texts: the announced length when there is one, else the limit only."""
    if announced is None:
        return f"Request body too large, max size: {limit} bytes. See {_DOCS}."
    return f"Request body({announced} bytes) too large, max size: {limit} bytes. See {_DOCS}."
_UINT64_MAX = 2**64 - 1  # Flags and Index are Go uint64s


def _uint(value: Any, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT64_MAX:
        raise HTTPError(400, f"{PREFIX}{what} must be an unsigned integer")
    return value


def _str(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HTTPError(400, f"{PREFIX}{what} must be a string")
    return value


def _kv_op(raw: dict[str, Any], i: int, max_value: int) -> TxnKVOp:
    key = _str(raw.get("Key"), f"$[{i}].KV.Key")
    value = raw.get("Value")
    if value is not None and len(value) > max_value:
        raise HTTPError(413, f"Value for key {quote(key)} is too large ({len(value)} > {max_value} bytes)")
    return TxnKVOp(
        verb=_str(raw.get("Verb"), f"$[{i}].KV.Verb"),
        key=key,
        value=value,
        flags=_uint(raw.get("Flags"), f"$[{i}].KV.Flags"),
        index=_uint(raw.get("Index"), f"$[{i}].KV.Index"),
        session=_str(raw.get("Session"), f"$[{i}].KV.Session"),
    )


def convert_ops(ctx: "AgentContext", raw_ops: list[dict[str, Any]]) -> list[TxnOp]:
    """API-format ops → store ops, in order. An op naming no kind is skipped, as Consul does."""
    max_value = ctx.config.limits.kv_max_value_size
    ops: list[TxnOp] = []
    for i, raw in enumerate(raw_ops):
        if "KV" in raw:
            ops.append(_kv_op(raw["KV"], i, max_value))
        elif "Node" in raw:
            node_raw = dict(raw["Node"].get("Node", {}))
            node_raw.setdefault("Datacenter", ctx.config.datacenter)
            node = to_struct(node_raw, Node, PREFIX, f"$[{i}].Node.Node")
            ops.append(TxnNodeOp(verb=_str(raw["Node"].get("Verb"), f"$[{i}].Node.Verb"), node=node))
        elif "Service" in raw:
            body = raw["Service"]
            svc = to_struct(body.get("Service", {}), NodeService, PREFIX, f"$[{i}].Service.Service")
            ops.append(
                TxnServiceOp(
                    verb=_str(body.get("Verb"), f"$[{i}].Service.Verb"),
                    node=_str(body.get("Node"), f"$[{i}].Service.Node"),
                    service=svc,
                )
            )
        elif "Check" in raw:
            body = raw["Check"]
            chk = to_struct(body.get("Check", {}), HealthCheck, PREFIX, f"$[{i}].Check.Check")
            ops.append(TxnCheckOp(verb=_str(body.get("Verb"), f"$[{i}].Check.Verb"), check=chk))
    return ops


def install_txn(router: Router, api: Api) -> None:
    ctx = api.ctx

    async def txn(req: Request) -> Response:
        max_len = max_txn_len(ctx)
        if len(req.body) > max_len:
            raise HTTPError(413, too_large(len(req.body), max_len))
        raw_ops = normalize(read_json(req.body, PREFIX), TXN, PREFIX)
        if len(raw_ops) > MAX_TXN_OPS:
            raise HTTPError(413, f"Transaction contains too many operations ({len(raw_ops)} > {MAX_TXN_OPS})")
        ops = convert_ops(ctx, raw_ops)
        seen = AclFilter(await acl_of(req, ctx))
        if is_read_only(ops):
            opts = parse_query(req, ctx)
            meta = await barrier(api.backend, opts)
            refused = refused_ops(seen.caller, ops, api.store)
            result = TxnResponse(errors=refused) if refused else api.store.read_txn(ops)
            headers = leader_headers(meta)
        else:
            check_datacenter(ctx, req.arg("dc"))
            refused = refused_ops(seen.caller, ops, api.store)
            result = TxnResponse(errors=refused) if refused else await api.write(Txn(ops=ops))
            headers = {}
        if result.ok and seen.active:
            result = TxnResponse(results=readable_results(result.results, seen), errors=result.errors)
        return api.reply(req, result, status=200 if result.ok else 409, headers=seen.mark(headers) or None)

    router.add("PUT", "/v1/txn", txn, max_body_bytes=max_txn_len(ctx), too_large=too_large)
