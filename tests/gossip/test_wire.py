"""Envelopes and encryption: Consul's sealed layout, the keyring's rules, and every refusal reason."""

from __future__ import annotations

import pytest

from actors.gossip.crypto import NONCE_SIZE, OVERHEAD, SEALED, TAG_SIZE, Keyring, KeyringError, decode_key
from actors.gossip.serf_messages import QueryResponse
from actors.gossip.settings import JoinAddressError, parse_join_address
from actors.gossip.wire import NO_KEY, NOT_CONFIGURED, NOT_ENCRYPTED, PLAIN, Codec, Refusal, WireError
from actors.swim.messages import Ack, Compound, Ping, PushPull

K1, K2, K3 = bytes(16), bytes(range(24)), bytes(range(32))


def test_clear_envelope_roundtrip_and_version_byte() -> None:
    codec = Codec(None)
    msg = Compound(parts=(Ping(seq=1, node="n1"), Ack(seq=2)))
    data = codec.encode(msg)
    assert data[0] == PLAIN
    assert codec.decode_packet(data) == msg
    response = QueryResponse(ltime=3, id=4, from_="n2", payload=b"x")
    assert codec.decode_packet(codec.encode(response)) == response


def test_sealed_layout_is_marker_nonce_ciphertext_tag() -> None:
    codec = Codec(Keyring([K3]))
    msg = Ping(seq=7, node="n1")
    clear = Codec(None).encode(msg)
    data = codec.encode(msg)
    assert data[0] == SEALED and len(data) == 1 + NONCE_SIZE + len(clear) + TAG_SIZE == len(clear) + OVERHEAD
    assert codec.decode_packet(data) == msg
    assert codec.encode(msg) != data  # a fresh nonce every time


@pytest.mark.parametrize(
    ("sender", "receiver", "reason", "text"),
    [
        (Keyring([K1]), Keyring([K2]), "decrypt_failed", NO_KEY),
        (Keyring([K1]), None, "unexpected_encryption", NOT_CONFIGURED),
        (None, Keyring([K1]), "unencrypted", NOT_ENCRYPTED),
    ],
)
def test_mismatched_encryption_is_refused_with_its_reason(sender, receiver, reason, text) -> None:
    data = Codec(sender).encode(Ping(seq=1, node="x"))
    with pytest.raises(WireError) as err:
        Codec(receiver).decode_packet(data)
    assert err.value.reason == reason and err.value.detail == text


def test_garbage_is_a_wire_error_never_a_crash() -> None:
    codec, sealed = Codec(None), Codec(Keyring([K1]))
    for junk in (b"", b"\x01", b"\x01\xff\xff", b"\x07hello", b"\x01" + b"\x92\x01\x02", bytes(range(256))):
        with pytest.raises(WireError):
            codec.decode_packet(junk)
        with pytest.raises(WireError):
            sealed.decode_packet(junk)


def test_a_clear_refusal_is_accepted_even_when_encrypted_but_only_on_streams() -> None:
    sealed = Codec(Keyring([K1]))
    refusal = Codec(None).refusal("nope")
    assert sealed.decode_stream(refusal) == Refusal(reason="nope")
    with pytest.raises(WireError):
        sealed.decode_stream(Codec(None).encode(PushPull(join=True, reply=False, states=())))


def test_keyring_rotation_rules() -> None:
    ring = Keyring([K1])
    ring.install(K2)
    assert ring.primary == K1 and ring.keys == [K1, K2]
    old = Codec(Keyring([K1]))
    assert Codec(ring).decode_packet(old.encode(Ack(seq=1))) == Ack(seq=1)  # every key decrypts
    with pytest.raises(KeyringError, match="not in the keyring"):
        ring.use(K3)
    ring.use(K2)
    assert ring.primary == K2
    with pytest.raises(KeyringError, match="primary"):
        ring.remove(K2)
    ring.remove(K1)
    assert ring.keys == [K2]
    with pytest.raises(WireError):
        Codec(ring).decode_packet(old.encode(Ack(seq=1)))


def test_key_decoding() -> None:
    assert decode_key("AAAAAAAAAAAAAAAAAAAAAA==") == K1
    with pytest.raises(KeyringError, match="16, 24 or 32"):
        decode_key("AAAA")
    with pytest.raises(KeyringError, match="base64"):
        decode_key("not base64!")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.1", ("10.0.0.1", 8301)), ("10.0.0.1:9000", ("10.0.0.1", 9000)), ("host.local", ("host.local", 8301)),
     ("[::1]", ("::1", 8301)), ("[::1]:7000", ("::1", 7000)), ("::1", ("::1", 8301))],
)
def test_join_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_join_address(text, 8301) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:port", "host:70000", "[::1", "[::1]x"])
def test_bad_join_addresses(text: str) -> None:
    with pytest.raises(JoinAddressError):
        parse_join_address(text, 8301)
