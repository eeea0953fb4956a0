"""The ACL token a request carries, found where Consul looks for it.

What lives here: `token_of(req)`: ``?token=`` first, else ``X-Consul-Token``, else
``Authorization: Bearer <secret>`` (the scheme case-insensitive, the first word after it); None when
the request carries none. Kept apart from ``resolve`` so that modules ``resolve`` depends on (the
forwarding client) can use it without an import cycle.

What must never live here: resolution, defaults (the agent's default token is ``resolve``'s), or
logging of the value.
"""

from __future__ import annotations

from runtime.http import Request


def token_of(req: Request) -> str | None:
    query = req.arg("token")
    if query:
        return query
    header = req.header("X-Consul-Token")
    if header:
        return header
    auth = req.header("Authorization")
    if auth:
        parts = auth.split(" ")
        if len(parts) > 1 and parts[0].lower() == "bearer":
            value = " ".join(parts[1:]).strip()
            if value:
                return value.split(" ")[0]
    return None
