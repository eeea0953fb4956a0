"""The agent's own records of its local services and checks: what it registered, not what the catalog says.

What lives here: `LocalService` (one service instance as this agent knows it), `CheckSpec` (how to run a
check: Consul's ``CheckType``, durations in float seconds), `LocalCheck` (one check with its current status
and output), the ``source`` tags telling config-file definitions from API registrations, and the check IDs
Consul reserves for maintenance mode. These Structs are also the on-disk format of the persisted state,
so fields may be added (with defaults) but never renamed.

Both records keep the ACL token they were registered with (``token``, Consul's ``ServiceState.Token`` /
``CheckState.Token``: the request's token at registration, "" for none), which anti-entropy syncs them
with (``actors/catalog/tokens``). It is persisted with them (the state file is private to the agent,
mode 0600), and no view ever shows it.

What must never live here: behaviour, parsing of request bodies (``definitions``), or the JSON shapes the
HTTP API answers with (``views``). Catalog records (`actors.state.models`) are a different thing: the
catalog is the cluster's view, these are the agent's.
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.state.models import CRITICAL, ServiceAddress, Weights

# Where a definition came from (Consul's ConfigSourceLocal / ConfigSourceRemote). Config-file definitions
# are re-read on reload and never persisted; API registrations are persisted under data_dir.
SOURCE_CONFIG = "local"
SOURCE_API = "remote"

NODE_MAINT_CHECK_ID = "_node_maintenance"
SERVICE_MAINT_PREFIX = "_service_maintenance:"
MAINTENANCE_TYPE = "maintenance"

DEFAULT_OUTPUT_MAX_SIZE = 4096  # bytes of check output kept (Consul's CheckBufSize / OutputMaxSize default)


def service_maint_check_id(service_id: str) -> str:
    return SERVICE_MAINT_PREFIX + service_id


def is_maintenance_check(check_id: str) -> bool:
    return check_id == NODE_MAINT_CHECK_ID or check_id.startswith(SERVICE_MAINT_PREFIX)


class LocalService(msgspec.Struct, frozen=True, kw_only=True):
    """One service instance registered with this agent. ``id`` is unique per agent."""

    id: str
    name: str
    kind: str = ""
    tags: list[str] = []
    address: str = ""
    port: int = 0
    socket_path: str = ""
    meta: dict[str, str] = {}
    tagged_addresses: dict[str, ServiceAddress] = {}
    weights: Weights = msgspec.field(default_factory=Weights)
    enable_tag_override: bool = False
    proxy: dict[str, Any] | None = None
    connect: dict[str, Any] | None = None
    source: str = SOURCE_API
    token: str = ""  # the ACL secret it was registered with (see the module docstring); never shown


class CheckSpec(msgspec.Struct, frozen=True, kw_only=True):
    """How a check is run (Consul's ``CheckType``). Zero means "not given"; defaults apply at run time.

    Durations are float seconds. Exactly one probe field is expected to be set; `kind` says which.
    """

    ttl: float = 0.0
    interval: float = 0.0
    timeout: float = 0.0
    http: str = ""
    method: str = ""
    header: dict[str, list[str]] = {}
    body: str = ""
    disable_redirects: bool = False
    tls_server_name: str = ""
    tls_skip_verify: bool = False
    tcp: str = ""
    udp: str = ""
    args: list[str] = []
    docker_container_id: str = ""
    shell: str = ""
    grpc: str = ""
    grpc_use_tls: bool = False
    h2ping: str = ""
    h2ping_use_tls: bool = False
    os_service: str = ""
    alias_node: str = ""
    alias_service: str = ""
    output_max_size: int = 0
    deregister_critical_service_after: float = 0.0
    success_before_passing: int = 0
    failures_before_warning: int = 0
    failures_before_critical: int = 0

    @property
    def kind(self) -> str:
        """Consul's check ``Type``: which probe runs (``""`` when none is recognisable)."""
        if self.grpc:
            return "grpc"
        if self.http:
            return "http"
        if self.ttl > 0:
            return "ttl"
        if self.tcp:
            return "tcp"
        if self.udp:
            return "udp"
        if self.alias_node or self.alias_service:
            return "alias"
        if self.args and self.docker_container_id:
            return "docker"
        if self.args:
            return "script"
        if self.h2ping:
            return "h2ping"
        if self.os_service:
            return "os_service"
        return ""

    @property
    def output_limit(self) -> int:
        return self.output_max_size if self.output_max_size > 0 else DEFAULT_OUTPUT_MAX_SIZE


class LocalCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One check registered with this agent, with its current status and output.

    ``service_id`` empty makes it a node-level check. ``spec`` is None for checks nothing runs
    (maintenance checks). The service's name and tags are not copied here: views read them from the
    service, so they can never go stale.
    """

    id: str
    name: str
    status: str = CRITICAL
    initial_status: str = ""  # the definition's ``Status``; "" means not given (critical)
    notes: str = ""
    output: str = ""
    service_id: str = ""
    type: str = ""
    spec: CheckSpec | None = None
    source: str = SOURCE_API
    token: str = ""  # the ACL secret it was registered with (see the module docstring); never shown
