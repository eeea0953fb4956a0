"""The keyring on disk: Consul's ``serf/local.keyring`` (LAN) and ``serf/remote.keyring`` (WAN).

The file is a JSON list of base64 keys, primary first. When it exists it wins over ``-encrypt`` (so a
rotated keyring survives restarts, as in Consul); otherwise ``-encrypt`` seeds it. Writes go to a
temporary file renamed into place, so a crash never leaves half a keyring.

What lives here: `initial_keyring` (what a pool starts with) and `save_keyring`.
What must never live here: encryption, or deciding when the keyring changes.
"""

from __future__ import annotations

import json
import os

from actors.gossip.crypto import Keyring, KeyringError


def _load(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            keys = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise KeyringError(f"cannot read keyring file {path}: {err}") from None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise KeyringError(f"keyring file {path} must hold a non-empty JSON list of base64 keys")
    return keys


def initial_keyring(encrypt: str | None, path: str | None) -> tuple[Keyring | None, str]:
    """The pool's keyring and where it came from (``file``, ``encrypt`` or ``none``)."""
    keys = _load(path) if path else None
    if keys is not None:
        return Keyring.from_strings(keys), "file"
    if not encrypt:
        return None, "none"
    keyring = Keyring.from_strings([encrypt])
    if path:
        save_keyring(path, keyring)
    return keyring, "encrypt"


def save_keyring(path: str, keyring: Keyring) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(keyring.strings(), fh)
    os.replace(tmp, path)
