"""RPC and Raft stream frames, fuzzed.

* `FrameDecoder`: arbitrary bytes in arbitrary pieces give payloads or a `FrameError` (then it stays
  poisoned), never buffers past ``max_size`` plus a header, and any sequence of valid frames split anywhere
  decodes to exactly the payloads sent.
* The hello decoder refuses anything but a well-formed `Hello` with `FrameError` ``bad_hello``.
* The RPC envelope and body decoders (what `RpcServer` runs on each frame): arbitrary msgpack gives a
  typed value or a DecodeError, and `RpcServer` turns an undecodable body into an `RpcFailure`.
* A live agent's server port over real TCP: arbitrary bytes end that connection (or are ignored) and the
  agent keeps serving; nothing crashes.
"""

from __future__ import annotations

import socket

import msgspec
import trio
from hypothesis import given
from hypothesis import strategies as st

from runtime.transport.errors import FrameError
from runtime.transport.frames import HEADER, VERSION, FrameDecoder, encode_frame
from runtime.transport.hello import HELLO_MAX, Hello, decode_hello, hello_frame
from runtime.transport.rpc_messages import RpcFailure, RpcRequest, RpcResponse
from runtime.transport.rpc_server import RpcServer
from tests.fuzz.fuzzkit import IO_TIMEOUT, AgentThread, fuzz_settings
from tests.fuzz.typed import values_for


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]
    out, last = [], 0
    for p in points:
        out.append(data[last:p])
        last = p
    return out


@given(data=st.one_of(st.binary(max_size=300),
                      st.lists(st.binary(max_size=40), max_size=5).map(lambda ps: b"".join(encode_frame(p) for p in ps)),
                      st.tuples(st.integers(0, 255), st.integers(0, 2**32 - 1), st.binary(max_size=20)).map(
                          lambda t: HEADER.pack(*t[:2]) + t[2])),
       cuts=st.lists(st.integers(0, 1000), max_size=6), limit=st.sampled_from([0, 16, 1024]))
@fuzz_settings(weight=10.0)
def test_frame_decoder_gives_payloads_or_a_frame_error(data: bytes, cuts: list[int], limit: int) -> None:
    decoder = FrameDecoder(limit)
    try:
        for piece in _pieces(data, cuts):
            decoder.feed(piece)
            for payload in decoder.drain():
                assert len(payload) <= limit
            assert decoder.buffered <= max(len(piece), HEADER.size + limit) + HEADER.size + limit
    except FrameError as err:
        assert err.reason in {"bad_version", "oversized"}
        try:
            decoder.feed(b"")
        except FrameError as again:
            assert again is err  # poisoned: the stream can no longer be trusted
        else:
            raise AssertionError("decoder accepted input after a FrameError")


@given(payloads=st.lists(st.binary(max_size=64), max_size=6), cuts=st.lists(st.integers(0, 2000), max_size=8))
@fuzz_settings(weight=5.0)
def test_valid_frames_split_anywhere_round_trip(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(p) for p in payloads)
    decoder, out = FrameDecoder(), []
    for piece in _pieces(stream, cuts):
        decoder.feed(piece)
        out.extend(decoder.drain())
    assert out == payloads and decoder.buffered == 0


@given(payload=st.one_of(st.binary(max_size=HELLO_MAX),
                         values_for(Hello).map(msgspec.msgpack.encode),
                         st.dictionaries(st.sampled_from(["t", "kind", "node", "dc", "x"]),
                                         st.one_of(st.text(max_size=40), st.integers(-(2**63), 2**64 - 1), st.none()),
                                         max_size=5).map(msgspec.msgpack.encode)))
@fuzz_settings(weight=10.0)
def test_hello_decoder_refuses_all_but_a_hello(payload: bytes) -> None:
    try:
        hello = decode_hello(payload)
    except FrameError as err:
        assert err.reason == "bad_hello"
        return
    assert isinstance(hello, Hello) and hello.kind and hello.node
    assert len(hello_frame(hello)) <= HELLO_MAX + HEADER.size


class _Body(msgspec.Struct, tag="fuzz.body"):
    n: int
    s: str = ""


@given(body=st.one_of(st.binary(max_size=40), values_for(_Body).map(msgspec.msgpack.encode)),
       request_id=st.integers(0, 2**63 - 1))
@fuzz_settings(weight=5.0)
async def test_rpc_server_answers_any_body_with_a_reply(body: bytes, request_id: int) -> None:
    async def handle(req: _Body) -> int:
        return req.n

    server = RpcServer(handle, _Body, node="fuzz1")
    reply = await server._reply(RpcRequest(id=request_id, body=msgspec.Raw(body)))
    assert reply.id == request_id
    assert isinstance(reply, (RpcResponse, RpcFailure))
    if isinstance(reply, RpcFailure):
        assert reply.error.kind == "DecodeError"
    envelope = msgspec.msgpack.encode(RpcRequest(id=request_id, body=msgspec.Raw(body)))
    try:
        msgspec.msgpack.decode(envelope[: len(envelope) // 2], type=RpcRequest)
    except msgspec.DecodeError:
        pass


# -- the agent's server port, over TCP ----------------------------------------------------------------


def _server_port(agent: AgentThread) -> tuple[str, int]:
    host, port = agent.ctx.extras["server_addr"]  # type: ignore[union-attr]
    return host, port


@given(data=st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=60).map(lambda b: bytes([VERSION]) + b),
    st.sampled_from(["raft", "rpc", "http", "nope"]).map(
        lambda k: hello_frame(Hello(kind=k, node="fuzzer", dc="dc1"))).flatmap(
        lambda h: st.one_of(st.binary(max_size=120),
                            st.lists(st.binary(max_size=30), max_size=3).map(
                                lambda ps: b"".join(encode_frame(p) for p in ps))).map(lambda b: h + b)),
))
@fuzz_settings(weight=0.5)
def test_server_port_survives_arbitrary_bytes(agent_thread: AgentThread, data: bytes) -> None:
    with socket.create_connection(_server_port(agent_thread), timeout=IO_TIMEOUT) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except (ConnectionResetError, BrokenPipeError):
            pass
    agent_thread.assert_no_crash()


def test_agent_is_healthy_after_the_rpc_fuzz(agent_thread: AgentThread) -> None:
    agent_thread.assert_healthy()
    assert trio  # the module's async test runs under pytest-trio
