"""Shared pieces of the transport tests: a tiny wire protocol, actor start-up, raw sockets.

What lives here: test messages (`Ping`, `Pong`), `start` (run an actor as the root of its own tree),
`start_listener`, `echo` (a handler), `unused_port`, and raw-socket helpers for sending bad bytes.
What must never live here: assertions; each test states its own.
"""

from __future__ import annotations

import socket
from typing import Any

import msgspec
import trio

from runtime.actor import Actor, ActorRef
from runtime.messages import Message
from runtime.supervisor import run_root
from runtime.transport.connection import FramedConnection
from runtime.transport.faults import FaultTable
from runtime.transport.frames import HEADER, VERSION
from runtime.transport.hello import Hello, hello_frame
from runtime.transport.listener import StreamLimits, StreamListener
from runtime.transport.protocols import StreamProtocols
from runtime.tree import ActorTree

LOCALHOST = "127.0.0.1"


class Ping(Message, tag="test.ping"):
    n: int


class Pong(Message, tag="test.pong"):
    n: int


Wire = Ping | Pong


async def start(nursery: trio.Nursery, actor: Actor, name: str = "t") -> ActorRef:
    """Run ``actor`` as the root of a fresh tree; returns once it is ready."""
    return await nursery.start(run_root, ActorTree(), name, actor)


async def echo(conn: FramedConnection) -> None:
    """Answer every Ping with a Pong of the same number."""
    while True:
        message = await conn.receive()
        await conn.send(Pong(n=message.n))


def echo_protocols() -> StreamProtocols:
    protocols = StreamProtocols()
    protocols.register("echo", echo, Ping)
    return protocols


async def start_listener(nursery: trio.Nursery, protocols: StreamProtocols | None = None, *, node: str = "s1",
                         port: int = 0, faults: FaultTable | None = None,
                         limits: StreamLimits | None = None) -> StreamListener:
    listener = StreamListener(LOCALHOST, port, protocols or echo_protocols(), node=node, faults=faults, limits=limits)
    await start(nursery, listener, f"listener:{node}")
    return listener


def unused_port() -> int:
    """A port nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


def raw_frame(payload: bytes) -> bytes:
    return HEADER.pack(VERSION, len(payload)) + payload


def hello_bytes(kind: str = "echo", node: str = "c1", dc: str = "dc1") -> bytes:
    return hello_frame(Hello(kind=kind, node=node, dc=dc))


def encode(message: Any) -> bytes:
    return msgspec.msgpack.encode(message)


async def raw_stream(address: tuple[str, int], data: bytes = b"") -> trio.SocketStream:
    stream = await trio.open_tcp_stream(*address)
    if data:
        await stream.send_all(data)
    return stream


async def read_to_close(stream: trio.SocketStream) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = bytearray()
    while True:
        try:
            data = await stream.receive_some(65536)
        except trio.BrokenResourceError:  # reset by the peer: closed too
            return bytes(received)
        if not data:
            return bytes(received)
        received += data
