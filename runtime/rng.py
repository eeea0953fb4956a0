"""Seeded randomness, handed down the actor tree.

What lives here: `derive(seed, name)`, which turns one run seed and a stable name (``"n1/swim"``,
``"link:n1->n2"``) into an independent `random.Random` stream. Two names never share a stream, so the
order in which tasks happen to draw numbers cannot change what any one of them sees.

What must never live here: the global ``random`` module's shared generator, ``os.urandom`` or anything
else that makes a run unrepeatable.
"""

from __future__ import annotations

import hashlib
import random
import secrets


def derive(seed: int, name: str) -> random.Random:
    """Return a generator that depends only on ``seed`` and ``name``."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def child_seed(seed: int, name: str) -> int:
    """A 64-bit seed for a subtree, so a child can derive its own streams in turn."""
    digest = hashlib.blake2b(f"{seed}/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fresh_seed() -> int:
    """A new 63-bit run seed from the OS, for processes started without ``-seed``.

    This is the only place entropy enters: everything else derives from the run seed, which is logged,
    so a run can be replayed with ``-seed``. Without it, IDs drawn from seeded streams (session IDs,
    node IDs) would repeat after a restart and collide with the ones already stored.
    """
    return secrets.randbits(63)
