"""One parsed HTTP request, as handlers see it.

What lives here: `Request` (method, decoded and raw path, lazily parsed query and headers, body, client
address, router-filled path parameters) and `Headers`, the case-insensitive header mapping. Query and
headers are only materialised when a handler asks for them, so a request nobody inspects costs little.

What must never live here: socket IO, routing, response building, or anything Consul specific.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterable, Mapping
from urllib.parse import unquote, unquote_plus, urlsplit

import msgspec

from .response import HTTPError

HeaderPairs = Iterable[tuple[bytes | str, bytes | str]]

NO_PARAMS: Mapping[str, str] = MappingProxyType({})  # shared, read-only: routes without parameters


class Headers(dict[str, str]):
    """Request headers: lowercase name -> value (the last one wins when a name repeats).

    Lookups lowercase the name, so ``h["Content-Type"]`` and ``h.get("content-type")`` agree.
    `getall` returns every value of a repeated header, in the order received.
    """

    __slots__ = ("_repeated",)

    def __init__(self, pairs: HeaderPairs = ()) -> None:
        super().__init__()
        self._repeated: dict[str, list[str]] | None = None
        for name, value in pairs:
            if isinstance(name, bytes):
                name = name.decode("latin-1")
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            key = name.lower()
            if dict.__contains__(self, key):
                if self._repeated is None:
                    self._repeated = {}
                self._repeated.setdefault(key, [dict.__getitem__(self, key)]).append(value)
            dict.__setitem__(self, key, value)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)

    def getall(self, name: str) -> list[str]:
        """Every value received for ``name`` (empty list when absent)."""
        key = name.lower()
        if self._repeated is not None and key in self._repeated:
            return list(self._repeated[key])
        value = dict.get(self, key)
        return [] if value is None else [value]


def parse_query(qs: str) -> dict[str, list[str]]:
    """Split ``a=1&a=2&flag`` into ``{"a": ["1", "2"], "flag": [""]}``; ``+`` means space, as in Go."""
    out: dict[str, list[str]] = {}
    if not qs:
        return out
    for part in qs.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        values = out.get(key)
        if values is None:
            out[key] = [value]
        else:
            values.append(value)
    return out


class Request:
    """An HTTP request.

    ``path`` is percent-decoded; ``raw_path`` is exactly what the client sent (minus the query), which
    is what the router matches so that an encoded ``/`` (``%2F``) stays inside one path parameter.
    ``params`` holds the router's (decoded) path parameters (read-only and empty for a route without
    any).
    """

    __slots__ = (
        "method",
        "path",
        "raw_path",
        "raw_query",
        "body",
        "client",
        "params",
        "http_version",
        "keep_alive",
        "_raw_headers",
        "_headers",
        "_query",
    )

    def __init__(
        self,
        method: str,
        target: str,
        headers: HeaderPairs | Mapping[str, str] = (),
        body: bytes = b"",
        client: tuple[str, int] = ("", 0),
        http_version: str = "1.1",
        keep_alive: bool = True,
    ) -> None:
        self.method = method
        if target[:1] != "/" and "://" in target:  # absolute-form request target
            parts = urlsplit(target)
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        q = target.find("?")
        if q < 0:
            raw_path, self.raw_query = target, ""
        else:
            raw_path, self.raw_query = target[:q], target[q + 1 :]
        self.raw_path = raw_path
        self.path = unquote(raw_path) if "%" in raw_path else raw_path
        self.body = body
        self.client = client
        self.params: Mapping[str, str] = NO_PARAMS
        self.http_version = http_version
        self.keep_alive = keep_alive
        if type(headers) is not list and isinstance(headers, Mapping):
            headers = list(headers.items())
        self._raw_headers = headers
        self._headers: Headers | None = None
        self._query: dict[str, list[str]] | None = None

    @property
    def headers(self) -> Headers:
        h = self._headers
        if h is None:
            h = self._headers = Headers(self._raw_headers)
        return h

    @property
    def raw_headers(self) -> list[tuple[bytes | str, bytes | str]]:
        """Header (name, value) pairs as received, in order, names not case-folded."""
        return list(self._raw_headers)

    @property
    def query(self) -> dict[str, list[str]]:
        q = self._query
        if q is None:
            q = self._query = parse_query(self.raw_query)
        return q

    @property
    def target(self) -> str:
        """The raw request target: ``raw_path`` plus ``?query`` when there is one."""
        return self.raw_path + "?" + self.raw_query if self.raw_query else self.raw_path

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter ``name`` (``""`` for a bare ``?name``), else ``default``."""
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> bool:
        """True when ``?name`` is present and its value is not ``false``."""
        values = self.query.get(name)
        return values is not None and values[0].lower() != "false"

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def json(self, type: Any = Any) -> Any:
        """Decode the body as JSON (optionally into ``type``); a bad body raises HTTPError 400."""
        try:
            return msgspec.json.decode(self.body, type=type)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise HTTPError(400, f"Request decode failed: {exc}") from None
        except RecursionError:  # msgspec's answer to ~1000 levels of nesting
            raise HTTPError(400, "Request decode failed: JSON nested too deeply") from None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path}>"  # no query: it may carry credentials (?token=)
