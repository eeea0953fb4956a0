"""Gossip packets, fuzzed.

* The envelope codec (`actors.gossip.wire.Codec`): arbitrary bytes give a message of an accepted type or
  a `WireError`, never anything else. With a keyring, a sealed message that was bit-flipped, truncated,
  extended, or sealed with another key is *always* refused (AES-GCM authenticates it), as is plaintext.
* A live agent's LAN pool over real UDP: junk datagrams and well-typed messages with absurd contents
  (negative or 64-bit-extreme numbers, empty names, unknown nodes) are counted as drops or handled, never
  crash the pool; afterwards a ping is still answered, and the drop counter grew by exactly the number
  of datagrams that could not be decoded.
"""

from __future__ import annotations

import socket

import msgspec
from hypothesis import example, given
from hypothesis import strategies as st

from actors.gossip.crypto import Keyring
from actors.gossip.wire import MAX_DATAGRAM, PLAIN, Codec, PacketIn, StreamIn, WireError
from actors.swim.messages import Ack, IndirectPingReq, Ping
from tests.fuzz.fuzzkit import IO_TIMEOUT, AgentThread, fuzz_settings
from tests.fuzz.typed import values_for

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
PACKET_TYPES = tuple(t for t in PacketIn.__args__)  # type: ignore[attr-defined]


def _mutate(data: bytes, how: str, where: int, extra: bytes) -> bytes:
    buf = bytearray(data)
    i = where % len(buf)
    if how == "flip":
        buf[i] ^= 1 << (where % 8)
    elif how == "cut":
        del buf[i:]
    elif how == "append":
        buf += extra or b"\x00"
    elif how == "insert":
        buf[i:i] = extra or b"\x00"
    return bytes(buf)


def _is_accepted_type(msg: object, stream: bool) -> bool:
    allowed = StreamIn.__args__ if stream else PacketIn.__args__  # type: ignore[attr-defined]
    flat: list[type] = []
    for t in allowed:
        flat.extend(getattr(t, "__args__", (t,)))
    return isinstance(msg, tuple(flat))


@given(data=st.one_of(st.binary(max_size=200), st.binary(max_size=60).map(lambda b: bytes([PLAIN]) + b),
                      values_for(PacketIn).map(lambda m: Codec(None).encode(m))),
       stream=st.booleans())
@fuzz_settings(weight=10.0)
def test_clear_codec_returns_a_message_or_a_wire_error(data: bytes, stream: bool) -> None:
    for codec in (Codec(None), Codec(Keyring([KEY]))):
        try:
            msg = codec.decode_stream(data) if stream else codec.decode_packet(data)
        except WireError as err:
            assert err.reason and err.detail
            continue
        assert _is_accepted_type(msg, stream), msg


@given(msg=values_for(PacketIn), how=st.sampled_from(["flip", "cut", "append", "insert"]),
       where=st.integers(0, 10_000), extra=st.binary(max_size=8))
@fuzz_settings(weight=5.0)
def test_tampered_sealed_packets_are_always_refused(msg: object, how: str, where: int, extra: bytes) -> None:
    ring = Keyring([KEY])
    sealed = Codec(ring).encode(msg)
    assert Codec(ring).decode_packet(sealed) == msg  # the untouched packet is fine
    tampered = _mutate(sealed, how, where, extra)
    if tampered == sealed:
        return
    try:
        Codec(ring).decode_packet(tampered)
    except WireError as err:
        assert err.reason in {"decrypt_failed", "bad_version", "empty", "unencrypted", "undecodable"}, err.reason
    else:
        raise AssertionError(f"tampered packet accepted ({how} at {where})")
    for wrong in (Codec(Keyring([OTHER_KEY])), Codec(None)):  # wrong key, or no key at all
        try:
            wrong.decode_packet(sealed)
        except WireError:
            pass
        else:
            raise AssertionError("sealed packet accepted without the key")
    clear = Codec(None).encode(msg)
    try:
        Codec(ring).decode_packet(clear)
    except WireError as err:
        assert err.reason == "unencrypted"
    else:
        raise AssertionError("plaintext accepted by an encrypted pool")


# -- a live pool -------------------------------------------------------------------------------------


def _lan(agent: AgentThread) -> object:
    return agent.ctx.extras["gossip"].lan  # type: ignore[union-attr]


@given(datagrams=st.lists(st.one_of(
    st.binary(min_size=1, max_size=80).map(lambda b: b"\x07" + b),           # unknown envelope byte
    st.binary(max_size=80).map(lambda b: bytes([PLAIN]) + b"\xc1" + b),      # 0xc1: never valid msgpack
    values_for(PacketIn).map(lambda m: Codec(Keyring([KEY])).encode(m)),     # sealed, pool is in clear
    st.just(b"\x01" + b"\x00" * (MAX_DATAGRAM + 100)),                      # oversized
), min_size=1, max_size=5), typed=st.lists(values_for(PacketIn), max_size=3))
@fuzz_settings(weight=0.5)
@example(datagrams=[b"\x02" + b"\x00" * 40], typed=[Ping(seq=-1, node="")])
@example(datagrams=[Codec(None).encode(IndirectPingReq(seq=1, target=("127.0.0.1", 70000), node="x"))],  # crashed
         typed=[])  # the SWIM actor (sendto: port must be 0-65535) before ports were checked at decode
def test_live_pool_counts_junk_and_survives_typed_nonsense(agent_thread: AgentThread, datagrams: list[bytes],
                                                          typed: list[object]) -> None:
    lan = _lan(agent_thread)

    def counted() -> tuple[int, int]:  # (codec drops, datagrams the UDP endpoint refused as oversized)
        return sum(lan.drops.values()), lan.udp.counts["oversized_in"]

    drops_before, oversized_before = agent_thread.run_sync_in_agent(counted)
    oversized = sum(1 for d in datagrams if len(d) > MAX_DATAGRAM)
    seq = 7_000_000 + len(datagrams) * 10 + len(typed)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(IO_TIMEOUT)
        sock.bind(("127.0.0.1", 0))
        for data in datagrams:
            sock.sendto(data, lan.address)
        for msg in typed:
            sock.sendto(Codec(None).encode(msg), lan.address)
        # A ping sent last is answered after everything before it was handled (one socket, one queue).
        ping = Ping(seq=seq, node=agent_thread.ctx.config.node_name,  # type: ignore[union-attr]
                    source_node="fuzzer", source_addr=sock.getsockname())
        sock.sendto(Codec(None).encode(ping), lan.address)
        while True:
            reply = Codec(None).decode_packet(sock.recv(65535))
            acks = [reply] if isinstance(reply, Ack) else [p for p in getattr(reply, "parts", ()) if isinstance(p, Ack)]
            if any(a.seq == seq for a in acks):
                break
    drops_after, oversized_after = agent_thread.run_sync_in_agent(counted)
    assert (drops_after - drops_before, oversized_after - oversized_before) == (len(datagrams) - oversized, oversized)
    agent_thread.assert_no_crash()


def test_agent_is_healthy_after_the_gossip_fuzz(agent_thread: AgentThread) -> None:
    agent_thread.assert_healthy()
    assert msgspec.json.encode(agent_thread.run_sync_in_agent(lambda: dict(_lan(agent_thread).drops)))
