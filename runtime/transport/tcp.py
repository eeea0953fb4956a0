"""The stream side of the transport, in one import.

What lives here: nothing is defined here; it gathers the public names of the stream modules so that
protocols write ``from runtime.transport.tcp import PeerLink, RpcClient, ...``:

- `FramedConnection`, `connect` (``connection``): typed frames over one stream, faults on the sending side;
- `StreamListener`, `StreamLimits` (``listener``) and `StreamProtocols`, `StreamProtocol` (``protocols``);
- `PeerLink`, `LinkConfig` (``peer_link``);
- `RpcClient`, `RpcClientActor` (``rpc_client``), `RpcServer` (``rpc_server``) and the envelope
  (``rpc_messages``);
- `Hello` (``hello``) and the errors (``errors``).

What must never live here: code. Each piece has its own module with one job.
"""

from runtime.transport.connection import FramedConnection, connect
from runtime.transport.errors import (ConnectionClosed, FrameError, RpcError, RpcRemoteError, RpcTimeout,
                                      RpcUnreachable, TransportError)
from runtime.transport.hello import Hello
from runtime.transport.listener import StreamLimits, StreamListener
from runtime.transport.peer_link import LinkConfig, PeerLink
from runtime.transport.protocols import StreamProtocol, StreamProtocols
from runtime.transport.rpc_client import RpcClient, RpcClientActor
from runtime.transport.rpc_messages import RpcFailure, RpcRequest, RpcResponse
from runtime.transport.rpc_server import RpcServer

__all__ = [
    "ConnectionClosed", "FrameError", "FramedConnection", "Hello", "LinkConfig", "PeerLink", "RpcClient",
    "RpcClientActor", "RpcError", "RpcFailure", "RpcRemoteError", "RpcRequest", "RpcResponse", "RpcServer",
    "RpcTimeout", "RpcUnreachable", "StreamLimits", "StreamListener", "StreamProtocol", "StreamProtocols",
    "TransportError", "connect",
]
