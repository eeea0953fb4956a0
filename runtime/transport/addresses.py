"""Naming peers for the fault table: fault rules speak of node names, sockets see addresses.

What lives here: `format_address` (``"host:port"``, ``"[v6]:port"``), the fallback name of a peer whose
node name is unknown, and `AddressBook`, the map from address to node name that protocols keep current
(SWIM learns it from membership, Raft from its configuration). Streams learn the caller's name from its
hello and do not need the book for incoming connections.

What must never live here: sockets or fault decisions.
"""

from __future__ import annotations

Address = tuple[str, int]


def format_address(address: Address) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class AddressBook:
    """Which node listens at which address. Unknown addresses are named by `format_address`."""

    def __init__(self, entries: dict[Address, str] | None = None) -> None:
        self._names: dict[Address, str] = {}
        for address, node in (entries or {}).items():
            self.set(address, node)

    def set(self, address: Address, node: str) -> None:
        self._names[(address[0], address[1])] = node

    def remove(self, address: Address) -> None:
        self._names.pop((address[0], address[1]), None)

    def forget(self, node: str) -> None:
        """Remove every address of ``node``."""
        for address in [a for a, n in self._names.items() if n == node]:
            del self._names[address]

    def node(self, address: Address) -> str | None:
        return self._names.get((address[0], address[1]))

    def name(self, address: Address) -> str:
        """The node name at ``address``, or ``"host:port"`` when no protocol has said whose it is."""
        return self._names.get((address[0], address[1])) or format_address(address)

    def __len__(self) -> int:
        return len(self._names)


def peer_name(address: Address, book: AddressBook | None) -> str:
    """The name fault rules use for ``address``, with or without a book."""
    return book.name(address) if book is not None else format_address(address)
