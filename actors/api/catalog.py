"""``/v1/catalog/*``: register, deregister, datacenters, nodes, services, service, node, node-services.

What lives here: the handlers, the typed register/deregister bodies (decoded leniently, see
``decode``), and the read views that add what the store leaves to the API: ``?node-meta=k:v``
(repeatable, every pair must match), ``?tag`` (repeatable, every tag must be present) and
``?filter=`` (go-bexpr over each endpoint's record type: `Node`, `ServiceNode`, or the `NodeService`
values of a node's services). ``?near`` is accepted and ignored (no coordinates yet). Every read
honours the consistency flags and blocks on ``?index``; an unknown node is 200 ``null``.

Register/deregister answer ``true``. Consul's checks come first: a body ``Datacenter`` other than ours
is 500 ``No path to datacenter`` (on a server of a WAN pool such a request is sent to that datacenter
before it gets here, ``actors/wan/router.py``; ``?dc=`` is ignored, as Consul does); a node ``ID`` that is not a UUID, and a service address of
``0.0.0.0``/``::``, are 400; the store's refusals (``Must provide node``...) are 400 for bad input and
500 for a missing node/service, as Consul reports them.

ACLs: register/deregister are vetted by ``catalog_acl``; lists are filtered by ``node:read`` /
``service:read`` (an unreadable node is ``null``); ``datacenters`` needs nothing.

What must never live here: catalog semantics (the store's) or how checks are run (agent endpoints).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import field

from actors.acl import readable
from actors.acl.enforce import AclFilter, acl_of
from actors.api.catalog_acl import vet_deregister, vet_register
from actors.api.decode import normalize, read_json, to_struct
from actors.api.filter import fields_from_struct
from actors.api.headers import read_headers
from actors.api.ids import node_id_error
from actors.api.query import QueryOptions, apply_filter, check_datacenter, meta_matches, node_meta, parse_query
from actors.api.reply import Api
from actors.api.schemas import DEREGISTER, REGISTER
from actors.state.commands import NodeDeregister, NodeRegister
from actors.state.models import HealthCheck, Node, NodeService, NodeServiceList, NodeServices, ServiceNode
from actors.state.store import StateStore
from actors.state.watch import WatchSet
from runtime.http import HTTPError, Request, Response, Router

PREFIX = "Request decode failed: "
NODE_FIELDS = fields_from_struct(Node)
SERVICE_NODE_FIELDS = fields_from_struct(ServiceNode)
NODE_SERVICE_FIELDS = fields_from_struct(NodeService)
_ANY_ADDRESSES = frozenset({"0.0.0.0", "::", "[::]"})


class RegisterBody(msgspec.Struct, kw_only=True, rename="pascal"):
    id: str = field(default="", name="ID")
    node: str = ""
    address: str = ""
    datacenter: str = ""
    tagged_addresses: dict[str, str] = {}
    node_meta: dict[str, str] = {}
    service: NodeService | None = None
    check: HealthCheck | None = None
    checks: list[HealthCheck] = []
    skip_node_update: bool = False


class DeregisterBody(msgspec.Struct, kw_only=True, rename="pascal"):
    node: str = ""
    datacenter: str = ""
    service_id: str = field(default="", name="ServiceID")
    check_id: str = field(default="", name="CheckID")


def register_command(api: Api, req: Request) -> NodeRegister:
    body = to_struct(normalize(read_json(req.body, PREFIX), REGISTER, PREFIX), RegisterBody, PREFIX)
    check_datacenter(api.ctx, body.datacenter)
    if body.id:
        problem = node_id_error(body.id)
        if problem is not None:
            raise HTTPError(400, problem)
    if body.service is not None and body.service.address in _ANY_ADDRESSES:
        raise HTTPError(400, "Invalid service address")
    checks = ([body.check] if body.check is not None else []) + list(body.checks)
    return NodeRegister(
        node=body.node,
        address=body.address,
        id=body.id,
        datacenter=body.datacenter or api.ctx.config.datacenter,
        tagged_addresses=body.tagged_addresses,
        node_meta=body.node_meta,
        service=body.service,
        checks=checks,
        skip_node_update=body.skip_node_update,
    )


def services_view(store: StateStore, ws: WatchSet, meta: dict[str, str], opts: QueryOptions,
                  seen: AclFilter | None = None) -> tuple[int, Any]:
    """Service name -> tags, restricted to instances passing ``node-meta`` and ``filter`` (and to the
    service names ``seen``'s token may read)."""
    index, services = store.services(ws)
    if seen is not None:
        services = seen.keep_dict(services, lambda authz, name, _: authz.service_read(name))
    if not meta and opts.filter is None:
        return index, services
    out: dict[str, list[str]] = {}
    for name in services:
        _, instances = store.service_nodes(name, (), ws)
        kept = apply_filter(opts, [i for i in instances if meta_matches(i.node_meta, meta)])
        if kept:
            out[name] = sorted({tag for i in kept for tag in i.service_tags})
    return index, out


def install_catalog(router: Router, api: Api) -> None:
    ctx = api.ctx

    async def register(req: Request) -> Response:
        command = register_command(api, req)
        vet_register(await acl_of(req, ctx), command, api.store)
        await api.write(command)
        return api.reply(req, True)

    async def deregister(req: Request) -> Response:
        body = to_struct(normalize(read_json(req.body, PREFIX), DEREGISTER, PREFIX), DeregisterBody, PREFIX)
        check_datacenter(ctx, body.datacenter)
        vet_deregister(await acl_of(req, ctx), body, api.store)
        await api.write(NodeDeregister(node=body.node, service_id=body.service_id, check_id=body.check_id))
        return api.reply(req, True)

    async def datacenters(req: Request) -> Response:
        wan = ctx.extras.get("wan")  # servers: every datacenter of the WAN pool, nearest first
        return api.reply(req, wan.datacenters() if wan is not None else [ctx.config.datacenter])

    async def nodes(req: Request) -> Response:
        opts = parse_query(req, ctx, NODE_FIELDS)
        meta = node_meta(req)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: WatchSet) -> tuple[int, Any]:
            index, found = api.store.nodes(ws)
            found = seen.keep(found, readable.node)
            return index, apply_filter(opts, [n for n in found if meta_matches(n.meta, meta)])

        index, result, rmeta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, result, headers=seen.mark(read_headers(index, rmeta)))

    async def services(req: Request) -> Response:
        opts = parse_query(req, ctx, SERVICE_NODE_FIELDS)
        meta = node_meta(req)
        seen = AclFilter(await acl_of(req, ctx))
        index, result, rmeta = await api.blocker.run(
            api.backend, opts, seen.wrap(lambda ws: services_view(api.store, ws, meta, opts, seen))
        )
        return api.reply(req, result, headers=seen.mark(read_headers(index, rmeta)))

    async def service(req: Request) -> Response:
        opts = parse_query(req, ctx, SERVICE_NODE_FIELDS)
        name = req.params["name"]
        if not name:
            raise HTTPError(400, "Missing service name")
        tags = req.query.get("tag", [])
        meta = node_meta(req)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: WatchSet) -> tuple[int, Any]:
            index, found = api.store.service_nodes(name, tags, ws)
            found = seen.keep(found, readable.service_node)
            return index, apply_filter(opts, [s for s in found if meta_matches(s.node_meta, meta)])

        index, result, rmeta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, result, headers=seen.mark(read_headers(index, rmeta)))

    def node_name(req: Request) -> str:
        name = req.params["node"]
        if not name:
            raise HTTPError(400, "Missing node name")
        return name

    async def node(req: Request) -> Response:
        opts = parse_query(req, ctx, NODE_SERVICE_FIELDS)
        name = node_name(req)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: WatchSet) -> tuple[int, Any]:
            index, found = api.store.node_services(name, ws)
            if found is not None and seen.active:
                if not seen.authz.node_read(found.node.node):
                    seen.drop()
                    return index, None
                kept = seen.keep_dict(found.services, lambda authz, _, svc: authz.service_read(svc.service))
                found = NodeServices(node=found.node, services=kept)
            if found is None or opts.filter is None:
                return index, found
            kept = apply_filter(opts, found.services)
            return index, NodeServices(node=found.node, services=kept)

        index, result, rmeta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, result, headers=seen.mark(read_headers(index, rmeta)))

    async def node_services(req: Request) -> Response:
        opts = parse_query(req, ctx, NODE_SERVICE_FIELDS)
        name = node_name(req)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: WatchSet) -> tuple[int, Any]:
            index, found = api.store.node_service_list(name, ws)
            if found is not None and seen.active:
                if not seen.authz.node_read(found.node.node):
                    seen.drop()
                    return index, None
                found = NodeServiceList(node=found.node, services=seen.keep(found.services, readable.node_service))
            if found is None or opts.filter is None:
                return index, found
            return index, NodeServiceList(node=found.node, services=apply_filter(opts, found.services))

        index, result, rmeta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, result, headers=seen.mark(read_headers(index, rmeta)))

    router.add("PUT", "/v1/catalog/register", register)
    router.add("PUT", "/v1/catalog/deregister", deregister)
    router.add("GET", "/v1/catalog/datacenters", datacenters)
    router.add("GET", "/v1/catalog/nodes", nodes)
    router.add("GET", "/v1/catalog/services", services)
    router.add("GET", "/v1/catalog/service/{name:path}", service)
    router.add("GET", "/v1/catalog/node/{node:path}", node)
    router.add("GET", "/v1/catalog/node-services/{node:path}", node_services)
