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

import weakref
from typing import TYPE_CHECKING, Any, Callable, Hashable, TypeVar

from actors.api.blocking import Blocker
from actors.backend import BackendError, StoreBackend
from actors.state.commands import Command
from actors.state.errors import StoreError
from actors.state.store import StateStore
from runtime.http import HTTPError, Request, Response, json_response

if TYPE_CHECKING:
    from actors.context import AgentContext

T = TypeVar("T")

NO_SERVERS = "No known Consul servers"  # what a Consul client agent says with no server to ask

_KIND_STATUS = {"invalid_input": 400, "too_large": 413}


class Api:
    """What the state endpoints of one agent share."""

    def __init__(self, ctx: "AgentContext") -> None:
        self.ctx = ctx
        self.blocker = Blocker(ctx.rng("api/blocking"))
        self.session_rng = ctx.rng("api/session-id")
        self.replies = ReplyMemo()

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

    def shared(self, req: Request, question: Hashable, shareable: bool = True) -> "SharedReply":
        """A `SharedReply` for ``question`` (everything besides the store's state and ``?pretty`` that
        the answer depends on); ``shareable=False`` (say, an ACL-filtered answer) turns it off."""
        pretty = self.ctx.config.dev or "pretty" in req.query
        return SharedReply(self, (question, pretty) if shareable else None)

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


class ReplyMemo:
    """Answers built once per store version and reused by every read that asks the same question of it.

    When one write wakes thousands of blocking queries on the same key, each would otherwise read the
    store, encode the same JSON and build the same headers. A version is the store object and its
    ``last_index``: every change to a store goes through ``apply``, which raises ``last_index``, so two
    reads at one version asking one question get the same answer. Only the newest version seen is kept
    (older ones are never looked up again: a read is answered right after it ran), and at most
    ``limit`` questions of it, so the memo's size is bounded whatever the traffic; the store is held
    weakly, so a store replaced by a snapshot restore is not kept alive.
    """

    __slots__ = ("limit", "_store", "_index", "_answers")

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._store: weakref.ref[StateStore] | None = None
        self._index = -1
        self._answers: dict[Hashable, tuple[int, bytes, dict[str, str], str]] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def _holds(self, store: StateStore, index: int) -> bool:
        return self._index == index and self._store is not None and self._store() is store

    def get(self, store: StateStore, index: int, key: Hashable) -> Response | None:
        if not self._holds(store, index):
            return None
        answer = self._answers.get(key)
        if answer is None:
            return None
        status, body, headers, content_type = answer
        resp = Response(status, body, dict(headers), content_type)  # headers: the caller's own copy
        resp.repeated = True  # the server may reuse the encoded head too
        return resp

    def put(self, store: StateStore, index: int, key: Hashable, resp: Response) -> None:
        if not self._holds(store, index):
            held = self._store() if self._store is not None else None
            if held is store and index < self._index:
                return  # an older version of the store we hold: nobody will ask for it again
            self._store = weakref.ref(store)
            self._index = index
            self._answers = {}
        if len(self._answers) < self.limit:
            self._answers[key] = (resp.status, resp.body, dict(resp.headers), resp.content_type)


class SharedReply:
    """One request's use of the `ReplyMemo`: `wrap` its read (to learn which store version answered),
    then `get` a shared answer for ``meta`` or build one and `keep` it.

    The key is the question, ``?pretty``, the version and the `ReadMeta` (the ``X-Consul-*`` headers
    come from it), so an answer is only ever reused for a request that would have built the very same
    bytes. Between the read and `get` there must be no ``await`` that lets a write in; the version is
    taken from the read itself, so even then a stale version only misses.
    """

    __slots__ = ("api", "question", "store", "index", "key")

    def __init__(self, api: Api, question: Hashable | None) -> None:
        self.api = api
        self.question = question
        self.store: StateStore | None = None
        self.index = -1
        self.key: Hashable | None = None

    def wrap(self, read: Callable[[Any], T]) -> Callable[[Any], T]:
        """``read``, recording the version of the store (``api.store``) it ran against (the last run
        counts)."""

        def run(ws: Any) -> T:
            current = self.api.store
            self.store, self.index = current, current.last_index
            return read(ws)

        return run

    def get(self, meta: Hashable) -> Response | None:
        if self.question is None or self.store is None:
            return None
        self.key = (self.question, meta)
        return self.api.replies.get(self.store, self.index, self.key)

    def keep(self, resp: Response) -> Response:
        """Remember ``resp`` (a fresh answer to this question) for the next asker; returns it."""
        if self.key is not None and self.store is not None:
            self.api.replies.put(self.store, self.index, self.key, resp)
            resp.repeated = True
        return resp
