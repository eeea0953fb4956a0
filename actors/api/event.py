"""User events: ``PUT /v1/event/fire/<name>`` and ``GET /v1/event/list``.

What lives here: the two endpoints. Fire takes the body as the payload and ``node``/``service``/``tag``
regex filters (applied by each *receiving* agent), answers Consul's event object (``LTime`` 0: the
Lamport time is assigned by gossip); a missing name is 400, a reserved ``_`` name 400, a bad filter or
an event gossip cannot carry 500 (Consul's status for its fire errors). A payload over
`MAX_EVENT_PAYLOAD` is 413 before it is read (CVE-2025-11375: the fire route declares the limit).
List returns the events this agent kept (at most 256, oldest first, ``?name`` filters), blocks on
``?index`` until the index *differs* (it is a hash of the newest event's ID, not a counter: Consul's
``uuidToUint64``), and never reports index 0.

ACLs: fire ``event:write`` on the name; list filtered by ``event:read`` (before the index is taken).

What must never live here: the event buffer or gossip (``actors.gossip``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from actors.acl.enforce import AclFilter, acl_of, require
from actors.api.agent_members import gossip_of
from actors.api.query import check_datacenter, parse_query
from actors.api.reply import json_reply
from actors.gossip.events import FireError, event_json, uuid_index
from actors.gossip.facade import GossipError, GossipUnavailable
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext


# Consul 1.22's cap on a fired event's payload (CVE-2025-11375), well inside Serf's 512-byte user event.
# Sources: the 1.22 changelog ("maximum Content-Length on the event endpoint"), a backport of that fix
# (hashicorp/consul e794201d) and a re-implementation citing agent/event_endpoint.go: 300 bytes, 413.
# Consul's own 413 text could not be read here; ours names the limit.
MAX_EVENT_PAYLOAD = 300


def payload_too_large(announced: int | None, limit: int) -> str:
    size = "" if announced is None else f" ({announced} bytes)"
    return f"Request body{size} too large: event payloads are limited to {limit} bytes"


def install_event(router: Router, ctx: "AgentContext") -> None:
    async def fire(req: Request) -> Response:
        check_datacenter(ctx, req.arg("dc"))
        caller = await acl_of(req, ctx)
        name = req.params["name"]
        if name:
            require(caller, caller.authz.event_write(name), "event:write", name)
        gossip = gossip_of(ctx)
        try:
            event = await gossip.fire_event(req.params["name"], req.body, node_filter=req.arg("node") or "",
                                            service_filter=req.arg("service") or "", tag_filter=req.arg("tag") or "")
        except FireError as err:
            raise HTTPError(err.status, err.message) from None
        except (GossipError, GossipUnavailable) as err:
            raise HTTPError(500, str(err)) from None
        return json_reply(ctx, req, event_json(event))

    async def listing(req: Request) -> Response:
        opts = parse_query(req, ctx, any_datacenter=True)  # Consul lists this agent's events, any ?dc
        log = gossip_of(ctx).events
        name = req.arg("name") or None
        seen = AclFilter(await acl_of(req, ctx))
        deadline = trio.current_time() + opts.wait
        while True:
            version = log.version
            events = seen.keep(log.events(name), lambda authz, e: authz.event_read(e.name))  # before the index
            index = uuid_index(events[-1].id) if events else 1
            if not opts.blocking or index != opts.min_index:
                break
            if not await log.wait_changed(version, deadline):
                break
        return json_reply(ctx, req, [event_json(e) for e in events], headers={"X-Consul-Index": str(index or 1)})

    router.add("PUT", "/v1/event/fire/{name:path}", fire, max_body_bytes=MAX_EVENT_PAYLOAD,
               too_large=payload_too_large)
    router.add("GET", "/v1/event/list", listing)
