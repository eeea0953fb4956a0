"""``GET/PUT/DELETE /v1/kv/<key>``: Consul's key/value endpoint.

What lives here: the three handlers and their Consul rules. GET reads one key, a prefix
(``?recurse``) or key names (``?keys``, with ``?separator``; also Consul's historic ``?seperator``),
or one key's bytes (``?raw``), blocking on ``?index``; a miss is 404 with an empty body and the
``X-Consul-*`` headers still set. PUT stores the body (``?flags``, ``?cas``, ``?acquire``,
``?release``) and answers ``true``/``false``; DELETE removes a key or prefix (``?recurse``, ``?cas``).

Input rules, with Consul's texts: an empty key needs ``?recurse``/``?keys`` (``Missing key name``);
``..`` segments and encoded traversal are refused (400); a value above
``limits.kv_max_value_size`` is 413 (CVE-2025-11374: the PUT route declares the limit, so the server
refuses an announced oversized body before reading it and a chunked one as soon as it grows past it);
``cas``/``acquire``/``release`` (PUT) and ``recurse``/``cas`` (DELETE) do not combine (``Conflicting
flags: ...``); numbers are unsigned 64-bit. A malformed session UUID in ``?acquire`` is 400; an unknown
one is Consul's 500 ``invalid session "..."``.

ACLs (``kv_acl``): GET ``key:read`` (403), listings filtered key by key (``key:list`` on the prefix
with ``acl.enable_key_list_policy``), PUT ``key:write``, recursive DELETE write on the whole prefix.

What must never live here: the lock/CAS semantics themselves (the store's) or query-string plumbing
shared with other endpoints (``query``).
"""

from __future__ import annotations

from urllib.parse import quote_plus

from actors.acl.enforce import AclFilter, acl_of, require
from actors.api.headers import read_headers
from actors.api.ids import session_id_error
from actors.api.kv_acl import check_listing, check_write, readable_entries, readable_keys
from actors.api.query import check_datacenter, parse_query, parse_uint, present
from actors.api.reply import Api
from actors.state.commands import KVDelete, KVSet
from runtime.http import HTTPError, Request, Response, Router

_ENCODED_TRAVERSAL = ("%2e%2e%2f", "%2e%2e/", "..%2f", "%2e%2e%5c", "%252e%252e%252f")
_DOCS = "https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size"


def too_large(announced: int | None, limit: int) -> str:
    """Consul's 413 text for a KV body over ``kv_max_value_size`` (length unknown when chunked)."""
    if announced is None:
        return f"Request body too large, max size: {limit} bytes. See {_DOCS}."
    return f"Request body({announced} bytes) too large, max size: {limit} bytes. See {_DOCS}."


def go_encode_query(req: Request) -> str:
    """Go's ``url.Values.Encode()``: keys sorted, every key and value query-escaped."""
    parts = []
    for key in sorted(req.query):
        for value in req.query[key]:
            parts.append(f"{quote_plus(key, safe='')}={quote_plus(value, safe='')}")
    return "&".join(parts)


def refuse_conflicts(req: Request, *flags: str) -> None:
    if sum(1 for f in flags if present(req, f)) > 1:
        raise HTTPError(400, f"Conflicting flags: {go_encode_query(req)}\n")


def key_of(req: Request) -> str:
    """The key from the path, refusing traversal and unprintable characters."""
    path = req.path  # decoded, as Go's req.URL.Path
    key = req.params["key"]
    if "../" in path or "..\\" in path or ".." in key.split("/"):
        raise HTTPError(400, "URL path contains invalid traversal sequence")
    if any(p in path.lower() for p in _ENCODED_TRAVERSAL):
        raise HTTPError(400, "URL path contains encoded traversal sequence")
    if not key.isprintable():
        raise HTTPError(400, "Invalid URL path: the key contains non-printable characters")
    return key


def install_kv(router: Router, api: Api) -> None:
    ctx = api.ctx

    async def kv_get(req: Request) -> Response:
        opts = parse_query(req, ctx)
        key = key_of(req)
        caller = await acl_of(req, ctx)
        seen = AclFilter(caller)
        if present(req, "keys") or present(req, "recurse"):
            check_listing(caller, ctx, key)
        if present(req, "keys"):
            sep = req.arg("separator", req.arg("seperator", "")) or ""
            shared = api.shared(req, ("keys", key, sep), shareable=not seen.active)
            index, keys, meta = await api.blocker.run(
                api.backend, opts, shared.wrap(seen.wrap(lambda ws: readable_keys(api.store, key, sep, ws, seen))))
            if (hit := shared.get(meta)) is not None:
                return hit
            headers = seen.mark(read_headers(index, meta))
            if not keys and key:
                return shared.keep(Response(404, b"", headers))
            return shared.keep(api.reply(req, keys, headers=headers))
        if present(req, "recurse"):
            shared = api.shared(req, ("recurse", key), shareable=not seen.active)
            index, entries, meta = await api.blocker.run(
                api.backend, opts, shared.wrap(seen.wrap(lambda ws: readable_entries(api.store, key, ws, seen))))
            if (hit := shared.get(meta)) is not None:
                return hit
            headers = seen.mark(read_headers(index, meta))
            if not entries:
                return shared.keep(Response(404, b"", headers))
            return shared.keep(api.reply(req, entries, headers=headers))
        if not key:
            raise HTTPError(400, "Missing key name")
        require(caller, caller.authz.key_read(key), "key:read", key)
        raw = present(req, "raw")
        shared = api.shared(req, ("get", key, raw))  # the answer no longer depends on the caller
        index, entry, meta = await api.blocker.run(api.backend, opts, shared.wrap(lambda ws: api.store.kv_get(key, ws)))
        if (hit := shared.get(meta)) is not None:
            return hit
        headers = read_headers(index, meta)
        if entry is None:
            return shared.keep(Response(404, b"", headers))
        if raw:
            headers["X-Content-Type-Options"] = "nosniff"
            headers["Content-Security-Policy"] = "sandbox"
            return shared.keep(Response(200, entry.value or b"", headers, content_type="text/plain"))
        return shared.keep(api.reply(req, [entry], headers=headers))

    async def kv_put(req: Request) -> Response:
        check_datacenter(ctx, req.arg("dc"))
        key = key_of(req)
        if not key:
            raise HTTPError(400, "Missing key name")
        refuse_conflicts(req, "cas", "acquire", "release")
        flags = parse_uint(req.arg("flags") or "") if present(req, "flags") else 0
        cas = parse_uint(req.arg("cas") or "") if present(req, "cas") else None
        acquire = req.arg("acquire", "") or ""
        release = req.arg("release", "") or ""
        if (present(req, "acquire") and not acquire) or (present(req, "release") and not release):
            raise HTTPError(400, "missing session")
        if acquire:
            problem = session_id_error(acquire)
            if problem is not None:
                raise HTTPError(400, problem)
        limit = ctx.config.limits.kv_max_value_size
        if len(req.body) > limit:
            raise HTTPError(413, too_large(len(req.body), limit))
        check_write(await acl_of(req, ctx), key)
        command = KVSet(key=key, value=req.body, flags=flags, cas=cas, acquire=acquire, release=release)
        ok = await api.write(command)
        plain = cas is None and not acquire and not release
        return api.reply(req, True if plain else bool(ok))

    async def kv_delete(req: Request) -> Response:
        check_datacenter(ctx, req.arg("dc"))
        key = key_of(req)
        refuse_conflicts(req, "recurse", "cas")
        recurse = present(req, "recurse")
        if not key and not recurse:
            raise HTTPError(400, "Missing key name")
        cas = parse_uint(req.arg("cas") or "") if present(req, "cas") else None
        check_write(await acl_of(req, ctx), key, recurse=recurse)
        ok = await api.write(KVDelete(key=key, recurse=recurse, cas=cas))
        return api.reply(req, bool(ok) if cas is not None else True)

    router.add("GET", "/v1/kv/{key:path}", kv_get)
    router.add("PUT", "/v1/kv/{key:path}", kv_put, max_body_bytes=ctx.config.limits.kv_max_value_size,
               too_large=too_large)
    router.add("DELETE", "/v1/kv/{key:path}", kv_delete)
