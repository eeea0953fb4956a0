"""Operator writes on Raft: remove a peer, transfer leadership.

What lives here: ``DELETE /v1/operator/raft/peer?id=|address=`` (an unknown peer is an error, 500, as
Consul's) and ``POST /v1/operator/raft/transfer-leader[?id=]`` (errors when there is no other voter).
Both go through the server's `RaftBackend`, which forwards to the leader.

ACLs: both need ``operator:write``.

What must never live here: Raft logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.acl.enforce import acl_of, require
from actors.backend import BackendError
from runtime.http import HTTPError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from actors.context import AgentContext


def install_operator_raft(router: Router, ctx: "AgentContext") -> None:
    def raft_parts():  # type: ignore[no-untyped-def]
        shared = ctx.extras.get("raft")
        backend = ctx.extras.get("raft.backend")
        if shared is None or backend is None:
            raise HTTPError(500, "No known Consul servers")
        return shared, backend

    async def operator_write(req: Request) -> None:
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.operator_write(), "operator:write")

    async def remove_peer(req: Request) -> Response:
        await operator_write(req)
        shared, backend = raft_parts()
        peer_id, address = req.arg("id"), req.arg("address")
        if not peer_id and not address:
            raise HTTPError(400, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
        target = None
        members = (*shared.conf.voters, *shared.conf.learners)
        for member in members:
            addr = shared.directory.get(member)
            if member == peer_id or (address and addr and f"{addr[0]}:{addr[1]}" == address):
                target = member
        if target is None:
            what = f"id {peer_id!r}" if peer_id else f"address {address!r}"
            raise HTTPError(500, f"Failed to remove raft peer: {what} was not found in the Raft configuration")
        try:
            await backend.change_membership("remove", target)
        except BackendError as exc:
            raise HTTPError(500, f"Failed to remove raft peer: {exc}") from None
        return Response(200, b"", content_type="text/plain")

    async def transfer(req: Request) -> Response:
        await operator_write(req)
        _, backend = raft_parts()
        try:
            chosen = await backend.transfer_leadership(req.arg("id") or "")
        except BackendError as exc:
            raise HTTPError(500, str(exc)) from None
        return json_response({"Success": True, "To": chosen})

    router.add(["DELETE"], "/v1/operator/raft/peer", remove_peer)
    router.add(["POST", "PUT"], "/v1/operator/raft/transfer-leader", transfer)
