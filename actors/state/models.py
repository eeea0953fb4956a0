"""The records the state store keeps and hands out, shaped like Consul's JSON.

What lives here: msgspec Structs whose encoded field names are Consul's (``CreateIndex``, ``ServiceID``,
``TTL``...), so ``msgspec.json.encode(record)`` is already the HTTP body. Python attributes are
snake_case; ``rename="pascal"`` does most of the mapping and ``field(name=...)`` fixes the acronyms.

Field presence follows Consul:

* a field typed ``X | UnsetType`` is Go's ``omitempty``: it is left out while it holds ``UNSET``
  (`KVEntry.session`, `NodeService.kind` / ``tagged_addresses`` / ``port``,
  `ServiceNode.service_tagged_addresses`). The store writes ``UNSET`` rather than ``""``/``0``/``{}``.
* every other field is always present; lists default to ``[]`` (``ServiceTags`` is never null) and
  `KVEntry.value` is ``None`` (JSON ``null``) for an empty value.

Records are frozen and shared: the store returns its own objects without copying, so callers must treat
the dicts and lists inside them as read-only. New versions are made with `msgspec.structs.replace`.

What must never live here: behaviour. These are plain data.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType, field

# Check statuses Consul accepts, and the "any" pseudo-state of /v1/health/state.
PASSING = "passing"
WARNING = "warning"
CRITICAL = "critical"
CHECK_STATUSES = (PASSING, WARNING, CRITICAL)
HEALTH_ANY = "any"

# The leader-owned gossip health check every agent node carries; sessions watch it by default.
SERF_CHECK_ID = "serfHealth"

SESSION_RELEASE = "release"
SESSION_DELETE = "delete"


class Record(msgspec.Struct, frozen=True, kw_only=True, rename="pascal"):
    """Base of every stored/returned record (not a wire message: no tag)."""


def _default_proxy() -> dict[str, Any]:
    # What Go prints for an empty ConnectProxyConfig (every other member is omitempty).
    return {"Mode": "", "MeshGateway": {}, "Expose": {}}


class KVEntry(Record):
    """One key (Consul's ``DirEntry``). ``session`` is UNSET while the key is not locked."""

    lock_index: int = 0
    key: str = ""
    flags: int = 0
    value: bytes | None = None
    session: str | UnsetType = UNSET
    create_index: int = 0
    modify_index: int = 0


class Node(Record):
    """A catalog node."""

    id: str = field(default="", name="ID")
    node: str = ""
    address: str = ""
    datacenter: str = ""
    tagged_addresses: dict[str, str] = {}
    meta: dict[str, str] = {}
    create_index: int = 0
    modify_index: int = 0


class Weights(Record):
    """DNS SRV weights by health state."""

    passing: int = 1
    warning: int = 1


class ServiceAddress(Record):
    address: str = ""
    port: int = 0


class NodeService(Record):
    """A service instance as registered on one node (the nested ``Service`` shape)."""

    kind: str | UnsetType = UNSET
    id: str = field(default="", name="ID")
    service: str = ""
    tags: list[str] = []
    address: str = ""
    tagged_addresses: dict[str, ServiceAddress] | UnsetType = UNSET
    meta: dict[str, str] = {}
    port: int | UnsetType = UNSET
    weights: Weights = field(default_factory=Weights)
    enable_tag_override: bool = False
    proxy: dict[str, Any] = field(default_factory=_default_proxy)
    connect: dict[str, Any] = {}
    create_index: int = 0
    modify_index: int = 0


class ServiceNode(Record):
    """The flat shape of ``/v1/catalog/service/<name>``: node fields plus ``Service*`` fields."""

    id: str = field(default="", name="ID")
    node: str = ""
    address: str = ""
    datacenter: str = ""
    tagged_addresses: dict[str, str] = {}
    node_meta: dict[str, str] = {}
    service_kind: str = ""
    service_id: str = field(default="", name="ServiceID")
    service_name: str = ""
    service_tags: list[str] = []
    service_address: str = ""
    service_tagged_addresses: dict[str, ServiceAddress] | UnsetType = UNSET
    service_weights: Weights = field(default_factory=Weights)
    service_meta: dict[str, str] = {}
    service_port: int = 0
    service_enable_tag_override: bool = False
    service_proxy: dict[str, Any] = field(default_factory=_default_proxy)
    service_connect: dict[str, Any] = {}
    create_index: int = 0
    modify_index: int = 0


class HealthCheck(Record):
    """A check on a node; ``service_id == ""`` makes it a node-level check.

    ``service_name`` and ``service_tags`` are copies the store keeps in step with the service.
    ``status`` empty means "not given" on input; the store stores ``critical`` then, as Consul does.
    """

    node: str = ""
    check_id: str = field(default="", name="CheckID")
    name: str = ""
    status: str = ""
    notes: str = ""
    output: str = ""
    service_id: str = field(default="", name="ServiceID")
    service_name: str = ""
    service_tags: list[str] = []
    type: str = ""
    definition: dict[str, Any] = {}
    interval: str = ""
    timeout: str = ""
    exposed_port: int = 0
    create_index: int = 0
    modify_index: int = 0


class ServiceCheck(Record):
    """A service-level check a session is tied to."""

    id: str = field(default="", name="ID")
    namespace: str = ""


class Session(Record):
    """A session. ``lock_delay`` is in nanoseconds, as Consul's JSON has it."""

    id: str = field(default="", name="ID")
    name: str = ""
    node: str = ""
    lock_delay: int = 0
    behavior: str = SESSION_RELEASE
    ttl: str = field(default="", name="TTL")
    node_checks: list[str] | None = None
    service_checks: list[ServiceCheck] | None = None
    create_index: int = 0
    modify_index: int = 0


# --- composite read results ------------------------------------------------------------------------


class NodeServices(Record):
    """``/v1/catalog/node/<node>``: the node and its services keyed by service ID."""

    node: Node
    services: dict[str, NodeService]


class NodeServiceList(Record):
    """``/v1/catalog/node-services/<node>``: the node and its services as a list."""

    node: Node
    services: list[NodeService]


class ServiceEntry(Record):
    """One element of ``/v1/health/service/<name>``; ``checks`` holds node checks then service checks."""

    node: Node
    service: NodeService
    checks: list[HealthCheck]


# --- transaction results ---------------------------------------------------------------------------


class TxnResult(Record):
    """One result of a transaction; exactly one member is set, the others are left out."""

    kv: KVEntry | UnsetType = field(default=UNSET, name="KV")
    node: Node | UnsetType = UNSET
    service: NodeService | UnsetType = UNSET
    check: HealthCheck | UnsetType = UNSET


class TxnError(Record):
    op_index: int = 0
    what: str = ""


class TxnResponse(Record):
    """The body of ``/v1/txn``: ``Results`` on success, ``Errors`` (and ``Results: null``) on rollback."""

    results: list[TxnResult] | None = None
    errors: list[TxnError] | None = None

    @property
    def ok(self) -> bool:
        return not self.errors
