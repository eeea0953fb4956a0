"""The catalog as a client agent's syncer sees it: through a server, over the server port.

What lives here: `RemoteCatalog`, with the two calls anti-entropy needs on an agent that holds no
replica: ``node_view(node)`` (services and checks the catalog holds for this node) and
``write(command)`` (commit one of this node's registrations; the result carries the store's typed
error, if any). Both go to an alive server of this datacenter found through gossip, trying the next
one only when a server could not be reached before the request was sent. Each carries the ACL token
the syncer chose for it (``actors/catalog/tokens.py``); a server's ACL refusal comes back as
`ACLRefused` (raised by ``node_view``, in the result's ``error`` for ``write``), a `StoreError`:
nothing was written, and its text names the token's AccessorID, never its secret.

What must never live here: the anti-entropy plan (``actors/catalog/diff.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.backend import BackendError, NoLeader
from actors.forward.client import known_servers
from actors.forward.messages import ACL_REFUSED, ApplyCommand, ApplyOutcome, NodeView, NodeViewResult
from actors.state.commands import Command, encode_command
from actors.state.errors import StoreError
from runtime.messages import Error
from runtime.transport.errors import RpcError, RpcRemoteError, RpcUnreachable

if TYPE_CHECKING:
    from actors.context import AgentContext


class ACLRefused(StoreError):
    """A server refused a sync call for its token ("Permission denied: ..." or "ACL not found")."""

    kind = "acl"


def _error_of(error: Error) -> StoreError:
    if error.kind == ACL_REFUSED:
        return ACLRefused(error.message)
    return StoreError.from_message(error)


class RemoteApplied:
    """The outcome of a forwarded command, shaped like `actors.state.store.Applied` for its users."""

    def __init__(self, index: int, error: StoreError | None) -> None:
        self.index = index
        self.error = error
        self.value = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return None


class RemoteCatalog:
    def __init__(self, ctx: "AgentContext", timeout: float = 10.0) -> None:
        self.ctx = ctx
        self.timeout = timeout

    async def _call(self, request: Any) -> Any:
        client = self.ctx.extras.get("forward.client")
        servers = known_servers(self.ctx)
        if client is None or not servers:
            raise BackendError("no known Consul servers")
        last = ""
        for address in servers:
            try:
                return await client.call(address, request, timeout=self.timeout)
            except RpcUnreachable as exc:
                last = str(exc)
            except RpcRemoteError as exc:
                if exc.error.kind in ("NoLeader", "NotReady"):
                    raise NoLeader() from None
                raise BackendError(exc.error.message) from None
            except RpcError as exc:
                raise BackendError(str(exc)) from None
        raise BackendError(f"no server reachable ({last})")

    async def node_view(self, node: str, *, token: str = "") -> NodeViewResult:
        """What the catalog holds for ``node``, as far as ``token`` may read it."""
        result = await self._call(NodeView(node=node, token=token))
        assert isinstance(result, NodeViewResult)
        if result.error is not None:
            raise _error_of(result.error)
        return result

    async def write(self, command: Command, *, token: str = "") -> RemoteApplied:
        outcome = await self._call(ApplyCommand(command=encode_command(command), token=token))
        assert isinstance(outcome, ApplyOutcome)
        error = None if outcome.error is None else _error_of(outcome.error)
        return RemoteApplied(outcome.index, error)
