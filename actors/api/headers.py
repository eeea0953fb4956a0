"""The ``X-Consul-*`` response headers a read reports.

What lives here: `read_headers` (index, known leader, last contact, effective consistency: what
Consul's ``setMeta`` sets on every blocking-capable read, errors-free 404s included) and
`leader_headers` (the two that an all-read transaction gets). ``X-Consul-Index`` is never 0: Consul
turns 0 into 1 so that a client's next ``?index=`` really blocks.

What must never live here: header policy shared by every endpoint (``actors/api/common.py`` owns
``X-Consul-Default-ACL-Policy``) or anything that computes an index.
"""

from __future__ import annotations

from actors.backend import ReadMeta


def index_header(index: int) -> str:
    return str(index if index > 0 else 1)


def leader_headers(meta: ReadMeta) -> dict[str, str]:
    return {
        "X-Consul-KnownLeader": "true" if meta.known_leader else "false",
        "X-Consul-LastContact": str(max(0, meta.last_contact_ms)),
    }


def read_headers(index: int, meta: ReadMeta) -> dict[str, str]:
    headers = {"X-Consul-Index": index_header(index)}
    headers.update(leader_headers(meta))
    headers["X-Consul-Effective-Consistency"] = meta.consistency
    return headers
