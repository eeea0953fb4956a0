"""``/v1/session/*``: create, destroy, info, node, list and renew.

What lives here: the six handlers and the create-time rules Consul applies before proposing a
session: defaults (``Node`` = this agent, ``LockDelay`` 15 s, ``Checks`` = ``["serfHealth"]`` unless a
``Checks``/``NodeChecks`` key is given, even empty; ``Behavior`` ``release``), ``LockDelay`` read as
Consul does (a duration string or a number of nanoseconds; values below 1000 ns mean seconds), the
``Behavior`` values, and the TTL window (``Invalid Session TTL '<ns>', must be between [10s=24h0m0s]``).
Session IDs are UUIDs drawn from the agent's seeded ``api/session-id`` stream, never ``uuid4()``.

Status codes follow Consul: unknown node or check on create is 500 (``Missing node registration``),
destroy of an unknown ID is ``true``, info of one is ``[]``, renew of one is 404
``Session id '<id>' not found``. Bad input (JSON, durations, behaviour, TTL range, a malformed UUID)
is 400.

ACLs: create ``session:write`` on the session's node; destroy/renew the same on the existing
session's node; info/node/list filtered by ``session:read``.

What must never live here: session semantics (invalidation, lock release; the store's) or the TTL
timers (the backend's reaper).
"""

from __future__ import annotations

from typing import Any

from actors.acl import readable
from actors.acl.enforce import AclFilter, Caller, acl_of, require
from actors.api.decode import normalize, read_json, to_struct
from actors.api.headers import read_headers
from actors.api.ids import new_uuid, session_id_error
from actors.api.query import check_datacenter, parse_query
from actors.api.reply import Api
from actors.api.schemas import SESSION
from actors.state.commands import SessionCreate, SessionDestroy, SessionRenew
from actors.state.durations import format_duration_ns, parse_duration_ns
from actors.state.models import SERF_CHECK_ID, SESSION_DELETE, SESSION_RELEASE, ServiceCheck
from runtime.http import HTTPError, Request, Response, Router

PREFIX = "Request decode failed: "
SECOND_NS = 1_000_000_000
TTL_MIN_NS = 10 * SECOND_NS
TTL_MAX_NS = 86400 * SECOND_NS
LOCK_DELAY_SECONDS_BELOW_NS = 1000  # Consul's lockDelayMinThreshold


def lock_delay_ns(value: Any) -> int:
    """Consul's FixupLockDelay: a duration string or a number; tiny values are taken as seconds."""
    if isinstance(value, str):
        try:
            ns = parse_duration_ns(value)
        except ValueError as err:
            raise HTTPError(400, f"{PREFIX}{err}") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ns = int(value)
    else:
        raise HTTPError(400, f"{PREFIX}LockDelay must be a duration string or a number")
    ns = ns * SECOND_NS if ns < LOCK_DELAY_SECONDS_BELOW_NS else ns
    if not -(2**63) <= ns < 2**63:  # Go's time.Duration is an int64
        raise HTTPError(400, f"{PREFIX}LockDelay out of range")
    return ns


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise HTTPError(400, f"{PREFIX}{what} must be a list of strings")
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise HTTPError(400, f"{PREFIX}{name} must be a string")
    return value


def validate_ttl(ttl: str) -> None:
    if not ttl:
        return
    try:
        ns = parse_duration_ns(ttl)
    except ValueError as err:
        raise HTTPError(400, f"Session TTL '{ttl}' invalid: {err}") from None
    if ns != 0 and not TTL_MIN_NS <= ns <= TTL_MAX_NS:
        bounds = f"[{format_duration_ns(TTL_MIN_NS)}={format_duration_ns(TTL_MAX_NS)}]"
        raise HTTPError(400, f"Invalid Session TTL '{ns}', must be between {bounds}")


def build_create(api: Api, req: Request) -> SessionCreate:
    """The `SessionCreate` for a create request, with Consul's defaults and checks applied."""
    body: dict[str, Any] = {}
    if req.body.strip():
        body = normalize(read_json(req.body, PREFIX), SESSION, PREFIX)
    node_checks: list[str] | None = None
    if "Checks" in body or "NodeChecks" in body:
        node_checks = []
        for name in ("NodeChecks", "Checks"):
            for cid in _strings(body.get(name, []), name):
                if cid not in node_checks:
                    node_checks.append(cid)
    service_checks = None
    if "ServiceChecks" in body:
        service_checks = [to_struct(sc, ServiceCheck, PREFIX, "$.ServiceChecks") for sc in body["ServiceChecks"]]
    behavior = _text(body, "Behavior") or SESSION_RELEASE
    if behavior not in (SESSION_RELEASE, SESSION_DELETE):
        raise HTTPError(400, f"Invalid Behavior setting '{behavior}'")
    ttl = _text(body, "TTL")
    validate_ttl(ttl)
    session_id = new_uuid(api.session_rng)
    while api.store.session_get(session_id)[1] is not None:
        session_id = new_uuid(api.session_rng)
    return SessionCreate(
        id=session_id,
        node=_text(body, "Node") or req.header("X-Proconsul-Origin-Node") or api.ctx.config.node_name,
        name=_text(body, "Name"),
        lock_delay_ns=lock_delay_ns(body["LockDelay"]) if "LockDelay" in body else None,
        behavior=behavior,
        ttl=ttl,
        node_checks=node_checks if node_checks is not None else [SERF_CHECK_ID],
        service_checks=service_checks,
    )


def _session_param(req: Request, name: str, missing: str = "Missing session") -> str:
    value = req.params[name]
    if not value:
        raise HTTPError(400, missing)
    return value


def _checked_id(req: Request) -> str:
    session_id = _session_param(req, "id")
    problem = session_id_error(session_id)
    if problem is not None:
        raise HTTPError(400, problem)
    return session_id


def _may_write(caller: Caller, api: Api, session_id: str) -> None:
    """``session:write`` on the node of an existing session (an unknown one is left to the store)."""
    _, existing = api.store.session_get(session_id)
    if existing is not None:
        require(caller, caller.authz.session_write(existing.node), "session:write", existing.node)


def install_session(router: Router, api: Api) -> None:
    ctx = api.ctx

    async def create(req: Request) -> Response:
        check_datacenter(ctx, req.arg("dc"))
        command = build_create(api, req)
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.session_write(command.node), "session:write", command.node)
        session_id = await api.write(command)
        return api.reply(req, {"ID": session_id})

    async def destroy(req: Request) -> Response:
        check_datacenter(ctx, req.arg("dc"))
        session_id = _checked_id(req)
        _may_write(await acl_of(req, ctx), api, session_id)
        await api.write(SessionDestroy(id=session_id))
        return api.reply(req, True)

    async def renew(req: Request) -> Response:
        parse_query(req, ctx)
        session_id = _checked_id(req)
        _may_write(await acl_of(req, ctx), api, session_id)
        session = await api.write(SessionRenew(id=session_id))
        if session is None:
            raise HTTPError(404, f"Session id '{session_id}' not found")
        return api.reply(req, [session])

    async def info(req: Request) -> Response:
        opts = parse_query(req, ctx)
        session_id = _checked_id(req)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: Any) -> tuple[int, list[Any]]:
            index, session = api.store.session_get(session_id, ws)
            return index, seen.keep([session] if session is not None else [], readable.session)

        index, sessions, meta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, sessions, headers=seen.mark(read_headers(index, meta)))

    async def for_node(req: Request) -> Response:
        opts = parse_query(req, ctx)
        node = _session_param(req, "node", "Missing node name")
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: Any) -> tuple[int, list[Any]]:
            index, sessions = api.store.node_sessions(node, ws)
            return index, seen.keep(sessions, readable.session)

        index, sessions, meta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, sessions, headers=seen.mark(read_headers(index, meta)))

    async def listing(req: Request) -> Response:
        opts = parse_query(req, ctx)
        seen = AclFilter(await acl_of(req, ctx))

        def read(ws: Any) -> tuple[int, list[Any]]:
            index, sessions = api.store.session_list(ws)
            return index, seen.keep(sessions, readable.session)

        index, sessions, meta = await api.blocker.run(api.backend, opts, seen.wrap(read))
        return api.reply(req, sessions, headers=seen.mark(read_headers(index, meta)))

    router.add("PUT", "/v1/session/create", create)
    router.add("PUT", "/v1/session/destroy/{id:path}", destroy)
    router.add("PUT", "/v1/session/renew/{id:path}", renew)
    router.add("GET", "/v1/session/info/{id:path}", info)
    router.add("GET", "/v1/session/node/{node:path}", for_node)
    router.add("GET", "/v1/session/list", listing)
