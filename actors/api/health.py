"""``/v1/health/*``: node, checks, service and state.

What lives here: the four read handlers and what they add to the store's reads: ``?passing`` (Go's
boolean parsing; bare ``?passing`` is true; anything else is 400 ``Invalid value for ?passing``),
``?tag`` (repeatable), ``?node-meta=k:v`` and ``?filter=`` over each endpoint's records
(`HealthCheck`, or `ServiceEntry` for ``/health/service``). ``?near`` is accepted and ignored. An
empty name is Consul's 400 (``Missing node name``, ``Missing service name``, ``Missing check state``);
a state other than ``any|passing|warning|critical`` is 400. Every read honours the consistency
flags and blocks on ``?index``.

ACLs: every list is filtered by ``node:read`` on the node and ``service:read`` on the service.

What must never live here: health semantics (which checks a service entry carries; the store's) or
running checks.
"""

from __future__ import annotations

from typing import Any

from actors.acl import readable
from actors.acl.enforce import AclFilter, acl_of
from actors.api.filter import fields_from_struct
from actors.api.headers import read_headers
from actors.api.query import apply_filter, bool_param, meta_matches, node_meta, parse_query
from actors.api.reply import Api, store_error
from actors.state.errors import StoreError
from actors.state.models import HealthCheck, ServiceEntry
from actors.state.store import StateStore
from actors.state.watch import WatchSet
from runtime.http import HTTPError, Request, Response, Router

CHECK_FIELDS = fields_from_struct(HealthCheck)
ENTRY_FIELDS = fields_from_struct(ServiceEntry)


def _name(req: Request, param: str, missing: str) -> str:
    value = req.params[param]
    if not value:
        raise HTTPError(400, missing)
    return value


def on_meta_nodes(
    store: StateStore, checks: list[HealthCheck], meta: dict[str, str], ws: WatchSet
) -> list[HealthCheck]:
    """The checks whose node carries every ``node-meta`` pair (watching those nodes too)."""
    if not meta:
        return checks
    keep: dict[str, bool] = {}
    out = []
    for chk in checks:
        if chk.node not in keep:
            _, node = store.node(chk.node, ws)
            keep[chk.node] = node is not None and meta_matches(node.meta, meta)
        if keep[chk.node]:
            out.append(chk)
    return out


def install_health(router: Router, api: Api) -> None:
    ctx = api.ctx

    async def node_checks(req: Request) -> Response:
        opts = parse_query(req, ctx, CHECK_FIELDS)
        node = _name(req, "node", "Missing node name")
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: WatchSet) -> tuple[int, Any]:
            index, checks = api.store.node_checks(node, ws)
            return index, apply_filter(opts, seen.keep(checks, readable.check))

        index, result, meta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, result, headers=seen.mark(read_headers(index, meta)))

    async def service_checks(req: Request) -> Response:
        opts = parse_query(req, ctx, CHECK_FIELDS)
        name = _name(req, "service", "Missing service name")
        meta = node_meta(req)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: WatchSet) -> tuple[int, Any]:
            index, checks = api.store.service_checks(name, ws)
            checks = seen.keep(checks, readable.check)
            return index, apply_filter(opts, on_meta_nodes(api.store, checks, meta, ws))

        index, result, rmeta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, result, headers=seen.mark(read_headers(index, rmeta)))

    async def service_nodes(req: Request) -> Response:
        opts = parse_query(req, ctx, ENTRY_FIELDS)
        name = _name(req, "service", "Missing service name")
        passing = bool_param(req, "passing", "Invalid value for ?passing")
        tags = req.query.get("tag", [])
        meta = node_meta(req)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: WatchSet) -> tuple[int, Any]:
            index, entries = api.store.service_health(name, tags, passing, ws)
            entries = seen.keep(entries, readable.service_entry)
            kept = [e for e in entries if meta_matches(e.node.meta, meta)]
            return index, apply_filter(opts, kept)

        index, result, rmeta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, result, headers=seen.mark(read_headers(index, rmeta)))

    async def in_state(req: Request) -> Response:
        opts = parse_query(req, ctx, CHECK_FIELDS)
        state = _name(req, "state", "Missing check state")
        meta = node_meta(req)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: WatchSet) -> tuple[int, Any]:
            index, checks = api.store.checks_in_state(state, ws)
            checks = seen.keep(checks, readable.check)
            return index, apply_filter(opts, on_meta_nodes(api.store, checks, meta, ws))

        try:
            index, result, rmeta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        except StoreError as err:
            raise store_error(err) from None
        return api.reply(req, result, headers=seen.mark(read_headers(index, rmeta)))

    router.add("GET", "/v1/health/node/{node:path}", node_checks)
    router.add("GET", "/v1/health/checks/{service:path}", service_checks)
    router.add("GET", "/v1/health/service/{service:path}", service_nodes)
    router.add("GET", "/v1/health/state/{state:path}", in_state)
