"""How the state endpoints answer: JSON bodies, the backend they talk to, and write errors as statuses.

What lives here: `Api`, the per-agent bundle every state endpoint closes over (the context, the
backend check, the blocking loop, the session-ID stream), `json_reply` (compact JSON, or Consul's
``-dev``/``?pretty`` 4-space indentation with a trailing newline), and `Api.write`, which commits one
command and maps failures the way Consul reports them: a `StoreError` in ``Applied.error`` becomes
``invalid_input`` → 400, ``too_large`` → 413, ``not_found`` → the status the endpoint names (404 only
where Consul answers 404, else 500), anything else → 500; the plain-text body is the error's message.
A refused command wrote nothing, so a 4xx here is never a partial write.

What must never live here: endpoint logic or query-string parsing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.api.blocking import Blocker
from actors.backend import BackendError, StoreBackend
from actors.state.commands import Command
from actors.state.errors import StoreError
from actors.state.store import StateStore
from runtime.http import HTTPError, Request, Response, json_response

if TYPE_CHECKING:
    from actors.context import AgentContext

NO_SERVERS = "No known Consul servers"  # what a Consul client agent says with no server to ask

_KIND_STATUS = {"invalid_input": 400, "too_large": 413}


class Api:
    """What the state endpoints of one agent share."""

    def __init__(self, ctx: "AgentContext") -> None:
        self.ctx = ctx
        self.blocker = Blocker(ctx.rng("api/blocking"))
        self.session_rng = ctx.rng("api/session-id")

    @property
    def backend(self) -> StoreBackend:
        backend = self.ctx.backend
        if backend is None:
            raise HTTPError(500, NO_SERVERS)
        return backend

    @property
    def store(self) -> StateStore:
        """The backend's current store (read afresh: a snapshot restore may replace it)."""
        return self.backend.store

    def reply(self, req: Request, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return json_reply(self.ctx, req, obj, status, headers)

    async def write(self, command: Command, not_found: int = 500) -> Any:
        """Commit ``command``; return its result, or raise the HTTPError Consul would answer with."""
        try:
            applied = await self.backend.write(command)
        except BackendError as err:
            raise HTTPError(err.status, str(err)) from None
        if applied.error is not None:
            raise store_error(applied.error, not_found)
        return applied.value


def store_error(err: StoreError, not_found: int = 500) -> HTTPError:
    status = not_found if err.kind == "not_found" else _KIND_STATUS.get(err.kind, 500)
    return HTTPError(status, err.message)


def json_reply(
    ctx: "AgentContext", req: Request, obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    pretty = ctx.config.dev or "pretty" in req.query
    return json_response(obj, status=status, headers=headers, pretty=pretty)
