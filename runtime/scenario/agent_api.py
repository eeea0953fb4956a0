"""The agent endpoints a scenario uses, over `HttpClient`, with errors that say what is missing.

What lives here: `AgentAPI` (one agent's address; ``get_json``/``put``/``delete`` plus the calls the runner
needs: self, leader, members, actor tree and fault injection, network fault rules, KV read/write/cas,
service registration, TTL check updates, health, events), `MissingEndpoint` (a 404 "not a recognized
HTTP API endpoint" or a 405: "the agent has no PUT /v1/agent/faults endpoint yet") and `AgentError`
(any other non-2xx answer, with its status and body).

What must never live here: retries, timing decisions or history recording (workloads do those).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from .http_client import HttpClient, HttpResponse

CONTROL_TIMEOUT = 5.0


class AgentError(Exception):
    def __init__(self, node: str, method: str, path: str, status: int, body: str) -> None:
        detail = body.strip().splitlines()[0][:200] if body.strip() else "(empty body)"
        super().__init__(f"{node}: {method} {path} answered {status}: {detail}")
        self.status = status
        self.body = body


class MissingEndpoint(AgentError):
    def __init__(self, node: str, method: str, path: str, status: int, body: str) -> None:
        Exception.__init__(self, f"{node}: the agent has no {method} {path.split('?')[0]} endpoint yet "
                                 f"(answered {status})")
        self.status = status
        self.body = body


def _is_missing(resp: HttpResponse) -> bool:
    return resp.status == 405 or (resp.status == 404 and b"not a recognized HTTP API endpoint" in resp.body)


class AgentAPI:
    def __init__(self, node: str, host: str, port: int, client: HttpClient) -> None:
        self.node = node
        self.host = host
        self.port = port
        self.client = client

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def call(self, method: str, path: str, body: bytes | None = None, timeout: float = CONTROL_TIMEOUT,
                   ok: tuple[int, ...] = (200,), retry_stale: bool = True) -> HttpResponse:
        resp = await self.client.request(self.host, self.port, method, path, body, timeout=timeout,
                                         retry_stale=retry_stale)
        if resp.status in ok:
            return resp
        if _is_missing(resp):
            raise MissingEndpoint(self.node, method, path, resp.status, resp.text)
        raise AgentError(self.node, method, path, resp.status, resp.text)

    async def get_json(self, path: str, timeout: float = CONTROL_TIMEOUT) -> Any:
        return json.loads((await self.call("GET", path, timeout=timeout)).body or b"null")

    async def put_json(self, path: str, doc: Any = None, timeout: float = CONTROL_TIMEOUT) -> Any:
        body = None if doc is None else json.dumps(doc).encode()
        resp = await self.call("PUT", path, body, timeout=timeout)
        return json.loads(resp.body or b"null")

    # --- status and membership ------------------------------------------------------------------
    async def self_info(self) -> dict[str, Any]:
        return await self.get_json("/v1/agent/self")

    async def leader(self) -> str:
        return await self.get_json("/v1/status/leader") or ""

    async def members(self, wan: bool = False) -> list[dict[str, Any]]:
        return await self.get_json("/v1/agent/members" + ("?wan=1" if wan else ""))

    # --- actors and faults ----------------------------------------------------------------------
    async def actor_tree(self) -> dict[str, Any]:
        return await self.get_json("/v1/agent/actors")

    async def inject(self, op: str, actor_path: str) -> None:
        await self.call("PUT", f"/v1/agent/actors/{op}?path={quote(actor_path, safe='')}")

    async def set_faults(self, rules: list[dict[str, Any]]) -> None:
        await self.call("PUT", "/v1/agent/faults", json.dumps({"Rules": rules}).encode())

    async def clear_faults(self) -> None:
        await self.call("DELETE", "/v1/agent/faults")

    # --- KV (workloads pass their own timeout and never retry) --------------------------------------
    async def kv_get(self, key: str, consistency: str = "default", timeout: float = CONTROL_TIMEOUT,
                     retry_stale: bool = True, dc: str | None = None) -> tuple[str | None, int]:
        """(value or None when absent, ModifyIndex or 0); ``dc``: read another datacenter's KV."""
        params = ([] if consistency == "default" else [consistency]) + ([f"dc={quote(dc)}"] if dc else [])
        query = "?" + "&".join(params) if params else ""
        resp = await self.call("GET", f"/v1/kv/{quote(key)}{query}", timeout=timeout, ok=(200, 404),
                               retry_stale=retry_stale)
        if resp.status == 404:
            return None, 0
        entry = json.loads(resp.body)[0]
        raw = entry.get("Value")
        value = None if raw is None else base64.b64decode(raw).decode("utf-8", "replace")
        return value, int(entry.get("ModifyIndex", 0))

    async def kv_put(self, key: str, value: str, cas: int | None = None, timeout: float = CONTROL_TIMEOUT,
                     retry_stale: bool = True, dc: str | None = None) -> bool:
        params = ([] if cas is None else [f"cas={cas}"]) + ([f"dc={quote(dc)}"] if dc else [])
        query = "?" + "&".join(params) if params else ""
        resp = await self.call("PUT", f"/v1/kv/{quote(key)}{query}", value.encode(), timeout=timeout,
                               retry_stale=retry_stale)
        return bool(json.loads(resp.body or b"false"))

    # --- services, checks, health, events -------------------------------------------------------
    async def register_service(self, definition: dict[str, Any]) -> None:
        await self.call("PUT", "/v1/agent/service/register", json.dumps(definition).encode())

    async def deregister_service(self, service_id: str) -> None:
        await self.call("PUT", f"/v1/agent/service/deregister/{quote(service_id, safe='')}")

    async def update_ttl(self, check_id: str, status: str) -> None:
        verb = {"passing": "pass", "warning": "warn", "critical": "fail"}[status]
        await self.call("PUT", f"/v1/agent/check/{verb}/{quote(check_id, safe='')}")

    async def health_service(self, service: str) -> list[dict[str, Any]]:
        return await self.get_json(f"/v1/health/service/{quote(service, safe='')}")

    async def fire_event(self, name: str, payload: bytes) -> None:
        await self.call("PUT", f"/v1/event/fire/{quote(name, safe='')}", payload)

    async def blocking_get(self, path: str, index: int, wait: float) -> HttpResponse:
        sep = "&" if "?" in path else "?"
        return await self.call("GET", f"{path}{sep}index={index}&wait={int(wait * 1000)}ms",
                               timeout=wait + CONTROL_TIMEOUT, ok=(200, 404))
