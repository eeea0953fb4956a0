"""The RPC envelope: what request/response traffic looks like on a stream of kind "rpc".

What lives here: `RpcRequest` (a request id and the caller's request, already msgpack-encoded), and the
two answers, `RpcResponse` (the handler's return value, encoded) and `RpcFailure` (a boxed
`runtime.messages.Error`). Bodies travel as `msgspec.Raw` so the envelope is decoded once at the edge
while each side decodes the body with its own typed decoder (the tagged Unions the protocol declares);
many requests share one connection and replies come back in any order, matched by ``id``.

What must never live here: the request and response types of any protocol. Tags are wire format: add
new ones, never rename.
"""

from __future__ import annotations

import msgspec

from runtime.messages import Error, Message


class RpcRequest(Message, tag="rpc.request"):
    id: int
    body: msgspec.Raw


class RpcResponse(Message, tag="rpc.response"):
    id: int
    body: msgspec.Raw


class RpcFailure(Message, tag="rpc.failure"):
    id: int
    error: Error


RpcReply = RpcResponse | RpcFailure
