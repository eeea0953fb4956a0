"""Conventions every Consul endpoint shares, installed once on the router.

What lives here: the hooks that give every response Consul's common headers
(``X-Consul-Default-ACL-Policy`` on every answer, even with ACLs off, as Consul 1.9+ does) and the
``-dev`` pretty-printing rule.

What must never live here: endpoint logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.http import Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext


def install_common(router: Router, ctx: "AgentContext") -> None:
    policy = ctx.config.acl.default_policy if ctx.config.acl.enabled else "allow"

    def consul_headers(req: Request, resp: Response) -> None:
        resp.headers.setdefault("X-Consul-Default-ACL-Policy", policy)

    router.after.append(consul_headers)
