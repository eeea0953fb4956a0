"""What every ACL endpoint shares: the "ACLs off" answer, the acl:read/acl:write gate, IDs and secrets.

What lives here: `AclApi` (the `Api` bundle plus the ACL endpoints' ID stream), `ensure_enabled`
(Consul's 401 ``ACL support disabled``), `require` (resolve the caller and demand ``acl:read`` or
``acl:write``, worded by `permission_denied`), `write` (commit a command; Consul's plain errors are
500s), `uuid_error`/`reserved` (Consul's checks of caller-chosen IDs) and `not_exist` (the 404 text
for a missing token or policy: ``Requested token does not exist: ACL not found``).

IDs. AccessorIDs and policy IDs are public handles: they come from the agent's seeded
``api/acl-id`` stream like session IDs. SecretIDs are bearer credentials: they come from the operating
system's CSPRNG (``secrets``), never from a seeded stream whose seed is logged at start-up.

What must never live here: an endpoint's own flow (``acl_token``, ``acl_policy``, ``acl_bootstrap``).
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from actors.acl.authorizer import Authorizer
from actors.acl.authz_errors import ERR_DISABLED, ERR_NOT_FOUND, permission_denied
from actors.acl.resolve import identify
from actors.api.ids import new_uuid
from actors.api.reply import Api
from actors.state.acl_models import RESERVED_PREFIX
from runtime.http import HTTPError, Request

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class AclApi:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.ctx = api.ctx
        self.id_rng = api.ctx.rng("api/acl-id")

    def new_id(self) -> str:
        """A fresh public ID (AccessorID, policy ID) not used by any token or policy here."""
        store = self.api.store
        while True:
            candidate = new_uuid(self.id_rng)
            if not (store.acl_token_by_accessor(candidate)[1] or store.acl_token_by_secret(candidate)[1]
                    or store.acl_policy_by_id(candidate)[1]):
                return candidate

    def new_secret(self) -> str:
        """A fresh SecretID from the CSPRNG (see the module docstring)."""
        store = self.api.store
        while True:
            candidate = str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))
            if not (store.acl_token_by_secret(candidate)[1] or store.acl_token_by_accessor(candidate)[1]):
                return candidate

    def ensure_enabled(self) -> None:
        if not self.ctx.config.acl.enabled:
            raise HTTPError(401, ERR_DISABLED)

    async def require(self, req: Request, level: str) -> tuple[Authorizer, str]:
        """The caller's authorizer and AccessorID, after checking ``acl:<level>`` (read | write)."""
        self.ensure_enabled()
        authz, accessor = await identify(req, self.ctx)
        allowed = authz.acl_write() if level == "write" else authz.acl_read()
        if not allowed:
            raise HTTPError(403, permission_denied(accessor, f"acl:{level}"))
        return authz, accessor

    async def write(self, command: Any) -> Any:
        return await self.api.write(command)


def uuid_error(text: str) -> bool:
    """True when ``text`` is not a UUID (hashicorp/go-uuid ParseUUID's rule)."""
    return _UUID.fullmatch(text) is None


def reserved(text: str) -> bool:
    return text.startswith(RESERVED_PREFIX)


def reserved_message() -> str:
    return f'Invalid Token: UUIDs with the prefix "{RESERVED_PREFIX}" are reserved'


def not_exist(what: str) -> HTTPError:
    return HTTPError(404, f"Requested {what} does not exist: {ERR_NOT_FOUND}")
