"""The gossip wire: one message becomes one datagram (or one stream frame) and back.

Every datagram and every stream message is an *envelope*::

    clear:      | 0x01 | msgpack(message) |
    encrypted:  | 0x02 | nonce | AES-GCM(clear envelope) | tag |      (see ``crypto``)

``0x01`` is the wire version. On the packet path the message is a SWIM packet (``actors.swim.messages``)
or a Serf `QueryResponse`; on the stream path a SWIM stream message or a `Refusal`. A datagram is at
most ``MAX_DATAGRAM`` (1400) bytes: the SWIM core is given the budget minus `overhead`, so piggybacked
gossip never pushes a packet past it.

A `Codec` applies the pool's keyring: with one, everything sent is sealed and everything received must
be; without one, sealed input is refused. Either mismatch raises `WireError` with a reason that says
what is wrong (the reasons memberlist gives, so operators recognise them). A `Refusal` is the one
message always sent and accepted in clear: it is how a listener tells a joiner *why* it hung up.

What must never live here: sockets, counters or logging (the shell counts and logs `WireError`s).
"""

from __future__ import annotations

from typing import Union

import msgspec

from actors.gossip.crypto import SEALED, DecryptError, Keyring
from actors.gossip.crypto import OVERHEAD as SEAL_OVERHEAD
from actors.gossip.serf_messages import QueryResponse
from actors.swim.messages import Packet, Stream
from runtime.messages import Message

PLAIN = 0x01
MAX_DATAGRAM = 1400  # memberlist UDPBufferSize: fits a 1500-byte MTU with IP/UDP headers


class Refusal(Message, frozen=True, tag="gossip.refusal"):
    """Sent in clear by a listener that cannot accept a stream message, then it closes."""

    reason: str


PacketIn = Union[Packet, QueryResponse]
StreamIn = Union[Stream, Refusal]

_encoder = msgspec.msgpack.Encoder()
_packet_decoder = msgspec.msgpack.Decoder(PacketIn)
_stream_decoder = msgspec.msgpack.Decoder(StreamIn)

NOT_ENCRYPTED = "Encryption is configured but remote state is not encrypted"
NOT_CONFIGURED = "Remote state is encrypted and encryption is not configured"
NO_KEY = "No installed keys could decrypt the message (the -encrypt keys differ)"


class WireError(ValueError):
    """Input that is not a message we accept. ``reason`` is a short counter name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def overhead(encrypted: bool) -> int:
    """Bytes an envelope adds around a message's msgpack."""
    return 1 + (SEAL_OVERHEAD if encrypted else 0)


class Codec:
    """Encodes and decodes envelopes for one pool; ``keyring`` None means gossip is in clear."""

    def __init__(self, keyring: Keyring | None) -> None:
        self.keyring = keyring

    @property
    def encrypted(self) -> bool:
        return self.keyring is not None

    def encode(self, msg: Message) -> bytes:
        clear = bytes([PLAIN]) + _encoder.encode(msg)
        return self.keyring.seal(clear) if self.keyring is not None else clear

    def refusal(self, reason: str) -> bytes:
        return bytes([PLAIN]) + _encoder.encode(Refusal(reason=reason))

    def decode_packet(self, data: bytes) -> object:
        return self._decode(data, _packet_decoder, allow_clear_refusal=False)

    def decode_stream(self, data: bytes) -> object:
        return self._decode(data, _stream_decoder, allow_clear_refusal=True)

    def _decode(self, data: bytes, decoder: msgspec.msgpack.Decoder, *, allow_clear_refusal: bool) -> object:
        if not data:
            raise WireError("empty", "empty message")
        first = data[0]
        if first == SEALED:
            if self.keyring is None:
                raise WireError("unexpected_encryption", NOT_CONFIGURED)
            try:
                data = self.keyring.open(data)
            except DecryptError:
                raise WireError("decrypt_failed", NO_KEY) from None
            if not data or data[0] != PLAIN:
                raise WireError("bad_version", "sealed message holds no clear envelope")
            return self._body(data, decoder)
        if first != PLAIN:
            raise WireError("bad_version", f"unknown envelope byte 0x{first:02x}")
        msg = self._body(data, decoder)
        if self.keyring is not None and not (allow_clear_refusal and type(msg) is Refusal):
            raise WireError("unencrypted", NOT_ENCRYPTED)
        return msg

    @staticmethod
    def _body(data: bytes, decoder: msgspec.msgpack.Decoder) -> object:
        try:
            return decoder.decode(data[1:])
        except msgspec.DecodeError as exc:
            raise WireError("undecodable", f"undecodable message: {exc}") from None
