"""Query-string parsing shared by the state endpoints, with Consul's rules and error texts.

What lives here: `QueryOptions` and `parse_query` (consistency flags, ``max_stale``, ``wait`` and
``index``, ``dc``, ``filter``), in the order Consul checks them (consistency, then wait/index, then the
datacenter, then the filter), plus the small parsers endpoints share: Go-style unsigned integers and
booleans, presence flags, ``node-meta`` pairs, and the datacenter check used by writes.

Consul reads most flags by *presence* (``?recurse``, ``?stale``, ``?keys``...): ``?recurse=false`` still
recurses. `present` says exactly that; use it rather than ``Request.flag`` for Consul's flags.

What must never live here: running queries, blocking, or building responses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.api.filter import FieldSchema, Filter, FilterError, compile_filter
from actors.state.durations import parse_duration_ns
from runtime.http import HTTPError, Request

if TYPE_CHECKING:
    from actors.backend import Consistency
    from actors.context import AgentContext

DEFAULT_WAIT = 300.0  # seconds: Consul's default_query_time (5 min)
MAX_WAIT = 600.0  # seconds: Consul's max_query_time (10 min)
JITTER_FRACTION = 16  # a blocking query's wait gets up to wait/16 of random extra time

_UINT = re.compile(r"[0-9]+")
_UINT64_MAX = 2**64 - 1
_UINT64_DIGITS = len(str(_UINT64_MAX))  # 20
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """A read's parsed options. ``min_index == 0`` means "do not block"; ``wait`` is in seconds,
    already defaulted and capped (jitter is added by the blocking loop)."""

    mode: "Consistency" = "default"
    max_stale: float | None = None
    min_index: int = 0
    wait: float = DEFAULT_WAIT
    filter: Filter | None = None

    @property
    def blocking(self) -> bool:
        return self.min_index > 0


def present(req: Request, name: str) -> bool:
    """Consul's ``_, ok := params[name]``: the parameter is there, whatever its value."""
    return name in req.query


def parse_uint(text: str) -> int:
    """Go's ``strconv.ParseUint(text, 10, 64)``; raises HTTPError 400 with Go's wording."""
    if not _UINT.fullmatch(text):
        raise HTTPError(400, f'strconv.ParseUint: parsing "{text}": invalid syntax')
    # Length first: int() refuses strings over 4300 digits with a ValueError (a 500 if it escaped).
    if len(text.lstrip("0")) > _UINT64_DIGITS or int(text) > _UINT64_MAX:
        raise HTTPError(400, f'strconv.ParseUint: parsing "{text}": value out of range')
    return int(text)


def parse_go_bool(text: str) -> bool:
    """Go's ``strconv.ParseBool``; raises ValueError for anything else."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    raise ValueError(text)


def bool_param(req: Request, name: str, message: str) -> bool:
    """A boolean parameter read like Consul's ``getBoolQueryParam``: bare ``?name`` is true."""
    if name not in req.query:
        return False
    value = req.arg(name) or ""
    if value == "":
        return True
    try:
        return parse_go_bool(value)
    except ValueError:
        raise HTTPError(400, message) from None


def node_meta(req: Request) -> dict[str, str]:
    """``?node-meta=key:value`` pairs (repeatable); a pair without ``:`` means an empty value."""
    out: dict[str, str] = {}
    for pair in req.query.get("node-meta", ()):
        key, _, value = pair.partition(":")
        out[key] = value
    return out


def meta_matches(meta: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(meta.get(k) == v for k, v in wanted.items())


def check_datacenter(ctx: "AgentContext", dc: str | None) -> None:
    """Any datacenter but ours is unreachable here: 500 like Consul's router. Requests with ``?dc=<other>``
    are sent to that datacenter before their handler runs (``actors/wan/router.py``); what still gets
    here (e.g. a body's ``Datacenter`` naming another one) is refused."""
    if dc and dc != ctx.config.datacenter:
        raise HTTPError(500, "No path to datacenter")


def _consistency(req: Request) -> tuple["Consistency", float | None]:
    stale = present(req, "stale")
    consistent = present(req, "consistent")
    max_stale: float | None = None
    raw = req.arg("max_stale")
    if raw:
        try:
            ns = parse_duration_ns(raw)
        except ValueError:
            raise HTTPError(400, f'Invalid max_stale value "{raw}"') from None
        if ns > 0:
            stale = True
            max_stale = ns / 1e9
    if stale and consistent:
        raise HTTPError(400, "Cannot specify ?stale with ?consistent, conflicting semantics.")
    if present(req, "cached") and consistent:
        raise HTTPError(400, "Cannot specify ?cached with ?consistent, conflicting semantics.")
    if consistent:
        return "consistent", None
    if stale:
        return "stale", max_stale
    return "default", None


def _wait(req: Request) -> float:
    raw = req.arg("wait")
    if not raw:
        return DEFAULT_WAIT
    try:
        seconds = parse_duration_ns(raw) / 1e9
    except ValueError:
        raise HTTPError(400, "Invalid wait time") from None
    if seconds <= 0:
        return DEFAULT_WAIT
    return min(seconds, MAX_WAIT)


def _index(req: Request) -> int:
    raw = req.arg("index")
    if not raw:
        return 0
    if not _UINT.fullmatch(raw) or len(raw.lstrip("0")) > _UINT64_DIGITS or int(raw) > _UINT64_MAX:
        raise HTTPError(400, "Invalid index")
    return int(raw)


def compile_query_filter(req: Request, fields: FieldSchema | None) -> Filter | None:
    text = req.arg("filter")
    if not text:
        return None
    try:
        return compile_filter(text, fields)
    except FilterError as err:
        raise HTTPError(400, str(err)) from None


def parse_query(req: Request, ctx: "AgentContext", fields: FieldSchema | None = None, *,
                any_datacenter: bool = False) -> QueryOptions:
    """Everything a read endpoint needs from the query string, validated in Consul's order.
    ``any_datacenter``: the endpoint answers from this agent whatever ``dc`` says (event list)."""
    mode, max_stale = _consistency(req)
    wait = _wait(req)
    min_index = _index(req)
    if not any_datacenter:
        check_datacenter(ctx, req.arg("dc"))
    flt = compile_query_filter(req, fields)
    return QueryOptions(mode=mode, max_stale=max_stale, min_index=min_index, wait=wait, filter=flt)


def apply_filter(opts: QueryOptions, records: Any) -> Any:
    """Run the compiled ``?filter=`` over a list (or a dict's values); evaluation errors are 400s."""
    if opts.filter is None:
        return records
    try:
        return opts.filter.apply(records)
    except FilterError as err:
        raise HTTPError(400, str(err)) from None
