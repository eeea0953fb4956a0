"""What the agent-local endpoints share: body decoding, error mapping, replies, the enable flag.

What lives here: `MAX_AGENT_BODY` (the registration endpoints' body cap), `read_body` (JSON with Consul's "Request decode failed" wording), `local_errors` (a
context manager turning the local agent's `DefinitionError` / `PersistError` into the HTTP answer Consul
gives), `reply` / `empty` (JSON or the empty 200 of write endpoints), `enable_flag` (``?enable=`` parsed as
Go's ``strconv.ParseBool``) and `wait_seconds` (``?wait=`` for hash-based blocking).

What must never live here: endpoint logic.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from actors.api.decode import read_json
from actors.api.query import DEFAULT_WAIT, MAX_WAIT, parse_go_bool
from actors.api.reply import json_reply
from actors.local.definitions import DecodeError, DefinitionError
from actors.local.local_agent import PersistError
from actors.state.durations import parse_duration_ns
from runtime.http import HTTPError, Request, Response

if TYPE_CHECKING:
    from actors.context import AgentContext

DECODE_PREFIX = "Request decode failed: "

# The largest body the agent's registration and check-update endpoints take, refused with 413 before
# it is read or any token is resolved (Consul caps these four endpoints at 512 KiB since SECVULN-50418).
MAX_AGENT_BODY = 512 * 1024


def read_body(req: Request) -> Any:
    return read_json(req.body, DECODE_PREFIX)  # EOF, syntax and nesting errors are 400s


@contextmanager
def local_errors() -> Iterator[None]:
    try:
        yield
    except DecodeError as err:
        raise HTTPError(400, f"{DECODE_PREFIX}{err.message}") from None
    except DefinitionError as err:
        raise HTTPError(err.status, err.message) from None
    except PersistError as err:
        raise HTTPError(500, str(err)) from None


def reply(ctx: "AgentContext", req: Request, obj: Any, status: int = 200,
          headers: dict[str, str] | None = None) -> Response:
    return json_reply(ctx, req, obj, status, headers)


def empty() -> Response:
    return Response(200, b"")


def enable_flag(req: Request) -> bool:
    if "enable" not in req.query:
        raise HTTPError(400, "Missing value for enable")
    raw = req.arg("enable") or ""
    try:
        return parse_go_bool(raw)
    except ValueError:
        raise HTTPError(400, f'Invalid value for enable: "{raw}"') from None


def wait_seconds(req: Request) -> float:
    raw = req.arg("wait")
    if not raw:
        return DEFAULT_WAIT
    try:
        seconds = parse_duration_ns(raw) / 1e9
    except ValueError:
        raise HTTPError(400, "Invalid wait time") from None
    return min(seconds, MAX_WAIT) if seconds > 0 else DEFAULT_WAIT
