"""Gossip encryption: AES-GCM sealing with Consul's layout, and the keyring of installed keys.

A sealed message is::

    +------+----------------+--------------------------+---------+
    | 0x02 | nonce (12 B)   | ciphertext (len(plain))  | tag 16B |
    +------+----------------+--------------------------+---------+

The first byte marks an encrypted envelope (``wire.PLAIN`` marks a clear one), then memberlist's
version-1 layout: a random 12-byte nonce and the AES-GCM output without padding. The marker byte is
authenticated as associated data. Keys are 16, 24 or 32 bytes (AES-128/192/256).

`Keyring` holds every installed key, primary first: the primary encrypts, all are tried to decrypt, so a
cluster rotates with install -> use -> remove. Its list form (base64 strings, primary first) is the
format of Consul's ``serf/local.keyring`` file.

Nonces come from the operating system (``secrets``), not from the agent's seeded streams: a replayed seed
(``-seed``) must never repeat a nonce under the same key, which would break GCM's secrecy. This is the one
deliberate exception to seeded randomness in the gossip code.

What must never live here: sockets, message encoding, or deciding when a key changes (Serf queries do).
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = 0x02
NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE
KEY_SIZES = (16, 24, 32)


class KeyringError(ValueError):
    """A key that cannot be used, or a keyring operation that is not allowed; the text is user-facing."""


class DecryptError(ValueError):
    """No installed key opens the message (or it is not a sealed message at all)."""


def decode_key(text: str) -> bytes:
    """A base64 key as bytes; raises `KeyringError` with the reason."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise KeyringError(f"invalid key: {text!r} is not valid base64") from None
    if len(raw) not in KEY_SIZES:
        raise KeyringError(f"invalid key: key size must be 16, 24 or 32 bytes (got {len(raw)})")
    return raw


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class Keyring:
    """Installed gossip keys; ``keys[0]`` is the primary."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise KeyringError("a keyring needs at least one key")
        for key in keys:
            if len(key) not in KEY_SIZES:
                raise KeyringError(f"invalid key: key size must be 16, 24 or 32 bytes (got {len(key)})")
        self._keys: list[bytes] = []
        for key in keys:
            if key not in self._keys:
                self._keys.append(key)
        self._ciphers: dict[bytes, AESGCM] = {}
        self.version = 0  # bumped on every change, so holders can tell the keyring moved

    @classmethod
    def from_strings(cls, keys: list[str]) -> "Keyring":
        return cls([decode_key(k) for k in keys])

    @property
    def primary(self) -> bytes:
        return self._keys[0]

    @property
    def keys(self) -> list[bytes]:
        return list(self._keys)

    def strings(self) -> list[str]:
        """The keys as base64, primary first (the keyring file's content)."""
        return [encode_key(k) for k in self._keys]

    def install(self, key: bytes) -> None:
        """Add a key (no-op if present); it decrypts at once but encrypts only once made primary."""
        if len(key) not in KEY_SIZES:
            raise KeyringError(f"invalid key: key size must be 16, 24 or 32 bytes (got {len(key)})")
        if key not in self._keys:
            self._keys.append(key)
            self.version += 1

    def use(self, key: bytes) -> None:
        if key not in self._keys:
            raise KeyringError("Requested key is not in the keyring")
        if key != self._keys[0]:
            self._keys.remove(key)
            self._keys.insert(0, key)
            self.version += 1

    def remove(self, key: bytes) -> None:
        if key == self._keys[0]:
            raise KeyringError("Removing the primary key is not allowed")
        if key in self._keys:
            self._keys.remove(key)
            self._ciphers.pop(key, None)
            self.version += 1

    # -- sealing -------------------------------------------------------------------------------------

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt with the primary key."""
        nonce = secrets.token_bytes(NONCE_SIZE)
        header = bytes([SEALED])
        return header + nonce + self._cipher(self._keys[0]).encrypt(nonce, plaintext, header)

    def open(self, data: bytes) -> bytes:
        """Decrypt with whichever installed key fits; raises `DecryptError`."""
        if len(data) < OVERHEAD or data[0] != SEALED:
            raise DecryptError("not an encrypted message")
        header, nonce, body = data[:1], data[1:1 + NONCE_SIZE], data[1 + NONCE_SIZE:]
        for key in self._keys:
            try:
                return self._cipher(key).decrypt(nonce, body, header)
            except InvalidTag:
                continue
        raise DecryptError("no installed key could decrypt the message")
