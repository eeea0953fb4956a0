"""The network transports every protocol uses: framed TCP streams, UDP datagrams, and a fault table.

What lives here, one job per module:

- ``errors``: the exceptions transports raise (`TransportError`, `FrameError`, `ConnectionClosed`, RPC errors).
- ``frames``: the stream wire format (version byte, 4-byte length, msgpack payload) and `FrameDecoder`.
- ``hello``: the first frame of every connection, naming the protocol kind, the node and its datacenter.
- ``secure``: TLS on a stream port: the marker byte before the handshake, `ListenerTls`, `DialTls`, `TlsPeer`.
- ``faults``: `FaultRule` and `FaultTable` (partitions, loss, delay, duplication between node names); pure.
- ``addresses``: `AddressBook`, which turns a peer address into the node name fault rules use.
- ``counters``: the shared frame/byte/error counters shown in statistics.
- ``connection``: `FramedConnection` (typed send/receive with the fault table on the sending side), `connect`.
- ``protocols``: `StreamProtocols`, the registry of handlers by protocol kind a listener dispatches to.
- ``listener``: the `StreamListener` actor (one port, several protocols).
- ``peer_link``: the `PeerLink` actor (one ordered outgoing stream per remote peer, reconnecting).
- ``rpc_messages``, ``rpc_server``, ``rpc_client``: request/response over the same streams.
- ``tcp``: the stream side's public names in one import; ``udp``: the `DatagramEndpoint` actor for gossip.

What must never live here: protocol logic (Raft, SWIM, catalog) or any import of ``actors``. This package
does not import its modules eagerly, so importing the pure ``faults`` module never pulls in Trio.
"""
