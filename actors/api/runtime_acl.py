"""ACLs for the endpoints the generic runtime serves (``runtime/inspect.py``), which cannot know about
ACLs themselves (``runtime`` never imports ``actors``).

What lives here: `install_runtime_acl(router, ctx)`, a router before-hook (it runs for plain requests
and before a websocket handshake is accepted) that demands:

* ``operator:read`` for the inspector: ``GET /v1/agent/actors`` and its websocket;
* ``operator:write`` for fault injection: ``/v1/agent/actors/crash|stop|restart`` and every method
  of ``/v1/agent/faults`` (a rule table that can partition the cluster is a write-level secret).

A refused request gets Consul's 403 text; an unknown token ``ACL not found``. With ACLs disabled the
hook is not installed at all.

What must never live here: the inspector or fault logic (``runtime``), or other endpoints' rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.acl.enforce import acl_of, require
from runtime.http import Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext

INSPECTOR = "/v1/agent/actors"
FAULT_PATHS = frozenset({f"{INSPECTOR}/crash", f"{INSPECTOR}/stop", f"{INSPECTOR}/restart", "/v1/agent/faults"})


def needed(path: str) -> str | None:
    """The permission a runtime path needs ("operator:read" | "operator:write"), None if not ours."""
    if path in FAULT_PATHS:
        return "operator:write"
    if path == INSPECTOR:
        return "operator:read"
    return None


def install_runtime_acl(router: Router, ctx: "AgentContext") -> None:
    if not ctx.config.acl.enabled:
        return

    async def gate(req: Request) -> Response | None:
        permission = needed(req.path.rstrip("/") or "/")
        if permission is None:
            return None
        caller = await acl_of(req, ctx)
        allowed = caller.authz.operator_write() if permission == "operator:write" else caller.authz.operator_read()
        require(caller, allowed, permission)
        return None

    router.before.append(gate)
