"""``PUT /v1/acl/bootstrap``: the first management token, once per cluster (or once per reset).

What lives here: the handler. No token is needed. Before proposing, the local tables are consulted as
Consul's leader does: once bootstrapped, ``<data_dir>/acl-bootstrap-reset`` on this server must hold
the current reset index (the index of the last bootstrap), else 403 ``Permission denied: ACL
bootstrap no longer allowed (reset index: N)``; a wrong number is a 500 ``Invalid bootstrap reset
index (specified X, reset index: N)``. The file is removed once read with the right number. The
state store makes the final decision when the command applies (two racing bootstraps: one wins).

The answer is the token with the deprecated ``ID`` (= SecretID) in front and the description
``Bootstrap Token (Global Management)``. An optional body ``{"BootstrapSecret": "<uuid>"}`` chooses
the SecretID (Consul 1.19+).

Known gap: Consul forwards the bootstrap to the leader and reads the reset file there; proconsul
reads it on the server that received the request (the write itself still goes through the leader).

What must never live here: the bootstrap rule itself (``actors/state/acl_tables``).
"""

from __future__ import annotations

from actors.acl.bootstrap_reset import read_reset_index, remove_reset_file
from actors.acl.authz_errors import ERR_PERMISSION_DENIED
from actors.api.acl_common import AclApi, reserved, uuid_error
from actors.api.acl_io import bootstrap_json
from actors.api.decode import fold_key, read_json
from actors.state.acl_commands import ACLBootstrap
from actors.state.acl_tables import BOOTSTRAP_NOT_ALLOWED
from runtime.http import HTTPError, Request, Response, Router

PREFIX = "Request decoding failed: "


def _bootstrap_secret(raw: bytes) -> str:
    if not raw.strip():
        return ""
    body = read_json(raw, PREFIX)
    if not isinstance(body, dict):
        raise HTTPError(400, f"{PREFIX}expected a JSON object")
    for key, value in body.items():
        if fold_key(key) == "bootstrapsecret" and value:
            if not isinstance(value, str) or uuid_error(value) or reserved(value):
                raise HTTPError(400, "BootstrapSecret must be a valid UUID")
            return value
    return ""


def install_acl_bootstrap(router: Router, acl: AclApi) -> None:
    api, ctx = acl.api, acl.ctx

    async def bootstrap(req: Request) -> Response:
        acl.ensure_enabled()
        secret = _bootstrap_secret(req.body)
        store = api.store
        if secret and (store.acl_token_by_secret(secret)[1] or store.acl_token_by_accessor(secret)[1]):
            raise HTTPError(500, "Invalid Token: SecretID is already in use")
        allowed, reset_index = store.acl_can_bootstrap()
        specified = 0
        if not allowed:
            specified = read_reset_index(ctx.config.data_dir)
            if specified == 0:
                raise HTTPError(403, f"{ERR_PERMISSION_DENIED}: {BOOTSTRAP_NOT_ALLOWED} (reset index: {reset_index})")
            if specified != reset_index:
                raise HTTPError(500, f"Invalid bootstrap reset index (specified {specified}, reset index: {reset_index})")
        remove_reset_file(ctx.config.data_dir)
        command = ACLBootstrap(accessor_id=acl.new_id(), secret_id=secret or acl.new_secret(), reset_index=specified)
        try:
            token = await acl.write(command)
        except HTTPError as err:
            if BOOTSTRAP_NOT_ALLOWED in err.message:
                raise HTTPError(403, f"{ERR_PERMISSION_DENIED}: {err.message}") from None
            raise
        return api.reply(req, bootstrap_json(token, api.store))

    router.add("PUT", "/v1/acl/bootstrap", bootstrap)
